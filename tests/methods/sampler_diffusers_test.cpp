// diffusers' published scheduler-test values (tests/schedulers/test_scheduler_{unipc,dpm_multi,ddim,ddpm,
// euler}.py) for every sampler and option vdlab offers that diffusers tests, with diffusers' tolerances;
// and the float64 transcription's value of the same run (scripts/reference/samplers_reference.py,
// "diffusers_cases") to 1e-9. The settings of each run live in the fixture, written by the script; the
// published numbers are quoted here with the test they come from.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>
#include <map>
#include <memory>

#include "core/error.h"
#include "methods/hooks/step_hooks.h"
#include "methods/samplers/sampler.h"
#include "sampler_test_support.h"

namespace vdlab {
namespace {

using testing::make_sampler;
using testing::sampler_fixture;

constexpr double kNone = std::numeric_limits<double>::quiet_NaN();

// A published value: the statistic diffusers' test asserts and its tolerance (NaN: not asserted there).
struct Published {
  const char* test;  // file::test in diffusers' tests/schedulers
  double sum, sum_tol, mean, mean_tol;
};

const std::map<std::string, Published>& published() {
  static const std::map<std::string, Published> table = {
      {"unipc_full_loop_no_noise", {"test_scheduler_unipc.py::test_full_loop_no_noise", kNone, 0, 0.2464, 1e-3}},
      {"unipc_full_loop_with_karras", {"test_scheduler_unipc.py::test_full_loop_with_karras", kNone, 0, 0.2925, 1e-3}},
      {"unipc_full_loop_with_v_prediction",
       {"test_scheduler_unipc.py::test_full_loop_with_v_prediction", kNone, 0, 0.1014, 1e-3}},
      {"unipc_full_loop_with_karras_and_v_prediction",
       {"test_scheduler_unipc.py::test_full_loop_with_karras_and_v_prediction", kNone, 0, 0.1966, 1e-3}},
      {"unipc_1d_full_loop_no_noise",
       {"test_scheduler_unipc.py::UniPCMultistepScheduler1DTest::test_full_loop_no_noise", kNone, 0, 0.2441, 1e-3}},
      {"unipc_1d_full_loop_with_karras",
       {"test_scheduler_unipc.py::UniPCMultistepScheduler1DTest::test_full_loop_with_karras", kNone, 0, 0.2898, 1e-3}},
      {"unipc_1d_full_loop_with_v_prediction",
       {"test_scheduler_unipc.py::UniPCMultistepScheduler1DTest::test_full_loop_with_v_prediction", kNone, 0, 0.1014,
        1e-3}},
      {"unipc_1d_full_loop_with_karras_and_v_prediction",
       {"test_scheduler_unipc.py::UniPCMultistepScheduler1DTest::test_full_loop_with_karras_and_v_prediction", kNone,
        0, 0.1944, 1e-3}},
      {"dpm_multi_full_loop_no_noise", {"test_scheduler_dpm_multi.py::test_full_loop_no_noise", kNone, 0, 0.3301, 1e-3}},
      {"dpm_multi_full_loop_no_noise_thres",
       {"test_scheduler_dpm_multi.py::test_full_loop_no_noise_thres", kNone, 0, 1.1364, 1e-3}},
      {"dpm_multi_full_loop_with_v_prediction",
       {"test_scheduler_dpm_multi.py::test_full_loop_with_v_prediction", kNone, 0, 0.2251, 1e-3}},
      {"dpm_multi_full_loop_with_karras_and_v_prediction",
       {"test_scheduler_dpm_multi.py::test_full_loop_with_karras_and_v_prediction", kNone, 0, 0.2096, 1e-3}},
      {"ddim_full_loop_no_noise", {"test_scheduler_ddim.py::test_full_loop_no_noise", 172.0067, 1e-2, 0.223967, 1e-3}},
      {"ddim_full_loop_with_v_prediction",
       {"test_scheduler_ddim.py::test_full_loop_with_v_prediction", 52.5302, 1e-2, 0.0684, 1e-3}},
      {"ddim_full_loop_with_set_alpha_to_one",
       {"test_scheduler_ddim.py::test_full_loop_with_set_alpha_to_one", 149.8295, 1e-2, 0.1951, 1e-3}},
      {"ddim_full_loop_with_no_set_alpha_to_one",
       {"test_scheduler_ddim.py::test_full_loop_with_no_set_alpha_to_one", 149.0784, 1e-2, 0.1941, 1e-3}},
      {"ddpm_full_loop_no_noise", {"test_scheduler_ddpm.py::test_full_loop_no_noise", 258.9606, 1e-2, 0.3372, 1e-3}},
      {"ddpm_full_loop_with_v_prediction",
       {"test_scheduler_ddpm.py::test_full_loop_with_v_prediction", 202.0296, 1e-2, 0.2631, 1e-3}},
  };
  return table;
}

NoiseSchedule schedule_of(const Json& c) { return NoiseSchedule::from_config(c.at("schedule")); }

// The draws of diffusers' stochastic full loops: torch.randn in float32 from a generator seeded 0 once
// (torch.manual_seed(0)), one draw per noisy step, in the run's dtype.
StepNoise torch_seed0_draws() {
  auto gen = std::make_shared<at::Generator>(at::make_generator<at::CPUGeneratorImpl>(0));
  return [gen](int64_t, const at::Tensor& like) {
    return at::randn(like.sizes(), *gen, like.options().dtype(at::kFloat)).to(like.scalar_type());
  };
}

at::Tensor run_case(const Json& c, at::ScalarType dtype) {
  SampleContext ctx;
  ctx.schedule = schedule_of(c);
  ctx.prediction = parse_prediction(c.at("prediction").get<std::string>(), "prediction");
  if (c.at("noise") == "torch_seed0") ctx.step_noise = torch_seed0_draws();
  const at::Tensor x = testing::diffusers_sample_deter(c.at("sample_shape").get<std::vector<int64_t>>(), dtype);
  SampleStats stats;
  return make_sampler(c.at("sampler").get<std::string>(), c.at("sampler_params"))
      ->sample(testing::diffusers_test_denoise(), x, ctx, stats);
}

TEST(SamplerDiffusers, PublishedFullLoopValuesHold) {
  int64_t checked = 0;
  for (const Json& c : sampler_fixture().at("diffusers_cases")) {
    const std::string name = c.at("name").get<std::string>();
    if (c.at("sampler") == "euler") continue;  // diffusers' Euler loop differs: EulerTestLoopValuesHold
    ASSERT_TRUE(published().count(name)) << name << " has no published value quoted here";
    const Published& pub = published().at(name);
    const at::Tensor y = run_case(c, at::kDouble);
    const double sum = y.abs().sum().item<double>(), mean = y.abs().mean().item<double>();
    std::printf("[diffusers] %-50s published sum %-10s mean %-9s | ours sum %.4f mean %.6f\n", name.c_str(),
                std::isnan(pub.sum) ? "-" : std::to_string(pub.sum).c_str(), std::to_string(pub.mean).c_str(), sum,
                mean);
    if (!std::isnan(pub.sum)) {
      EXPECT_NEAR(sum, pub.sum, pub.sum_tol) << pub.test;
    }
    EXPECT_NEAR(mean, pub.mean, pub.mean_tol) << pub.test;
    // The float64 transcription of the same run.
    EXPECT_NEAR(sum, c.at("sum_abs").get<double>(), 1e-9 * c.at("sum_abs").get<double>()) << name;
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int64_t>(published().size()));
}

TEST(SamplerDiffusers, DdpmWithLibTorchsGeneratorDrawsAsPythonTorch) {
  // The production path: float32 and the context's generator seeded 0 draw what torch.manual_seed(0) draws
  // in diffusers' test, so the published value holds without a substituted noise.
  for (const Json& c : sampler_fixture().at("diffusers_cases")) {
    if (c.at("sampler") != "ddpm") continue;
    const Published& pub = published().at(c.at("name").get<std::string>());
    SampleContext ctx;
    ctx.schedule = schedule_of(c);
    ctx.prediction = parse_prediction(c.at("prediction").get<std::string>(), "prediction");
    ctx.generator = at::make_generator<at::CPUGeneratorImpl>(0);
    SampleStats stats;
    // LibTorch's randn stream, the one Python torch draws (the fast default stream differs).
    Json params = c.at("sampler_params");
    params["noise_draws"] = "torch";
    const at::Tensor y = make_sampler("ddpm", params)
                             ->sample(testing::diffusers_test_denoise(),
                                      testing::diffusers_sample_deter({4, 3, 8, 8}, at::kFloat), ctx, stats);
    EXPECT_EQ(stats.nfe, 1000);
    EXPECT_NEAR(y.abs().sum().item<double>(), pub.sum, pub.sum_tol) << pub.test;
    EXPECT_NEAR(y.abs().mean().item<double>(), pub.mean, pub.mean_tol) << pub.test;
  }
}

// diffusers' Euler full loop (test_scheduler_euler.py::full_loop) assigns the scaled model input back to
// the sample (`sample = scheduler.scale_model_input(sample, t)`) and then steps on it, so each step divides
// the running sample by sqrt(sigma^2 + 1) once more than Euler does. This reproduces that loop on vdlab's
// Euler: a post-step hook divides the sample by the next step's sqrt(sigma^2 + 1) (the assignment), and the
// model is called on the sample the step is taken on (Euler hands it that sample divided by the same
// factor, which the wrapper undoes).
class DiffusersEulerTestLoop : public StepHook {
 public:
  explicit DiffusersEulerTestLoop(std::vector<double> c_in) : c_in_(std::move(c_in)) {}
  void after_step(StepView& view) override {
    if (static_cast<size_t>(view.step) + 1 < c_in_.size())
      view.sample = view.sample / c_in_[static_cast<size_t>(view.step) + 1];
  }

