#pragma once
// Step hooks: edits a method makes to the sampling trajectory without touching the sampler
// (UniPC-Dynamic's stages, motion boosts, logging). A hook sees every step's sample with the sampler's
// history and may replace the sample; it may also edit the model input, edit the sample UniPC's
// corrector produced, or switch the corrector off for the next step (the place of an edit is an axis of
// METHODS.md 2). What a hook measures it returns from stats(); the generation pipeline records it with
// the cell. Hooks are registered by name (methods/hooks/hook_registry.h) so experiment files attach them.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "core/params.h"

namespace vdlab {

struct StepView {
  int64_t step = 0;    // index of the step, 0-based
  int64_t steps = 0;   // steps in the run
  // after_step: the sample the step produced; before_denoise: the model input (an edit becomes the
  // sample the step proceeds from, conversions included); after_corrector: the corrected sample.
  // Editable.
  at::Tensor sample;
  at::Tensor timesteps;  // [B, F] model timesteps of this step
  // The sampler's converted model outputs (x0 or eps), oldest first; empty for single-step samplers.
  const std::vector<at::Tensor>* model_history = nullptr;
  // Post-step samples of earlier steps, oldest first, as many as the hooks asked for.
  const std::deque<at::Tensor>* sample_history = nullptr;
  // after_corrector only: the sample before the corrector replaced it (the previous step's result as the
  // network saw it at this step).
  const at::Tensor* uncorrected = nullptr;
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
  // Called by samplers with a corrector (UniPC) once it has corrected the sample at the start of a step,
  // before the predictor steps from it; view.uncorrected is the sample it replaced.
  virtual void after_corrector(StepView& view) {}
  // How many post-step samples this hook wants in sample_history.
  virtual int64_t history_length() const { return 0; }
  // What the hook measured over every run it saw (null: nothing), recorded in the cell's stats.
  virtual Json stats() const { return Json(); }
};

using StepHookPtr = std::shared_ptr<StepHook>;

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
  void after_corrector(StepView& view) const;
  const std::vector<std::shared_ptr<StepHook>>& hooks() const { return hooks_; }

 private:
  std::vector<std::shared_ptr<StepHook>> hooks_;
};

}  // namespace vdlab
