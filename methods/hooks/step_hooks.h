#pragma once
// Step hooks: edits a method makes to the sampling trajectory without touching the sampler
// (UniPC-Dynamic's stages, motion boosts, logging). A hook sees every step's sample with the sampler's
// history and may replace the sample; it may also edit the model input, or switch UniPC's corrector
// off for the next step (the place of an edit is an axis of METHODS.md 2).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

namespace vdlab {

struct StepView {
  int64_t step = 0;    // index of the step, 0-based
  int64_t steps = 0;   // steps in the run
  at::Tensor sample;   // after_step: the sample the step produced; before_denoise: the model input. Editable.
  at::Tensor timesteps;  // [B, F] model timesteps of this step
  // The sampler's converted model outputs (x0 or eps), oldest first; empty for single-step samplers.
  const std::vector<at::Tensor>* model_history = nullptr;
  // Post-step samples of earlier steps, oldest first, as many as the hooks asked for.
  const std::deque<at::Tensor>* sample_history = nullptr;
  // after_step only: clear it to skip UniPC's corrector at the next step (other samplers ignore it).
  bool corrector_next = true;
};

class StepHook {
 public:
  virtual ~StepHook();
  // Called with the model input just before each denoise call.
  virtual void before_denoise(StepView& view) {}
  // Called with the sample after each step (after pinned frames are restored).
  virtual void after_step(StepView& view) {}
  // How many post-step samples this hook wants in sample_history.
  virtual int64_t history_length() const { return 0; }
};

// An ordered list of hooks; the sampler calls each in turn.
class StepHooks {
 public:
  StepHooks() = default;
  explicit StepHooks(std::vector<std::shared_ptr<StepHook>> hooks) : hooks_(std::move(hooks)) {}
  void add(std::shared_ptr<StepHook> hook) { hooks_.push_back(std::move(hook)); }
  bool empty() const { return hooks_.empty(); }
  int64_t history_length() const;

  void before_denoise(StepView& view) const;
  void after_step(StepView& view) const;

 private:
  std::vector<std::shared_ptr<StepHook>> hooks_;
};

}  // namespace vdlab
