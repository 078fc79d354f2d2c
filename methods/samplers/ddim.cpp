// DDIM (Song et al. 2021) with eta, clipping and diffusers' previous-timestep convention (METHODS.md
// 1.4), and DDPM ancestral sampling (Ho et al. 2020) as diffusers' DDPMScheduler computes it (stepping to
// the next listed timestep). Both step on alphas_cumprod at integer timesteps.
#include <ATen/ATen.h>

#include <cmath>
#include <optional>

#include "core/error.h"
#include "methods/samplers/ancestral_update.h"
#include "methods/samplers/model_output.h"
#include "methods/samplers/sampler.h"
#include "methods/samplers/step_noise.h"

namespace vdlab {

namespace {

// alphas_cumprod at a timestep of a plan (the final value below 0). Integer timesteps read the table;
// fractional ones (per-frame tables may hold them) read 1 / (1 + sigma^2) with sigma interpolated as the
// multistep samplers and the analytic backbones do.
double ac_at(const NoiseSchedule& s, const std::vector<double>& sigmas, double t, double final_ac, const char* sampler) {
  if (t < 0) return final_ac;
  if (t > static_cast<double>(s.num_train_timesteps - 1))
    throw ConfigError(std::string(sampler) + ": timesteps must lie in [0, T), got " + std::to_string(t));
  if (t == std::floor(t)) return s.alphas_cumprod[static_cast<size_t>(t)];
  const double sg = interpolate(sigmas, t);
  return 1.0 / (1.0 + sg * sg);
}

// x0 clipped to [-range, range] or dynamically thresholded.
at::Tensor clip_x0(const at::Tensor& x0, const CommonOptions& c, bool clip, double range) {
  if (c.thresholding) return dynamic_threshold(x0, c.threshold_ratio, c.sample_max);
  if (clip) return x0.clamp(-range, range);
  return x0;
}

struct DdimOptions {
  CommonOptions common;
  double eta = 0.0;
  bool clip_sample = false;
  double clip_range = 1.0;
  bool diffusers_prev = true;  // previous timestep t - T // N (diffusers) or the next listed one
  bool use_clipped_model_output = false;
  NoiseDraws noise_draws = NoiseDraws::fast;
  Json resolved;
};

class Ddim : public Sampler {
 public:
  explicit Ddim(DdimOptions o) : o_(std::move(o)) {}

  std::vector<double> timesteps(const NoiseSchedule& s) const override {
    return ddim_timesteps(s.num_train_timesteps, o_.common.steps, o_.common.spacing, o_.common.steps_offset);
  }
  Json describe() const override { return o_.resolved; }

  at::Tensor sample(const Denoise& denoise, const at::Tensor& noise, const SampleContext& ctx,
                    SampleStats& stats) const override {
    const FramePlan plan = make_frame_plan(listed_timesteps(*this, ctx, o_.common.steps), ctx, noise, "ddim",
                                           final_timestep_of(o_.common.final_sigma));
    const int64_t n = plan.steps();
    const size_t nf = static_cast<size_t>(plan.size());
    const int64_t ratio = ctx.schedule.num_train_timesteps / n;
    const std::vector<double> sigmas = sigma_table(ctx.schedule);
    const double final_ac = o_.common.final_sigma == "zero" ? 1.0 : ctx.schedule.alphas_cumprod[0];
    StepDriver driver(denoise, ctx, stats, plan, noise);
    at::Tensor x = noise;
    for (int64_t i = plan.start; i < plan.stop; ++i) {
      std::vector<double> al(nf), sg(nf), a_prev(nf), dir(nf), stdv(nf);
      for (size_t k = 0; k < nf; ++k) {
        const double t = plan.timesteps[static_cast<size_t>(i)][k];
        const double prev = o_.diffusers_prev ? t - static_cast<double>(ratio)
                                              : (i + 1 < n ? plan.timesteps[static_cast<size_t>(i + 1)][k] : -1.0);
        const double ac_t = ac_at(ctx.schedule, sigmas, t, final_ac, "ddim");
        const double ac_p = ac_at(ctx.schedule, sigmas, prev, final_ac, "ddim");
        al[k] = std::sqrt(ac_t);
        sg[k] = std::sqrt(1.0 - ac_t);
        a_prev[k] = std::sqrt(ac_p);
        const double var = (1.0 - ac_p) / (1.0 - ac_t) * (1.0 - ac_t / ac_p);
        stdv[k] = o_.eta * std::sqrt(var);
        dir[k] = std::sqrt(1.0 - ac_p - stdv[k] * stdv[k]);
      }
      const at::Tensor out = driver.denoise(x, i);
      // Conversions and the update as one-pass per-frame combinations (FramePlan::combine).
      std::vector<double> x0x(nf), x0o(nf), ex(nf), eo(nf), inv_sg(nf), neg_al_sg(nf);
      for (size_t k = 0; k < nf; ++k) {
        const AffineConversion c0 = x0_conversion(al[k], sg[k], ctx.prediction);
        const AffineConversion c1 = eps_conversion(al[k], sg[k], ctx.prediction);
        x0x[k] = c0.x_coef;
        x0o[k] = c0.out_coef;
        ex[k] = c1.x_coef;
        eo[k] = c1.out_coef;
        inv_sg[k] = 1.0 / sg[k];
        neg_al_sg[k] = -al[k] / sg[k];
      }
      at::Tensor x0 = ctx.prediction == Prediction::x0 ? out : plan.combine({&x, &out}, {&x0x, &x0o});
      at::Tensor eps = ctx.prediction == Prediction::eps ? out : plan.combine({&x, &out}, {&ex, &eo});
      x0 = clip_x0(x0, o_.common, o_.clip_sample, o_.clip_range);
      if (o_.use_clipped_model_output) eps = plan.combine({&x, &x0}, {&inv_sg, &neg_al_sg});
      at::Tensor xn;
      if (o_.eta > 0) {
        const at::Tensor z = step_noise(ctx, i, x, o_.noise_draws);
        xn = plan.combine({&x0, &eps, &z}, {&a_prev, &dir, &stdv});
      } else {
        xn = plan.combine({&x0, &eps}, {&a_prev, &dir});
      }
      x = driver.finish_step(xn, i);
    }
    return x;
  }

