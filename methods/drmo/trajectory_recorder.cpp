#include "methods/drmo/trajectory_recorder.h"

#include <ATen/ATen.h>

namespace vdlab {

TrajectoryRecorder::TrajectoryRecorder(at::Tensor start, bool keep_states) : keep_(keep_states) {
  if (keep_ && start.defined()) states_.push_back(start.detach().clone());
}

void TrajectoryRecorder::before_denoise(StepView& view) {
  ++calls_;
  frame_evaluations_ += view.sample.size(0) * view.sample.size(2);
}

void TrajectoryRecorder::after_step(StepView& view) {
  if (keep_) states_.push_back(view.sample.detach().clone());
}

}  // namespace vdlab
