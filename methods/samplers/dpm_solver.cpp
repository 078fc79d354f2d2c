// DPM-Solver++ (Lu et al. 2022), multistep, data prediction: first order and 2M with the midpoint or
// heun second-order term, as diffusers' DPMSolverMultistepScheduler computes it (METHODS.md 1.4).
#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"
#include "methods/samplers/model_output.h"
#include "methods/samplers/sampler.h"

namespace vdlab {

namespace {

struct DpmOptions {
  CommonOptions common;
  int64_t order = 2;
  bool heun = false;
  bool lower_order_final = true;
  bool euler_at_final = false;
  bool karras = false;
  Json resolved;
};

class DpmSolverPP : public Sampler {
 public:
  explicit DpmSolverPP(DpmOptions o) : o_(std::move(o)) {}

  std::vector<double> timesteps(const NoiseSchedule& s) const override {
    if (o_.karras) return multistep_karras_schedule(s, o_.common.steps).timesteps;
    return multistep_timesteps(s.num_train_timesteps, o_.common.steps, o_.common.spacing, o_.common.steps_offset);
  }
  Json describe() const override { return o_.resolved; }

  at::Tensor sample(const Denoise& denoise, const at::Tensor& noise, const SampleContext& ctx,
                    SampleStats& stats) const override {
    if (o_.karras && ctx.frame_timesteps.defined())
      throw ConfigError("dpmsolver++: karras sigmas with per-frame timesteps are not defined; use karras: false");
    const KarrasSchedule karras = o_.karras ? multistep_karras_schedule(ctx.schedule, o_.common.steps) : KarrasSchedule{};
    const FramePlan plan = make_frame_plan(listed_timesteps(*this, ctx, o_.common.steps), ctx, noise, "dpmsolver++",
                                           final_timestep_of(o_.common.final_sigma));
    const int64_t n = plan.steps();
    const size_t nf = static_cast<size_t>(plan.size());
    const std::vector<std::vector<double>> sig =
        frame_sigmas(plan, ctx.schedule, o_.common.final_sigma, o_.karras ? &karras.sigmas : nullptr);

    StepDriver driver(denoise, ctx, stats, plan, noise);
    at::Tensor x = noise;
    std::vector<at::Tensor> history;  // data predictions, oldest first, at most 2
    int64_t warm = 0;
    for (int64_t i = plan.start; i < plan.stop; ++i) {
      const at::Tensor out = driver.denoise(x, i);
      const auto& s_now = sig[static_cast<size_t>(i)];
      const auto& s_next = sig[static_cast<size_t>(i + 1)];
      std::vector<double> a(nf), s(nf), xc(nf), c1(nf), c2(nf);
      const bool last_step = i == n - 1;
      const bool first_order_final =
          last_step && (o_.euler_at_final || (o_.lower_order_final && n < 15) || o_.common.final_sigma == "zero");
      const bool second = o_.order == 2 && warm >= 1 && !first_order_final;
      for (size_t k = 0; k < nf; ++k) {
        a[k] = vp_alpha(s_now[k]);
        s[k] = vp_sigma(s_now[k]);
        if (plan.is_held(i, k)) {  // a masked no-op (h = 0): the identity, restored bitwise by the driver
          xc[k] = 1.0;
          continue;
        }
        const double a_t = vp_alpha(s_next[k]), sg_t = vp_sigma(s_next[k]);
        const double h = log_snr(s_next[k]) - log_snr(s_now[k]);
        xc[k] = sg_t / s[k];
        c1[k] = a_t * std::expm1(-h);
        // A frame held through the previous step has no second point to difference (r0 = 0): first order.
        if (second && sig[static_cast<size_t>(i - 1)][k] != s_now[k]) {
          const double r0 = (log_snr(s_now[k]) - log_snr(sig[static_cast<size_t>(i - 1)][k])) / h;
          // D1 = (m0 - m1) / r0; midpoint: - 0.5 c1 D1; heun: + a_t ((e^{-h} - 1) / h + 1) D1.
          c2[k] = o_.heun ? -a_t * (std::expm1(-h) / h + 1.0) / r0 : 0.5 * c1[k] / r0;
        }
      }
      std::vector<double> cx(nf), co(nf);
      for (size_t k = 0; k < nf; ++k) {
        const AffineConversion conv = x0_conversion(a[k], s[k], ctx.prediction);
        cx[k] = conv.x_coef;
        co[k] = conv.out_coef;
      }
      at::Tensor m = plan.combine({&x, &out}, {&cx, &co});
      if (o_.common.thresholding) m = dynamic_threshold(m, o_.common.threshold_ratio, o_.common.sample_max);
      m = plan.restore_pinned(noise, m);
      history.push_back(m);
      if (history.size() > 2) history.erase(history.begin());

      // x_t = xc x - c1 m0 - c2 (m0 - m1), folded per frame: xc x - (c1 + c2) m0 + c2 m1.
      for (size_t k = 0; k < nf; ++k) c1[k] = -(c1[k] + c2[k]);
      const at::Tensor xn = second ? plan.combine({&x, &m, &history[history.size() - 2]}, {&xc, &c1, &c2})
                                   : plan.combine({&x, &m}, {&xc, &c1});
      x = driver.finish_step(xn, i, &history);
      warm = std::min<int64_t>(warm + 1, o_.order);
    }
    return x;
  }

