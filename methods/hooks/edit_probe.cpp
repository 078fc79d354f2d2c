// "edit-probe": adds a fixed Gaussian perturbation to the sample after one step and measures how much of
// it the next UniPC corrector undoes (METHODS.md 2: an edit applied after the step is largely undone by
// the corrector, which recomputes the step from the previous sample and sees the edit only through the
// network's output). The measurement is the share of the edit the corrector removed along the edit's
// direction: undone = -<x_corrected - x_edited, delta> / <delta, delta>, 1 when the corrector restores the
// unedited sample along delta, 0 when it keeps the edit.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "methods/hooks/hook_registry.h"

namespace vdlab {

namespace {

class EditProbe : public StepHook {
 public:
  EditProbe(int64_t step, double scale, uint64_t seed) : step_(step), scale_(scale), seed_(seed) {}

  void after_step(StepView& view) override {
    if (view.step != step_) return;
    // The same perturbation for every run of a shape: a fixed draw from the probe's own seed.
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed_);
    const at::Tensor delta = (at::randn(view.sample.sizes(), gen, at::kDouble) * scale_).to(view.sample.options());
    before_ = view.sample;
    view.sample = view.sample + delta;
    ++runs_;
    edit_norm_ += delta.to(at::kDouble).norm().item<double>();
    edit_rms_ += std::sqrt(delta.to(at::kDouble).pow(2).mean().item<double>());
    pending_ = true;
  }

  void after_corrector(StepView& view) override {
    if (!pending_ || view.step != step_ + 1 || view.uncorrected == nullptr) return;
    pending_ = false;
    // The edit as the network saw it (pinned frames restored by the sampler carry none of it).
    const at::Tensor applied = (*view.uncorrected - before_).to(at::kDouble);
    const at::Tensor change = (view.sample - *view.uncorrected).to(at::kDouble);
    const double dd = applied.pow(2).sum().item<double>();
    if (dd > 0) {
      undone_ += -(change * applied).sum().item<double>() / dd;
      ++corrected_;
    }
    before_ = at::Tensor();
  }

  Json stats() const override {
    Json out = {{"step", step_}, {"scale", scale_}, {"runs", runs_}, {"corrected_runs", corrected_}};
    out["edit_norm"] = runs_ > 0 ? Json(edit_norm_ / static_cast<double>(runs_)) : Json();
    out["edit_rms"] = runs_ > 0 ? Json(edit_rms_ / static_cast<double>(runs_)) : Json();
    out["undone_by_corrector"] = corrected_ > 0 ? Json(undone_ / static_cast<double>(corrected_)) : Json();
    return out;
  }

 private:
  int64_t step_;
  double scale_;
  uint64_t seed_;
  at::Tensor before_;
  bool pending_ = false;
  int64_t runs_ = 0, corrected_ = 0;
  double edit_norm_ = 0, edit_rms_ = 0, undone_ = 0;
};

}  // namespace

void register_edit_probe(HookRegistry& registry) {
  registry.add({"edit-probe",
                "adds a fixed Gaussian perturbation after one step; measures its norm and how much of it the next "
                "UniPC corrector undoes",
                {{"step", 5, "index of the step after which the perturbation is added (0-based)", {}, {}},
                 {"scale", 0.1, "standard deviation of the perturbation", {}, {}},
                 {"seed", 0, "seed of the perturbation's draw", {}, {}}},
                [](const Params& p) -> StepHookPtr {
                  if (p.get<int64_t>("step") < 0) p.fail("step", "must not be negative");
                  if (!(p.get<double>("scale") > 0)) p.fail("scale", "must be positive");
                  return std::make_shared<EditProbe>(p.get<int64_t>("step"), p.get<double>("scale"),
                                                     p.get<uint64_t>("seed"));
                }});
}

}  // namespace vdlab
