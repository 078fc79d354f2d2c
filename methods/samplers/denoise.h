#pragma once
// The only thing a sampler knows about the network: a callback from a sample and its per-frame
// timesteps to the raw model output (eps, v or x0 as the backbone predicts). Guidance, conditioning and
// NFE accounting live in the layer that builds the callback (methods/samplers/guidance.h).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>

namespace vdlab {

// x: [B, C, F, H, W]; t: [B, F] timesteps in x's dtype (frames pinned at t = 0 get 0).
using Denoise = std::function<at::Tensor(const at::Tensor& x, const at::Tensor& t)>;

// The Gaussian draw a stochastic sampler adds at `step`, shaped and typed like `like`. The default draws
// from the context's generator; tests substitute a fixed pattern to compare with the float64 oracle.
using StepNoise = std::function<at::Tensor(int64_t step, const at::Tensor& like)>;

}  // namespace vdlab
