#include "methods/drmo/nmi_hook.h"

#include <ATen/ATen.h>

#include <map>
#include <string>
#include <utility>

#include "core/error.h"
#include "methods/drmo/nmi_curve.h"

namespace vdlab {

namespace {

std::string pair_key(int64_t i, int64_t j) { return std::to_string(i) + "-" + std::to_string(j); }

class NmiHook : public StepHook {
 public:
  NmiHook(std::vector<std::pair<int64_t, int64_t>> pairs, int64_t patch, NmiBinning binning)
      : pairs_(std::move(pairs)), patch_(patch), binning_(binning) {}

  void before_denoise(StepView& view) override {
    // The run's start: the model input of its first step (the sample itself for DDIM, DPM-Solver++, UniPC).
    if (states_.empty()) states_.push_back(view.sample.detach().clone());
    if (static_cast<int64_t>(timesteps_.size()) < view.step + 1)
      timesteps_.push_back(view.timesteps.to(at::kCPU).to(at::kDouble).flatten()[0].item<double>() + 1.0);
  }

  void after_step(StepView& view) override {
    states_.push_back(view.sample.detach().clone());
    if (view.step + 1 == view.steps) finish_run();
  }

  Json stats() const override {
    Json out = {{"patch", patch_}, {"bins", binning_.bins}, {"range", {binning_.lo, binning_.hi}}, {"t", timesteps_}};
    Json pairs = Json::object();
    for (const auto& [key, curves] : curves_)
      pairs[key] = {{"next", curves.first.mean()}, {"to_last", curves.second.mean()}, {"videos", curves.first.count()}};
    out["pairs"] = pairs;
    return out;
  }

 private:
  void finish_run() {
    const int64_t frames = states_.front().size(2);
    for (const auto& [i, j] : pairs_) {
      if (i >= frames || j >= frames) continue;  // a pair the clip does not have (recorded as absent)
      auto& acc = curves_[pair_key(i, j)];
      for (int64_t v = 0; v < states_.front().size(0); ++v) {
        const NmiCurves c = residual_nmi_curves(states_, v, i, j, patch_, binning_);
        acc.first.add(c.next);
        acc.second.add(c.to_last);
      }
    }
    states_.clear();
  }

  std::vector<std::pair<int64_t, int64_t>> pairs_;
  int64_t patch_;
  NmiBinning binning_;
  std::vector<at::Tensor> states_;
  std::vector<double> timesteps_;
  std::map<std::string, std::pair<CurveMean, CurveMean>> curves_;
};

}  // namespace

void register_nmi_hook(HookRegistry& registry) {
  if (registry.contains("nmi")) return;
  registry.add({"nmi",
                "per-step NMI of residual motion matrices between frame pairs (consecutive steps and against the "
                "last step), fixed binning; the curves are stored in the cell's stats",
                {{"pairs", Json::array({Json::array({0, 4}), Json::array({0, 8})}),
                  "frame pairs (i, j); pairs beyond the clip's frames are left out", {}, {}},
                 {"patch", 4, "tokens are p x p patches of the residual (1: one token per position)", {}, {}},
                 {"bins", 64, "equal-width bins over [lo, hi]", {}, {}},
                 {"lo", -1.0, "lower edge of the binning range", {}, {}},
                 {"hi", 1.0, "upper edge of the binning range", {}, {}}},
                [](const Params& p) -> StepHookPtr {
                  std::vector<std::pair<int64_t, int64_t>> pairs;
                  for (const auto& pr : p.at("pairs")) {
                    if (!pr.is_array() || pr.size() != 2 || !pr[0].is_number_integer() || !pr[1].is_number_integer() ||
                        pr[0].get<int64_t>() < 0 || pr[1].get<int64_t>() < 0)
                      p.fail("pairs", "each pair is [i, j] with frame indices >= 0");
                    pairs.emplace_back(pr[0].get<int64_t>(), pr[1].get<int64_t>());
                  }
                  if (p.get<int64_t>("patch") < 1) p.fail("patch", "must be at least 1");
                  if (p.get<int64_t>("bins") < 1) p.fail("bins", "must be at least 1");
                  if (!(p.get<double>("hi") > p.get<double>("lo"))) p.fail("hi", "must exceed lo");
                  return std::make_shared<NmiHook>(std::move(pairs), p.get<int64_t>("patch"),
                                                   NmiBinning{p.get<int>("bins"), p.get<double>("lo"), p.get<double>("hi")});
                }});
}

}  // namespace vdlab
