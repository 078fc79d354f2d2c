// The registered training loss terms (methods/training/objective.h).
#include <ATen/ATen.h>

#include "core/error.h"
#include "methods/training/objective.h"

namespace vdlab {

namespace {

// Seed 002 (METHODS.md 4): motion-weighted, noise-level-weighted MSE of the consecutive-frame
// differences of the predicted x0:
//   L_tc = mean over videos b and frame pairs (f, f+1) of w_m(m_b) w_n(b, f) mean_{c,h,w} (x0^_{f+1} - x0^_f)^2
// with w_m = 1 - m ("one_minus_m": a high-motion video may change more) or 1 ("none"), and
// w_n = alpha_f alpha_{f+1} ("alpha_bar": the signal share alpha_bar(t) when both frames share t, so
// high-noise predictions count less) or 1 ("none"). A static prediction scores 0.
class TemporalConsistencyTerm : public LossTerm {
 public:
  TemporalConsistencyTerm(std::string motion_weight, std::string noise_weight)
      : motion_weight_(std::move(motion_weight)), noise_weight_(std::move(noise_weight)) {}

  at::Tensor compute(const LossInputs& in) const override {
    const int64_t frames = in.output.size(2);
    if (frames < 2) return at::zeros({}, in.output.options().dtype(at::kFloat));
    const at::Tensor x0 = in.predicted_x0().to(at::kFloat);
    const at::Tensor diff = x0.slice(2, 1) - x0.slice(2, 0, frames - 1);  // [B, C, F-1, H, W]
    at::Tensor per_pair = diff.pow(2).mean({1, 3, 4});                     // [B, F-1]
    if (noise_weight_ == "alpha_bar") {
      const at::Tensor a = in.alpha.to(at::kFloat).reshape({in.alpha.size(0), -1});  // [B, F]
      per_pair = per_pair * (a.slice(1, 1) * a.slice(1, 0, frames - 1));
    }
    if (motion_weight_ == "one_minus_m") {
      if (!in.motion.defined()) throw Error("temporal_consistency: no motion scores for this batch");
      per_pair = per_pair * (1.0 - in.motion.to(per_pair.options()).reshape({-1, 1}));
    }
    return per_pair.mean();
  }
  bool needs_motion() const override { return motion_weight_ != "none"; }

 private:
  std::string motion_weight_, noise_weight_;
};

// VMC (METHODS.md 5): residuals along frames of the output and of its target (the noise for an eps
// network), d^ = out[:, :, 1:] - out[:, :, :-1], d = target[:, :, 1:] - target[:, :, :-1] (VMC's residual
// vectors); "cosine": 1 - mean over (b, c, h, w) of cos_sim(d^, d) over the frame axis, 0 for identical and
// 2 for opposite residual directions; "l2": mean (d - d^)^2. `absolute: true` compares |d^| and |d| as
// METHODS.md 5 writes them (then opposite residuals score 0 and the cosine form lies in [0, 1]).
class MotionDistillationTerm : public LossTerm {
 public:
  MotionDistillationTerm(std::string form, bool absolute) : form_(std::move(form)), absolute_(absolute) {}

  at::Tensor compute(const LossInputs& in) const override {
    const int64_t frames = in.output.size(2);
    if (frames < 2) return at::zeros({}, in.output.options().dtype(at::kFloat));
    auto residual = [&](const at::Tensor& v) {
      const at::Tensor x = v.to(at::kFloat);
      const at::Tensor d = x.slice(2, 1) - x.slice(2, 0, frames - 1);
      return absolute_ ? d.abs() : d;
    };
    const at::Tensor d_hat = residual(in.output), d = residual(in.target);
    if (form_ == "l2") return (d - d_hat).pow(2).mean();
    return 1.0 - at::cosine_similarity(d_hat, d, 2, 1e-8).mean();
  }

 private:
  std::string form_;
  bool absolute_;
};

}  // namespace

void register_builtin_loss_terms() {
  static bool done = false;
  if (done) return;
  done = true;
  const ParamSpec weight{"weight", 1.0, "the term's weight in the loss (seed 002's lambda)", {}, {}};
  loss_term_registry().add(
      {"temporal_consistency",
       "motion- and noise-weighted MSE of consecutive-frame differences of the predicted x0 (METHODS.md 4)",
       {weight,
        {"motion_weight", "one_minus_m", "weight per video from its motion score m", {"one_minus_m", "none"}, {}},
        {"noise_weight", "alpha_bar", "weight per frame pair from the noise level", {"alpha_bar", "none"}, {}}},
       [](const Params& p) -> LossTermPtr {
         return std::make_shared<TemporalConsistencyTerm>(p.get<std::string>("motion_weight"),
                                                          p.get<std::string>("noise_weight"));
       }});
  loss_term_registry().add(
      {"motion_distillation",
       "VMC: 1 - cosine similarity of frame residuals of output and target (METHODS.md 5)",
       {weight,
        {"form", "cosine", "cosine (1 - cos_sim over frames) or l2 (mean squared difference)", {"cosine", "l2"}, {}},
        {"absolute", false, "compare |residuals| as METHODS.md 5 writes them; false: VMC's signed residual vectors", {}, {}}},
       [](const Params& p) -> LossTermPtr {
         return std::make_shared<MotionDistillationTerm>(p.get<std::string>("form"), p.get<bool>("absolute"));
       }});
}

}  // namespace vdlab
