#pragma once
// Seed 002's motion-adaptive temporal attention (METHODS.md 4) as a TemporalControl for backbones with
// "temporal attention control": global attention in the down and middle layers, motion-adaptive in the
// up layers, from a motion score m in [0, 1] per video:
//   bias  -beta(m) |i - j| on the attention logits, beta(m) = beta_min + (beta_max - beta_min) m
//         (high motion attends locally);
//   gate  h + sigmoid(a m + b) TA(h).
// The forms are parameters (record them with the cell); "none" switches either part off.
#include <torch/types.h>

#include <string>

#include "core/params.h"
#include "methods/backbone/capabilities.h"

namespace vdlab {

struct MotionAdaptiveForm {
  std::string bias = "distance";  // distance | none
  double beta_min = 0.0, beta_max = 1.0;
  std::string gate = "none";      // sigmoid | none
  double gate_a = 0.0, gate_b = 0.0;
  std::string adaptive = "up";    // which layers adapt: up (METHODS.md 4) or all

  static const ParamSpecs& params();
  static MotionAdaptiveForm from_json(const Json& given, const std::string& path);
};

// The control for a batch: `motion` [B] in [0, 1]; frames F of the batch. Sites that do not adapt get
// no bias and no gate.
TemporalControl motion_adaptive_control(const MotionAdaptiveForm& form, const torch::Tensor& motion, int64_t frames);

}  // namespace vdlab
