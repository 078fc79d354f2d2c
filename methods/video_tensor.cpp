#include "methods/video_tensor.h"

#include <torch/torch.h>

#include "core/error.h"

namespace vdlab {

torch::Tensor video_to_tensor(const Video& v) {
  auto bytes = torch::from_blob(const_cast<std::uint8_t*>(v.data.data()), {v.frames, v.height, v.width, 3},
                                torch::kUInt8);
  // [F, H, W, C] uint8 -> [C, F, H, W] float in [-1, 1]
  return bytes.permute({3, 0, 1, 2}).to(torch::kFloat32).div(127.5).sub(1.0).contiguous();
}

torch::Tensor videos_to_tensor(const std::vector<Video>& videos) {
  std::vector<torch::Tensor> items;
  items.reserve(videos.size());
  for (const auto& v : videos) {
    if (!items.empty() && (v.frames != videos[0].frames || v.height != videos[0].height || v.width != videos[0].width))
      throw Error("videos_to_tensor: videos of different shapes in one batch");
    items.push_back(video_to_tensor(v));
  }
  return torch::stack(items);
}

Video tensor_to_video(const torch::Tensor& x) {
  if (x.dim() != 4 || x.size(0) != 3) throw Error("tensor_to_video: expected [3, F, H, W]");
  auto bytes = x.detach().to(torch::kCPU, torch::kFloat32).clamp(-1.0, 1.0).add(1.0).mul(127.5).round()
                   .to(torch::kUInt8).permute({1, 2, 3, 0}).contiguous();
  Video v(static_cast<int>(x.size(1)), static_cast<int>(x.size(2)), static_cast<int>(x.size(3)));
  std::memcpy(v.data.data(), bytes.data_ptr<std::uint8_t>(), v.data.size());
  return v;
}

std::vector<Video> tensor_to_videos(const torch::Tensor& batch) {
  std::vector<Video> out;
  for (int64_t i = 0; i < batch.size(0); ++i) out.push_back(tensor_to_video(batch[i]));
  return out;
}

}  // namespace vdlab
