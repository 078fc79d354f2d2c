// Euler (Karras et al. 2022, k-diffusion form on VE sigmas), optionally with Karras sigmas, as diffusers'
// EulerDiscreteScheduler computes it without churn. The sampler scales the initial noise by
// init_noise_sigma, feeds the network x / sqrt(sigma^2 + 1) and returns the VE sample at the final sigma.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "methods/samplers/sampler.h"

namespace vdlab {

namespace {

struct EulerOptions {
  CommonOptions common;
  bool karras = false;
  Json resolved;
};

class Euler : public Sampler {
 public:
  explicit Euler(EulerOptions o) : o_(std::move(o)) {}

  // The listed timesteps and, with Karras sigmas, the sigmas they stand for.
  std::vector<double> timesteps(const NoiseSchedule& s) const override { return schedule(s).first; }
  Json describe() const override { return o_.resolved; }

  at::Tensor sample(const Denoise& denoise, const at::Tensor& noise, const SampleContext& ctx,
                    SampleStats& stats) const override {
    if (o_.karras && ctx.frame_timesteps.defined())
      throw ConfigError("euler: karras sigmas with per-frame timesteps are not defined; use karras: false");
    const auto [ts, karras_sig] = schedule(ctx.schedule);
    const FramePlan plan = make_frame_plan(ctx.frame_timesteps.defined() ? listed_timesteps(*this, ctx, o_.common.steps) : ts,
                                           ctx, noise, "euler", final_timestep_of(o_.common.final_sigma));
    const int64_t n = plan.steps();
    const size_t nf = static_cast<size_t>(plan.size());
    const std::vector<double> table = sigma_table(ctx.schedule);
    std::vector<std::vector<double>> sig(static_cast<size_t>(n + 1), std::vector<double>(nf));
    for (int64_t i = 0; i < n; ++i)
      for (size_t k = 0; k < nf; ++k)
        sig[static_cast<size_t>(i)][k] =
            o_.karras ? karras_sig[static_cast<size_t>(i)] : interpolate(table, plan.timesteps[static_cast<size_t>(i)][k]);
    for (size_t k = 0; k < nf; ++k) sig[static_cast<size_t>(n)][k] = o_.common.final_sigma == "zero" ? 0.0 : table[0];

    // init_noise_sigma per frame; pinned frames keep their values (factor 1, then restored bitwise).
    const bool plain = o_.common.spacing == "linspace" || o_.common.spacing == "trailing";
    std::vector<double> init(nf);
    for (size_t k = 0; k < nf; ++k) {
      double smax = 0;
      for (const auto& s : sig) smax = std::max(smax, s[k]);
      init[k] = plan.pinned[k] ? 1.0 : (plain ? smax : std::sqrt(smax * smax + 1.0));
      // A run begun at step k > 0 is given the VP sample there: VE = VP sqrt(sigma_k^2 + 1).
      const double sk = sig[static_cast<size_t>(plan.start)][k];
      if (plan.start > 0 && !plan.pinned[k]) init[k] = std::sqrt(sk * sk + 1.0);
    }
    StepDriver driver(denoise, ctx, stats, plan, noise);
    at::Tensor x = plan.restore_pinned(noise, noise * plan.frame_values(init, noise));
    for (int64_t i = plan.start; i < plan.stop; ++i) {
      // x0 = cx x + co out is affine in x and the output, so the Euler step x + (x - x0) / s * dt is
      // too: x_next = (1 + dt (1 - cx) / s) x - (dt co / s) out, one pass with per-frame coefficients.
      std::vector<double> c_in(nf), cxn(nf), con(nf);
      for (size_t k = 0; k < nf; ++k) {
        const double sk = sig[static_cast<size_t>(i)][k];
        const double dt = sig[static_cast<size_t>(i + 1)][k] - sk;
        c_in[k] = plan.pinned[k] ? 1.0 : std::sqrt(sk * sk + 1.0);
        double cx = 0, co = 1;  // x0 prediction
        if (ctx.prediction == Prediction::eps) {
          cx = 1.0;
          co = -sk;
        } else if (ctx.prediction == Prediction::v) {
          cx = 1.0 / (sk * sk + 1.0);
          co = -sk / std::sqrt(sk * sk + 1.0);
        }
        cxn[k] = 1.0 + dt * (1.0 - cx) / sk;
        con[k] = -dt * co / sk;
      }
      const at::Tensor scale = plan.frame_values(c_in, x);
      const at::Tensor out = driver.denoise(x, i, &scale);
      x = driver.finish_step(plan.combine({&x, &out}, {&cxn, &con}), i);
    }
    if (plan.stop == n) return x;
    // A run stopped at step k returns the VP sample there, as a run begun at k takes it.
    std::vector<double> to_vp(nf);
    for (size_t k = 0; k < nf; ++k) {
      const double sk = sig[static_cast<size_t>(plan.stop)][k];
      to_vp[k] = plan.pinned[k] ? 1.0 : std::sqrt(sk * sk + 1.0);
    }
    return plan.restore_pinned(noise, x / plan.frame_values(to_vp, x));
  }

 private:
  std::pair<std::vector<double>, std::vector<double>> schedule(const NoiseSchedule& s) const {
    std::vector<double> ts =
        euler_timesteps(s.num_train_timesteps, o_.common.steps, o_.common.spacing, o_.common.steps_offset);
    if (!o_.karras) return {ts, {}};
    const std::vector<double> table = sigma_table(s);
    std::vector<double> log_sigmas;
    for (double v : table) log_sigmas.push_back(std::log(v));
    const std::vector<double> sig =
        karras_sigmas(interpolate(table, ts.front()), interpolate(table, ts.back()), o_.common.steps);
    // The model sees the fractional timestep of each Karras sigma, in float32 as the reference keeps it
    // (rounding it would evaluate the network at a noise level the step does not use).
    std::vector<double> kts;
    for (double v : sig) kts.push_back(static_cast<double>(static_cast<float>(sigma_to_timestep(v, log_sigmas))));
    return {kts, sig};
  }

  EulerOptions o_;
};

}  // namespace

void register_euler(SamplerRegistry& registry) {
  ParamSpecs specs = CommonOptions::specs("linspace", "zero");
  specs.push_back({"karras", false, "Karras sigmas (rho 7) between the schedule's largest and smallest sigma", {}, {}});
  registry.add({"euler", "Euler on VE sigmas (k-diffusion form), optional Karras sigmas, as diffusers", specs,
                 [](const Params& p) -> SamplerPtr {
                   EulerOptions o;
                   o.common = CommonOptions::from(p);
                   o.karras = p.get<bool>("karras");
                   if (o.common.thresholding) p.fail("thresholding", "is not part of the Euler sampler");
                   o.resolved = p.json();
                   o.resolved["name"] = "euler";
                   return std::make_shared<Euler>(std::move(o));
                 }});
}

}  // namespace vdlab