 private:
  DdimOptions o_;
};

struct DdpmOptions {
  CommonOptions common;
  bool clip_sample = true;
  double clip_range = 1.0;
  bool fixed_large = false;
  NoiseDraws noise_draws = NoiseDraws::fast;
  Json resolved;
};

class Ddpm : public Sampler {
 public:
  explicit Ddpm(DdpmOptions o) : o_(std::move(o)) {}

  std::vector<double> timesteps(const NoiseSchedule& s) const override {
    return ddim_timesteps(s.num_train_timesteps, o_.common.steps, o_.common.spacing, o_.common.steps_offset);
  }
  Json describe() const override { return o_.resolved; }

  at::Tensor sample(const Denoise& denoise, const at::Tensor& noise, const SampleContext& ctx,
                    SampleStats& stats) const override {
    const FramePlan plan = make_frame_plan(listed_timesteps(*this, ctx, o_.common.steps), ctx, noise, "ddpm");
    const int64_t n = plan.steps();
    const size_t nf = static_cast<size_t>(plan.size());
    const std::vector<double> sigmas = sigma_table(ctx.schedule);
    StepDriver driver(denoise, ctx, stats, plan, noise);
    at::Tensor x = noise;
    for (int64_t i = plan.start; i < plan.stop; ++i) {
      std::vector<double> al(nf), sg(nf), c0(nf), cx(nf), sd(nf);
      bool any_noise = false;
      for (size_t k = 0; k < nf; ++k) {
        const double t = plan.timesteps[static_cast<size_t>(i)][k];
        const double ac_t = ac_at(ctx.schedule, sigmas, t, 1.0, "ddpm");
        // The previous timestep is the next listed one (-1 after the last), as the reference's
        // previous_timestep: under linspace and trailing spacing it is not t - T // N.
        const double prev = i + 1 < n ? plan.timesteps[static_cast<size_t>(i + 1)][k] : -1.0;
        const double ac_p = ac_at(ctx.schedule, sigmas, prev, 1.0, "ddpm");
        const double b_t = 1.0 - ac_t, b_p = 1.0 - ac_p;
        const double cur_a = ac_t / ac_p, cur_b = 1.0 - cur_a;
        al[k] = std::sqrt(ac_t);
        sg[k] = std::sqrt(b_t);
        c0[k] = std::sqrt(ac_p) * cur_b / b_t;
        cx[k] = std::sqrt(cur_a) * b_p / b_t;
        if (t > 0) {
          const double var = o_.fixed_large ? cur_b : std::max(b_p / b_t * cur_b, 1e-20);
          sd[k] = std::sqrt(var);
          any_noise = true;
        }
      }
      const at::Tensor out = driver.denoise(x, i);
      std::vector<double> x0x(nf), x0o(nf);
      for (size_t k = 0; k < nf; ++k) {
        const AffineConversion a = x0_conversion(al[k], sg[k], ctx.prediction);
        x0x[k] = a.x_coef;
        x0o[k] = a.out_coef;
      }
      // The common case in one pass (ancestral_update.h): x0, its clipping, the posterior mean and the
      // fast draws streamed block by block, bitwise the sequence below.
      if (!o_.common.thresholding && ancestral_update_applies(x, out) &&
          (!any_noise || (!ctx.step_noise && o_.noise_draws == NoiseDraws::fast))) {
        AncestralUpdate u;
        if (ctx.prediction != Prediction::x0) {
          u.x0_x = &x0x;
          u.x0_out = &x0o;
        }
        u.clip = o_.clip_sample;
        u.clip_range = o_.clip_range;
        u.c_x0 = &c0;
        u.c_x = &cx;
        std::optional<GaussianStream> draws;
        if (any_noise) {
          draws.emplace(fast_noise_seed(ctx));
          u.c_noise = &sd;
        }
        x = driver.finish_step(ancestral_update(plan, x, out, u, draws ? &*draws : nullptr), i);
        continue;
      }
      // Otherwise x0 and the update as one-pass per-frame combinations (FramePlan::combine), the noise
      // term included.
      at::Tensor x0 = ctx.prediction == Prediction::x0 ? out : plan.combine({&x, &out}, {&x0x, &x0o});
      if (ctx.prediction != Prediction::x0 && o_.clip_sample && !o_.common.thresholding)
        x0.clamp_(-o_.clip_range, o_.clip_range);  // x0 is this step's own buffer: clip it in place
      else
        x0 = clip_x0(x0, o_.common, o_.clip_sample, o_.clip_range);
      at::Tensor xn;
      if (any_noise) {
        const at::Tensor z = step_noise(ctx, i, x, o_.noise_draws);
        xn = plan.combine({&x0, &x, &z}, {&c0, &cx, &sd});
      } else {
        xn = plan.combine({&x0, &x}, {&c0, &cx});
      }
      x = driver.finish_step(xn, i);
    }
    return x;
  }

