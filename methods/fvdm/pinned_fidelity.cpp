#include "methods/fvdm/pinned_fidelity.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "core/error.h"
#include "methods/video_tensor.h"

namespace vdlab {

Json PinnedFidelity::to_json() const {
  return {{"pinned_frames", frames},
          {"pinned_max_abs_diff", max_abs_diff},
          {"pinned_float_equal_share", float_equal_share},
          {"pinned_uint8_equal_share", uint8_equal_share},
          {"pinned_pairs", pairs}};
}

PinnedFidelity pinned_fidelity(const at::Tensor& videos, const std::vector<Clip>& references,
                               const std::vector<uint8_t>& pinned) {
  PinnedFidelity out;
  for (size_t f = 0; f < pinned.size(); ++f)
    if (pinned[f]) out.frames.push_back(int64_t(f));
  if (out.frames.empty()) return out;
  if (int64_t(references.size()) < videos.size(0))
    throw Error("pinned fidelity: " + std::to_string(videos.size(0)) + " videos, " + std::to_string(references.size()) +
                " reference clips");
  int64_t float_equal = 0, uint8_equal = 0;
  for (int64_t i = 0; i < videos.size(0); ++i) {
    const Video& ref_video = references[size_t(i)].video;
    const at::Tensor ref = video_to_tensor(ref_video);
    const at::Tensor generated = videos[i].to(at::kCPU).to(at::kFloat);
    const Video stored = tensor_to_video(generated);
    const size_t frame_bytes = ref_video.frame_size();
    for (int64_t f : out.frames) {
      const at::Tensor g = generated.select(1, f), r = ref.select(1, f);
      out.max_abs_diff = std::max(out.max_abs_diff, (g.to(at::kDouble) - r.to(at::kDouble)).abs().max().item<double>());
      float_equal += at::equal(g, r) ? 1 : 0;
      const int frame = int(f);
      uint8_equal += std::equal(stored.frame(frame), stored.frame(frame) + frame_bytes, ref_video.frame(frame)) ? 1 : 0;
      ++out.pairs;
    }
  }
  out.float_equal_share = double(float_equal) / double(out.pairs);
  out.uint8_equal_share = double(uint8_equal) / double(out.pairs);
  return out;
}

}  // namespace vdlab
