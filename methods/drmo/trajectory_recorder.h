#pragma once
// A step hook that keeps the sample at every step boundary of a run (the latent residuals are their
// differences) and counts network evaluations per frame: every denoise call evaluates each frame of
// each video it is given once (a guided call counts once, as the pipeline's NFE does).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "methods/hooks/step_hooks.h"

namespace vdlab {

class TrajectoryRecorder : public StepHook {
 public:
  // start: the run's sample at its first step (recorded as states()[0]); undefined to keep only counts.
  explicit TrajectoryRecorder(at::Tensor start = at::Tensor(), bool keep_states = true);
  void before_denoise(StepView& view) override;
  void after_step(StepView& view) override;

  // states()[0] is the start, states()[i + 1] the sample after the run's i-th step.
  const std::vector<at::Tensor>& states() const { return states_; }
  int64_t frame_evaluations() const { return frame_evaluations_; }
  int64_t denoise_calls() const { return calls_; }

 private:
  bool keep_;
  std::vector<at::Tensor> states_;
  int64_t frame_evaluations_ = 0, calls_ = 0;
};

}  // namespace vdlab