 private:
  DdpmOptions o_;
};

}  // namespace

void register_ddim(SamplerRegistry& registry) {
  ParamSpecs specs = CommonOptions::specs("leading", "zero", 50);
  specs.push_back({"eta", 0.0, "stochasticity: 0 = deterministic DDIM, 1 = DDPM-like variance", {}, {}});
  specs.push_back({"clip_sample", false, "clip the predicted x0 to [-clip_range, clip_range]", {}, {}});
  specs.push_back({"clip_range", 1.0, "clipping range of x0", {}, {}});
  specs.push_back({"prev_timestep", "diffusers",
                   "previous timestep of a step: t - T // N whatever the spacing (diffusers) or the next listed one",
                   {"diffusers", "next"}, {}});
  specs.push_back({"use_clipped_model_output", false, "recompute eps from the clipped x0", {}, {}});
  specs.push_back(noise_draws_spec());
  registry.add({"ddim", "DDIM (eta, clipping, diffusers' previous-timestep convention); final_sigma zero = "
                        "set_alpha_to_one", specs,
                 [](const Params& p) -> SamplerPtr {
                   DdimOptions o;
                   o.common = CommonOptions::from(p);
                   o.eta = p.get<double>("eta");
                   o.clip_sample = p.get<bool>("clip_sample");
                   o.clip_range = p.get<double>("clip_range");
                   o.diffusers_prev = p.get<std::string>("prev_timestep") == "diffusers";
                   o.use_clipped_model_output = p.get<bool>("use_clipped_model_output");
                   o.noise_draws = parse_noise_draws(p.get<std::string>("noise_draws"));
                   if (o.eta < 0) p.fail("eta", "must not be negative");
                   o.resolved = p.json();
                   o.resolved["name"] = "ddim";
                   return std::make_shared<Ddim>(std::move(o));
                 }});
}

void register_ddpm(SamplerRegistry& registry) {
  ParamSpecs specs;
  for (auto& s : CommonOptions::specs("leading", "zero", 1000))
    if (s.name != "final_sigma") specs.push_back(s);
  specs.push_back({"clip_sample", true, "clip the predicted x0 to [-clip_range, clip_range]", {}, {}});
  specs.push_back({"clip_range", 1.0, "clipping range of x0", {}, {}});
  specs.push_back({"variance", "fixed_small", "posterior variance (fixed_small) or beta_t (fixed_large)",
                   {"fixed_small", "fixed_large"}, {}});
  specs.push_back(noise_draws_spec());
  registry.add({"ddpm", "DDPM ancestral sampling, as diffusers' DDPMScheduler", specs,
                 [](const Params& p) -> SamplerPtr {
                   DdpmOptions o;
                   o.common = CommonOptions::from(p);
                   o.clip_sample = p.get<bool>("clip_sample");
                   o.clip_range = p.get<double>("clip_range");
                   o.fixed_large = p.get<std::string>("variance") == "fixed_large";
                   o.noise_draws = parse_noise_draws(p.get<std::string>("noise_draws"));
                   o.resolved = p.json();
                   o.resolved["name"] = "ddpm";
                   return std::make_shared<Ddpm>(std::move(o));
                 }});
}

}  // namespace vdlab
