#pragma once
// DDPM's whole per-step update in one pass over memory: the data prediction x0 from the model output,
// its clipping, the posterior mean and the Gaussian draw, without the intermediate tensors of x0 and of
// the draws. Per row (one H x W plane of a frame) it draws the next block of the step's stream
// (GaussianStream) while the row is in cache and combines it there.
//
// The arithmetic is that of the tensor sequence it replaces, operation for operation (per-frame
// coefficients computed in double and rounded to float, every product rounded, then added left to
// right, no FMA contraction), so the result is bitwise what FramePlan::combine gives for
//   x0 = combine({x, out}, {x0_x, x0_out}) (or out itself), x0.clamp_(-range, range),
//   z = fill_standard_normal(seed), next = combine({x0, x, z}, {c_x0, c_x, c_noise}),
// and the draws are the same stream in the same order, whatever the thread count.
#include <ATen/core/Tensor.h>

#include <vector>

#include "methods/samplers/frame_plan.h"
#include "methods/samplers/gaussian_fill.h"

namespace vdlab {

struct AncestralUpdate {
  // x0 = x0_x[frame] x + x0_out[frame] out; both null: x0 = out (an x0-predicting network).
  const std::vector<double>* x0_x = nullptr;
  const std::vector<double>* x0_out = nullptr;
  bool clip = false;  // clamp x0 to [-clip_range, clip_range]
  double clip_range = 1.0;
  // next = c_x0 x0 + c_x x (+ c_noise z when c_noise is set).
  const std::vector<double>* c_x0 = nullptr;
  const std::vector<double>* c_x = nullptr;
  const std::vector<double>* c_noise = nullptr;
};

// Whether the one-pass update applies: float32 contiguous CPU tensors of the same shape.
bool ancestral_update_applies(const at::Tensor& x, const at::Tensor& out);

// The next sample; `noise` supplies the draws (the step's whole stream) when u.c_noise is set.
at::Tensor ancestral_update(const FramePlan& plan, const at::Tensor& x, const at::Tensor& out,
                            const AncestralUpdate& u, GaussianStream* noise);

}  // namespace vdlab
