#pragma once
// Between uint8 videos (datasets, metrics, results) and float tensors (methods).
#include <torch/types.h>

#include <vector>

#include "datasets/video.h"

namespace vdlab {

// [C=3, F, H, W] float32 in [-1, 1].
torch::Tensor video_to_tensor(const Video& video);
// A batch [N, 3, F, H, W] from videos of one shape.
torch::Tensor videos_to_tensor(const std::vector<Video>& videos);
// From [3, F, H, W] in [-1, 1]: clamped, scaled to [0, 255] and rounded (as StyleGAN-style code does).
Video tensor_to_video(const torch::Tensor& x);
std::vector<Video> tensor_to_videos(const torch::Tensor& batch);

}  // namespace vdlab
