#pragma once
// FVDM long-video generation (METHODS.md 6): a video of any length made of chunks of F frames, each
// chunk after the first conditioned on the last M frames of the one before it. Those M frames are
// pinned (t = 0, held bitwise) at the start of the next chunk, and the other F - M frames are generated
// under the long-video chunk schedule [0, ..., 0, t, ..., t]. The assembled video is chunk 0 followed
// by the new frames of every later chunk, cut to the requested length.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "methods/noise/noise_init.h"
#include "methods/pipeline/pipeline.h"

namespace vdlab {

struct LongVideoPlan {
  int64_t frames = 0;   // F: frames the backbone denoises at once (one chunk)
  int64_t context = 0;  // M: frames each later chunk takes from the end of the previous one
  int64_t length = 0;   // L: frames of the assembled video

  // Checked: 0 < M < F <= L; `path` names the method's fields in errors.
  static LongVideoPlan make(int64_t frames, int64_t context, int64_t length, const std::string& path);
  // 1 + ceil((L - F) / (F - M)).
  int64_t chunks() const;
  // Where chunk k starts in the assembled video: k (F - M).
  int64_t chunk_start(int64_t k) const { return k * (frames - context); }
};

// The chunks of one batch, in order, each [b, C, F, H, W]: chunk 0 is `first` as prepared by the
// pipeline; chunk k > 0 draws its own noise from `noise` with a generator seeded by (seed, the batch's
// first video, k), so a cell's long videos follow from its seed alone.
std::vector<at::Tensor> run_long_video_chunks(const BatchJob& first, const BatchRunner& run, const LongVideoPlan& plan,
                                              const NoiseInit& noise, uint64_t seed);

// [b, C, L, H, W]: chunk 0, then frames M.. of each later chunk, cut to L frames.
at::Tensor assemble_long_video(const std::vector<at::Tensor>& chunks, const LongVideoPlan& plan);

// The largest |difference| between each chunk's first M frames and the previous chunk's last M frames
// (0 when every overlap is held bitwise), and the share of overlap frames that are bitwise equal.
struct OverlapCheck {
  double max_abs_diff = 0;
  double equal_share = 1;
  int64_t frames_checked = 0;
};
OverlapCheck check_overlaps(const std::vector<at::Tensor>& chunks, const LongVideoPlan& plan);

}  // namespace vdlab