 private:
  std::vector<double> c_in_;
};

Denoise on_unscaled_input(Denoise model, std::vector<double> c_in) {
  auto step = std::make_shared<size_t>(0);
  return [model = std::move(model), c_in = std::move(c_in), step](const at::Tensor& x, const at::Tensor& t) {
    return model(x * c_in.at((*step)++), t);
  };
}

TEST(SamplerDiffusers, EulerTestLoopValuesHold) {
  const std::map<std::string, Published> euler = {
      {"euler_full_loop_no_noise", {"test_scheduler_euler.py::test_full_loop_no_noise", 10.0807, 1e-2, 0.0131, 1e-3}},
      {"euler_full_loop_with_v_prediction",
       {"test_scheduler_euler.py::test_full_loop_with_v_prediction", 0.0002, 1e-2, 2.2676e-06, 1e-3}},
      {"euler_full_loop_device_karras_sigmas",
       {"test_scheduler_euler.py::test_full_loop_device_karras_sigmas", 124.52299499511719, 1e-2,
        0.16213932633399963, 1e-3}},
  };
  int64_t checked = 0;
  for (const Json& c : sampler_fixture().at("diffusers_cases")) {
    if (c.at("sampler") != "euler") continue;
    const std::string name = c.at("name").get<std::string>();
    const Published& pub = euler.at(name);
    const NoiseSchedule sched = schedule_of(c);
    const Json& params = c.at("sampler_params");
    const int64_t steps = params.at("steps").get<int64_t>();
    // The sigmas vdlab's Euler steps through (linspace spacing), to know each step's input scaling.
    const std::vector<double> table = sigma_table(sched);
    const std::vector<double> ts = euler_timesteps(sched.num_train_timesteps, steps, "linspace", 0);
    std::vector<double> sig;
    for (double t : ts) sig.push_back(interpolate(table, t));
    if (params.at("karras").get<bool>()) sig = karras_sigmas(sig.front(), sig.back(), steps);
    std::vector<double> c_in;
    for (double s : sig) c_in.push_back(std::sqrt(s * s + 1.0));

    const StepHooks hooks({std::make_shared<DiffusersEulerTestLoop>(c_in)});
    SampleContext ctx;
    ctx.schedule = sched;
    ctx.prediction = parse_prediction(c.at("prediction").get<std::string>(), "prediction");
    ctx.hooks = &hooks;
    SampleStats stats;
    // The sampler scales its input by init_noise_sigma itself; the loop's first sample is that divided by c_0.
    const at::Tensor x = testing::diffusers_sample_deter({4, 3, 8, 8}) / c_in.front();
    const at::Tensor y =
        make_sampler("euler", params)->sample(on_unscaled_input(testing::diffusers_test_denoise(), c_in), x, ctx, stats);
    const double sum = y.abs().sum().item<double>(), mean = y.abs().mean().item<double>();
    std::printf("[diffusers] %-50s published sum %.4f mean %.6g | ours sum %.4f mean %.6g\n", name.c_str(), pub.sum,
                pub.mean, sum, mean);
    EXPECT_NEAR(sum, pub.sum, pub.sum_tol) << pub.test;
    EXPECT_NEAR(mean, pub.mean, pub.mean_tol) << pub.test;
    // Euler proper (no hooks) against the float64 transcription.
    EXPECT_NEAR(run_case(c, at::kDouble).abs().sum().item<double>(), c.at("sum_abs").get<double>(),
                1e-9 * c.at("sum_abs").get<double>())
        << name;
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

TEST(SamplerDiffusers, EulerKarrasKeepsFractionalTimesteps) {
  // diffusers' EulerDiscreteScheduler feeds the model the fractional timestep of each Karras sigma (in
  // float32); rounding it evaluates the network at another noise level than the step uses.
  const NoiseSchedule sched = NoiseSchedule::linear();
  const std::vector<double> ts = make_sampler("euler", {{"steps", 10}, {"karras", true}})->timesteps(sched);
  const std::vector<double> table = sigma_table(sched);
  std::vector<double> log_sigmas;
  for (double v : table) log_sigmas.push_back(std::log(v));
  const std::vector<double> sig = karras_sigmas(table.back(), table.front(), 10);
  ASSERT_EQ(ts.size(), 10u);
  int64_t fractional = 0;
  for (size_t i = 0; i < ts.size(); ++i) {
    EXPECT_EQ(ts[i], static_cast<double>(static_cast<float>(sigma_to_timestep(sig[i], log_sigmas)))) << i;
    fractional += ts[i] != std::floor(ts[i]);
  }
  EXPECT_GE(fractional, 8);
}

TEST(SamplerDiffusers, MultistepKarrasTimestepsAreRoundedLogSigmaInterpolation) {
  for (const std::string name : {"dpmsolver++", "unipc"}) {
    for (const std::string kind : {"linear", "squaredcos_cap_v2"}) {
      const NoiseSchedule sched = NoiseSchedule::from_config({{"betas", kind}});
      const std::vector<double> ts =
          make_sampler(name, {{"steps", 10}, {"karras", true}, {"spacing", "trailing"}})->timesteps(sched);
      const std::vector<double> table = sigma_table(sched);
      std::vector<double> log_sigmas;
      for (double v : table) log_sigmas.push_back(std::log(v));
      const std::vector<double> sig = karras_sigmas(table.back(), table.front(), 10);
      ASSERT_EQ(ts.size(), 10u);
      EXPECT_EQ(ts.front(), 999.0) << name << " " << kind;
      for (size_t i = 0; i < ts.size(); ++i) {
        const double t = sigma_to_timestep(sig[i], log_sigmas);
        // Rounded, except under the cosine schedule (truncated, as the reference's int64 cast does).
        EXPECT_EQ(ts[i], kind == "linear" ? std::nearbyint(t) : std::trunc(t)) << name << " " << kind << " " << i;
      }
    }
  }
}

TEST(SamplerDiffusers, MultistepKarrasSamplesWithTheModelAtItsTimesteps) {
  for (const std::string name : {"dpmsolver++", "unipc"}) {
    const SamplerPtr s = make_sampler(name, {{"steps", 8}, {"karras", true}, {"final_sigma", "sigma_min"}});
    SampleContext ctx;
    std::vector<double> seen;
    const Denoise fn = [&](const at::Tensor& x, const at::Tensor& t) {
      seen.push_back(t[0][0].item<double>());
      return testing::diffusers_test_denoise()(x, t);
    };
    SampleStats stats;
    const at::Tensor y = s->sample(fn, testing::diffusers_sample_deter({1, 2, 4, 4}), ctx, stats);
    EXPECT_EQ(seen, s->timesteps(ctx.schedule)) << name;
    EXPECT_TRUE(at::isfinite(y).all().item<bool>()) << name;
    // Per-frame timesteps carry no sigmas of their own: the combination is refused.
    SampleContext per_frame;
    per_frame.frame_timesteps = at::full({8, 1, 1}, 500.0, at::kDouble);
    EXPECT_THROW(s->sample(fn, testing::diffusers_sample_deter({1, 2, 4, 4}), per_frame, stats), ConfigError) << name;
  }
}

// Records the sample after the first step.
class FirstStep : public StepHook {
 public:
  void after_step(StepView& view) override {
    if (view.step == 0) sample = view.sample.clone();
  }
  at::Tensor sample;
};

TEST(SamplerDiffusers, DdpmStepsToTheNextListedTimestep) {
  // diffusers' DDPMScheduler.previous_timestep is the next listed timestep. Under linspace spacing with
  // 10 steps the list is 999, 888, ..., 0, so the first step goes to 888, not to 999 - 1000 // 10 = 899.
  const NoiseSchedule sched = NoiseSchedule::linear();
  for (const std::string spacing : {"linspace", "trailing", "leading"}) {
    const SamplerPtr s = make_sampler("ddpm", {{"steps", 10}, {"spacing", spacing}, {"clip_sample", false}});
    const std::vector<double> ts = s->timesteps(sched);
    auto hook = std::make_shared<FirstStep>();
    const StepHooks hooks({hook});
    SampleContext ctx;
    ctx.prediction = Prediction::x0;
    ctx.hooks = &hooks;
    ctx.step_noise = [](int64_t, const at::Tensor& like) { return at::zeros_like(like); };
    const at::Tensor x = at::ones({1, 1, 1, 1, 1}, at::kDouble);
    SampleStats stats;
    // A model predicting x0 = 0: the step leaves sqrt(a_t / a_prev) (1 - a_prev) / (1 - a_t) x.
    s->sample([](const at::Tensor& xi, const at::Tensor&) { return at::zeros_like(xi); }, x, ctx, stats);
    const double a_t = sched.alphas_cumprod[static_cast<size_t>(ts[0])];
    const double a_p = sched.alphas_cumprod[static_cast<size_t>(ts[1])];
    EXPECT_NEAR(hook->sample.item<double>(), std::sqrt(a_t / a_p) * (1 - a_p) / (1 - a_t), 1e-12) << spacing;
  }
}

TEST(SamplerDiffusers, ThresholdBelowOneIsTheMaximumItself) {
  // diffusers clamps the quantile to [1, sample_max_value]; with sample_max_value < 1 (0.5 in
  // test_full_loop_no_noise_thres) torch.clamp gives the maximum, which vdlab accepts and matches.
  EXPECT_NO_THROW(make_sampler("dpmsolver++", {{"thresholding", true}, {"sample_max", 0.5}}));
  EXPECT_THROW(make_sampler("dpmsolver++", {{"thresholding", true}, {"sample_max", 0.0}}), ConfigError);
}

}  // namespace
}  // namespace vdlab