 private:
  DpmOptions o_;
};

}  // namespace

void register_dpm_solver(SamplerRegistry& registry) {
  ParamSpecs specs = CommonOptions::specs("linspace", "zero");
  specs.push_back({"order", 2, "1 (DPM-Solver++ 1, = DDIM) or 2 (2M)", {}, {}});
  specs.push_back({"solver_type", "midpoint", "second-order term of 2M", {"midpoint", "heun"}, {}});
  specs.push_back({"lower_order_final", true, "first order at the last step when steps < 15", {}, {}});
  specs.push_back({"euler_at_final", false, "first order at the last step always", {}, {}});
  specs.push_back({"karras", false,
                   "Karras sigmas (rho 7) over the whole training range, timesteps rounded (diffusers' "
                   "use_karras_sigmas; spacing and steps_offset then play no part)", {}, {}});
  registry.add({"dpmsolver++", "DPM-Solver++ multistep (1st order, 2M midpoint/heun), as diffusers", specs,
                 [](const Params& p) -> SamplerPtr {
                   DpmOptions o;
                   o.common = CommonOptions::from(p);
                   o.order = p.get<int64_t>("order");
                   o.heun = p.get<std::string>("solver_type") == "heun";
                   o.lower_order_final = p.get<bool>("lower_order_final");
                   o.euler_at_final = p.get<bool>("euler_at_final");
                   o.karras = p.get<bool>("karras");
                   if (o.order != 1 && o.order != 2) p.fail("order", "must be 1 or 2, got " + std::to_string(o.order));
                   // Karras sigmas end at the smallest training sigma, so a sigma_min final step has h = 0, where
                   // the heun term (e^{-h} - 1) / h is 0 / 0 (the reference returns NaN).
                   const bool last_first_order = o.euler_at_final || (o.lower_order_final && o.common.steps < 15) ||
                                                 o.common.final_sigma == "zero";
                   if (o.karras && o.heun && o.order == 2 && !last_first_order)
                     p.fail("solver_type", "heun with karras sigmas and a second-order last step to final_sigma "
                                           "sigma_min is undefined (h = 0 there; the reference returns NaN); use "
                                           "midpoint, final_sigma zero, or euler_at_final true");
                   o.resolved = p.json();
                   o.resolved["name"] = "dpmsolver++";
                   return std::make_shared<DpmSolverPP>(std::move(o));
                 }});
}

}  // namespace vdlab
