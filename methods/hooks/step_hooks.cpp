#include "methods/hooks/step_hooks.h"

#include <algorithm>

namespace vdlab {

StepHook::~StepHook() = default;

int64_t StepHooks::history_length() const {
  int64_t n = 0;
  for (const auto& h : hooks_) n = std::max(n, h->history_length());
  return n;
}

void StepHooks::before_denoise(StepView& view) const {
  for (const auto& h : hooks_) h->before_denoise(view);
}

void StepHooks::after_step(StepView& view) const {
  for (const auto& h : hooks_) h->after_step(view);
}

void StepHooks::after_corrector(StepView& view) const {
  for (const auto& h : hooks_) h->after_corrector(view);
}

}  // namespace vdlab
