#include "methods/samplers/sampler.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstdio>
#include <mutex>

#include "core/error.h"
#include "methods/samplers/gaussian_fill.h"
#include "methods/samplers/step_noise.h"

namespace vdlab {

Sampler::~Sampler() = default;

SamplerRegistry& sampler_registry() {
  static SamplerRegistry registry("sampler");
  return registry;
}

void register_builtin_samplers() {
  static bool done = false;
  if (done) return;
  done = true;
  SamplerRegistry& r = sampler_registry();
  register_ddpm(r);
  register_ddim(r);
  register_euler(r);
  register_dpm_solver(r);
  register_unipc(r);
}

CommonOptions CommonOptions::from(const Params& p) {
  CommonOptions o;
  o.steps = p.get<int64_t>("steps");
  o.spacing = p.get<std::string>("spacing");
  o.steps_offset = p.get<int64_t>("steps_offset");
  if (p.has("final_sigma")) o.final_sigma = p.get<std::string>("final_sigma");
  o.thresholding = p.get<bool>("thresholding");
  o.threshold_ratio = p.get<double>("threshold_ratio");
  o.sample_max = p.get<double>("sample_max");
  if (o.steps < 1) p.fail("steps", "must be at least 1, got " + std::to_string(o.steps));
  if (o.steps_offset < 0) p.fail("steps_offset", "must not be negative");
  if (!(o.threshold_ratio > 0 && o.threshold_ratio <= 1)) p.fail("threshold_ratio", "must lie in (0, 1]");
  // Below 1 the threshold is sample_max itself (clamp(s, 1, max) with max < 1 gives max, as the reference).
  if (!(o.sample_max > 0)) p.fail("sample_max", "must be positive");
  return o;
}

ParamSpecs CommonOptions::specs(const std::string& spacing, const std::string& final_sigma, int64_t steps) {
  return {
      {"steps", steps, "sampling steps N", {}, {}},
      {"spacing", spacing, "timestep spacing (METHODS.md 1.1)", {"linspace", "leading", "trailing"}, {}},
      {"steps_offset", 0, "added to every timestep under leading spacing", {}, {}},
      {"final_sigma", final_sigma, "sigma after the last step: zero, or the smallest training sigma",
       {"zero", "sigma_min"}, {}},
      {"thresholding", false, "dynamic thresholding of the predicted x0", {}, {}},
      {"threshold_ratio", 0.995, "quantile of |x0| per sample used as the threshold", {}, {}},
      {"sample_max", 1.0, "largest threshold dynamic thresholding may use", {}, {}},
  };
}

std::vector<double> listed_timesteps(const Sampler& sampler, const SampleContext& ctx, int64_t steps) {
  if (ctx.frame_timesteps.defined()) return std::vector<double>(static_cast<size_t>(steps), 0.0);
  return sampler.timesteps(ctx.schedule);
}

namespace {

// A model output with any NaN or Inf stops sampling, naming the step (from 1), its timesteps and the
// count: nothing downstream ever sees non-finite values, and the user sees where they began.
// Whether every value is finite, in one pass: a float is NaN or Inf exactly when its exponent bits are all
// set. isfinite().all() was four passes and a bool tensor, 8x the arithmetic of a DDIM step.
// Read through types that may alias the floats (no strict-aliasing assumption).
using FloatBits = uint32_t __attribute__((may_alias));
using DoubleBits = uint64_t __attribute__((may_alias));

template <typename Bits>
inline __attribute__((always_inline)) bool exponents_all_finite(const Bits* v, int64_t n, Bits exponent) {
  Bits seen = 0;  // vectorises: no early exit
  for (int64_t i = 0; i < n; ++i) seen |= static_cast<Bits>((v[i] & exponent) == exponent);
  return seen == 0;
}

// Compiled for AVX-512, AVX2 and baseline x86-64, picked at load: integer tests, the same answer on each,
// about a third of the baseline loop's time on a wide machine (every sampler step runs it once).
__attribute__((target_clones("avx512f", "avx2", "default"))) bool floats_all_finite(const FloatBits* v, int64_t n) {
  return exponents_all_finite(v, n, FloatBits{0x7f800000u});
}
__attribute__((target_clones("avx512f", "avx2", "default"))) bool doubles_all_finite(const DoubleBits* v, int64_t n) {
  return exponents_all_finite(v, n, DoubleBits{0x7ff0000000000000ull});
}

bool all_finite(const at::Tensor& t) {
  if (t.device().is_cpu() && t.is_contiguous()) {
    if (t.scalar_type() == at::kFloat) return floats_all_finite(static_cast<const FloatBits*>(t.data_ptr()), t.numel());
    if (t.scalar_type() == at::kDouble)
      return doubles_all_finite(static_cast<const DoubleBits*>(t.data_ptr()), t.numel());
  }
  return at::isfinite(t).all().item<bool>();
}

void require_finite_model_output(const at::Tensor& out, int64_t step, int64_t steps, const at::Tensor& t) {
  if (all_finite(out)) return;
  const int64_t bad = out.numel() - at::isfinite(out).sum().item<int64_t>();
  const at::Tensor tt = t.to(at::kDouble);
  const double lo = tt.min().item<double>(), hi = tt.max().item<double>();
  char when[64];
  if (lo == hi) std::snprintf(when, sizeof when, "t=%g", lo);
  else std::snprintf(when, sizeof when, "t=%g..%g over frames", lo, hi);
  throw NumericError("sampling step " + std::to_string(step + 1) + " of " + std::to_string(steps) + " (" + when +
                     "): the model output has " + std::to_string(bad) + " non-finite values (NaN or Inf) of " +
                     std::to_string(out.numel()) + "; nothing from it is kept");
}

}  // namespace

StepDriver::StepDriver(const Denoise& denoise, const SampleContext& ctx, SampleStats& stats, const FramePlan& plan,
                       const at::Tensor& given)
    : denoise_(denoise), ctx_(ctx), stats_(stats), plan_(plan), given_(given) {
  if (ctx.hooks) history_length_ = ctx.hooks->history_length();
}

StepView StepDriver::view_of(int64_t step, const at::Tensor& sample, const at::Tensor& timesteps) const {
  StepView view;
  view.step = step;
  view.steps = plan_.steps();
  view.sample = sample;
  view.timesteps = timesteps;
  view.sample_history = &history_;
  return view;
}

at::Tensor StepDriver::denoise(at::Tensor& x, int64_t step, const at::Tensor* input_scale) {
  at::Tensor t = plan_.timestep_tensor(step, x);
  at::Tensor input = input_scale ? x / *input_scale : x;
  if (ctx_.hooks && !ctx_.hooks->empty()) {
    StepView view = view_of(step, input, t);
    ctx_.hooks->before_denoise(view);
    if (!view.sample.is_same(input)) {
      // The edited input is the sample from here on; pinned frames stay as given (their scale is 1).
      input = plan_.restore_pinned(given_, view.sample);
      x = input_scale ? input * *input_scale : input;
    }
  }
  step_base_ = x;
  ++stats_.nfe;
  at::Tensor out = denoise_(input, t);
  if (!out.sizes().equals(input.sizes()))
    throw NumericError("denoise callback returned a tensor of another shape than its input");
  require_finite_model_output(out, step, plan_.steps(), t);
  return out.to(input.scalar_type());
}

at::Tensor StepDriver::after_corrector(const at::Tensor& corrected, const at::Tensor& uncorrected, int64_t step) {
  at::Tensor out = plan_.restore_pinned(given_, corrected);
  if (step > 0) out = plan_.restore_held(step - 1, uncorrected, out);
  if (ctx_.hooks && !ctx_.hooks->empty()) {
    StepView view = view_of(step, out, plan_.timestep_tensor(step, out));
    view.uncorrected = &uncorrected;
    ctx_.hooks->after_corrector(view);
    out = plan_.restore_pinned(given_, view.sample);
  }
  step_base_ = out;
  return out;
}

at::Tensor StepDriver::finish_step(const at::Tensor& x, int64_t step, const std::vector<at::Tensor>* model_history) {
  at::Tensor out = plan_.restore_pinned(given_, x);
  if (step_base_.defined()) out = plan_.restore_held(step, step_base_, out);
  ++stats_.steps;
  corrector_next_ = true;
  if (ctx_.hooks && !ctx_.hooks->empty()) {
    StepView view = view_of(step, out, plan_.timestep_tensor(step, x));
    view.model_history = model_history;
    ctx_.hooks->after_step(view);
    corrector_next_ = view.corrector_next;
    // Hooks edit generated frames only: pinned frames stay exactly as given.
    out = plan_.restore_pinned(given_, view.sample);
  }
  if (history_length_ > 0) {
    history_.push_back(out);
    while (static_cast<int64_t>(history_.size()) > history_length_) history_.pop_front();
  }
  return out;
}

at::Tensor StepDriver::noise(int64_t step, const at::Tensor& like) {
  return step_noise(ctx_, step, like, NoiseDraws::torch);
}

NoiseDraws parse_noise_draws(const std::string& name) {
  if (name == "fast") return NoiseDraws::fast;
  if (name == "torch") return NoiseDraws::torch;
  throw ConfigError("noise_draws: unknown source '" + name + "' (fast, torch)");
}

ParamSpec noise_draws_spec() {
  return {"noise_draws", "fast",
          "Gaussian draws of stochastic steps: fast (a vectorised stream seeded by one draw of the cell's "
          "generator) or torch (LibTorch's randn on the generator, the stream Python torch draws)",
          {"fast", "torch"}, {}};
}

uint64_t fast_noise_seed(const SampleContext& ctx) {
  if (!ctx.generator.defined()) throw Error("a stochastic sampler needs a generator in its SampleContext");
  // One 64-bit word of the cell's generator seeds the step's stream: the draws are a function of the
  // cell's seed and the generator's position, as randn's are.
  auto* gen = at::check_generator<at::CPUGeneratorImpl>(ctx.generator);
  std::lock_guard<std::mutex> lock(gen->mutex_);
  return gen->random64();
}

at::Tensor step_noise(const SampleContext& ctx, int64_t step, const at::Tensor& like, NoiseDraws draws) {
  if (ctx.step_noise) return ctx.step_noise(step, like).to(like.options());
  if (!ctx.generator.defined()) throw Error("a stochastic sampler needs a generator in its SampleContext");
  if (draws == NoiseDraws::torch) return at::randn(like.sizes(), ctx.generator, like.options());
  const uint64_t seed = fast_noise_seed(ctx);
  at::Tensor out = at::empty(like.sizes(), at::TensorOptions().dtype(at::kFloat));
  fill_standard_normal(out.data_ptr<float>(), out.numel(), seed);
  return out.to(like.options());
}

}  // namespace vdlab
