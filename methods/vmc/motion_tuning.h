#pragma once
// VMC's one-shot tuning (METHODS.md 5): a clone of the backbone (never the cached one) learns the motion of
// one source clip. Each step noises the clip to a random timestep (one for all frames), and the clone's
// predicted noise is compared with the true noise through their consecutive-frame residuals with the
// registered `motion_distillation` term: cosine (1 - mean cos over the frame axis) or L2. Only the named
// parameter groups train (VMC: the temporal attention q, k, v), with AdamW.
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "methods/backbone/backbone.h"

namespace vdlab {

struct MotionTuningOptions {
  int64_t steps = 40;
  double lr = 1e-4;
  double weight_decay = 1e-2;
  std::vector<std::string> trainable = {"temporal_qkv"};
  std::string form = "cosine";  // the motion_distillation term's form: cosine | l2
  bool absolute = false;        // compare |residuals| (METHODS.md 5 as written) instead of signed ones
};

struct MotionTuningResult {
  BackbonePtr tuned;                // the clone, every parameter frozen again
  std::vector<double> loss_curve;   // the loss of each step
  double seconds = 0;               // wall time of the tuning (the clone included)
  int64_t trainable_values = 0;     // parameters (scalars) that trained
};

// `clip` [1, C, F, H, W] in the backbone's space; `cond` its conditioning (the tuning prompt); the
// timesteps and noise of each step come from `gen`.
MotionTuningResult tune_motion(Backbone& backbone, const at::Tensor& clip, const Conditioning& cond,
                               const MotionTuningOptions& options, at::Generator& gen);

}  // namespace vdlab
