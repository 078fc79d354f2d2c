#include "methods/vmc/motion_tuning.h"

#include <torch/optim/adamw.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "core/error.h"
#include "methods/backbone/capabilities.h"
#include "methods/samplers/model_output.h"
#include "methods/schedules/noise_schedule.h"
#include "methods/training/objective.h"

namespace vdlab {

MotionTuningResult tune_motion(Backbone& backbone, const at::Tensor& clip, const Conditioning& cond,
                               const MotionTuningOptions& o, at::Generator& gen) {
  if (clip.dim() != 5 || clip.size(0) != 1) throw ConfigError("vmc tuning: expected one clip [1, C, F, H, W]");
  if (o.steps < 0) throw ConfigError("vmc tuning: steps must not be negative");
  const auto t0 = std::chrono::steady_clock::now();
  MotionTuningResult r;
  r.tuned = backbone.capability<FineTuning>("vmc").clone_for_finetune();
  auto& groups = r.tuned->capability<ParameterGroups>("vmc");
  const std::vector<at::Tensor> params = groups.set_trainable(o.trainable);
  for (const auto& p : params) r.trainable_values += p.numel();
  torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));

  const Json term_config = resolve_loss_terms(
      Json::array({Json{{"name", "motion_distillation"}, {"form", o.form}, {"absolute", o.absolute}}}), "vmc.loss");
  const LossTermPtr term = loss_term_registry().make_resolved(term_config[0], "vmc.loss");

  const NoiseSchedule schedule = NoiseSchedule::from_config(r.tuned->schedule(), "backbone.schedule");
  const at::Tensor x0 = clip.to(at::kFloat);
  const int64_t frames = x0.size(2);
  for (int64_t step = 0; step < o.steps; ++step) {
    const int64_t t = at::randint(0, schedule.num_train_timesteps, {1}, gen, at::kLong).item<int64_t>();
    const at::Tensor eps = at::randn(x0.sizes(), gen, x0.options());
    LossInputs in;
    const double ab = schedule.alphas_cumprod[static_cast<size_t>(t)];
    in.alpha = at::full({1, 1, frames, 1, 1}, std::sqrt(ab), x0.options());
    in.sigma = at::full({1, 1, frames, 1, 1}, std::sqrt(1.0 - ab), x0.options());
    in.x0 = x0;
    in.eps = eps;
    in.xt = in.alpha * x0 + in.sigma * eps;
    in.t = at::full({1, frames}, double(t), x0.options());
    const at::Tensor out = r.tuned->forward(in.xt, in.t, cond);
    // The residuals are of the noise (METHODS.md 5), whatever the network predicts.
    in.output = predict_eps(out, in.xt, in.alpha, in.sigma, r.tuned->prediction());
    in.target = eps;
    in.prediction = Prediction::eps;
    const at::Tensor loss = term->compute(in);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    r.loss_curve.push_back(loss.item<double>());
  }
  groups.set_trainable({});
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace vdlab
