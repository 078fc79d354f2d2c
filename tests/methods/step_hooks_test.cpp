// Step hooks: an edit of the model input is the sample the step and its conversions proceed from; the
// post-corrector callback sees the corrected sample; hooks are registered by name and measure.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"
#include "methods/hooks/hook_registry.h"
#include "methods/method.h"
#include "methods/samplers/frame_plan.h"
#include "methods/samplers/sampler.h"
#include "sampler_test_support.h"

namespace vdlab {
namespace {

using testing::make_sampler;

at::Tensor fixed_delta(const at::Tensor& like) {
  return 0.05 * at::sin(at::arange(like.numel(), like.options()).reshape(like.sizes()) * 0.37 + 0.2);
}

// Adds delta to the model input at step `edit_step` (before_denoise) ...
struct InputEdit : StepHook {
  int64_t edit_step;
  explicit InputEdit(int64_t s) : edit_step(s) {}
  void before_denoise(StepView& v) override {
    if (v.step == edit_step) v.sample = v.sample + fixed_delta(v.sample);
  }
};
// ... or to the sample after the step before it (after_step): the same sample reaches that step either way.
struct SampleEdit : StepHook {
  int64_t edit_step;
  explicit SampleEdit(int64_t s) : edit_step(s) {}
  void after_step(StepView& v) override {
    if (v.step == edit_step - 1) v.sample = v.sample + fixed_delta(v.sample);
  }
};

at::Tensor run_with(const SamplerPtr& s, const at::Tensor& x, std::shared_ptr<StepHook> hook) {
  const StepHooks hooks({std::move(hook)});
  SampleContext ctx;
  ctx.hooks = &hooks;
  ctx.step_noise = testing::oracle_step_noise();
  SampleStats st;
  return s->sample(testing::oracle_denoise(), x, ctx, st);
}

TEST(StepHooks, ModelInputEditIsTheSampleTheStepConvertsAndStepsFrom) {
  // An edit in before_denoise at step 3 and the same edit after step 2 give one trajectory: the network,
  // the conversion to x0 (UniPC's included) and the update all see the edited sample.
  const std::vector<std::pair<std::string, Json>> samplers = {
      {"unipc", {{"steps", 8}, {"order", 2}}},
      {"unipc", {{"steps", 8}, {"order", 3}, {"predict_x0", false}, {"final_sigma", "sigma_min"}}},
      {"dpmsolver++", {{"steps", 8}}},
      {"ddim", {{"steps", 8}, {"eta", 0.3}}},
      {"ddpm", {{"steps", 8}}},
  };
  const at::Tensor x = at::randn({2, 2, 3, 4, 4}, at::make_generator<at::CPUGeneratorImpl>(4), at::kDouble);
  for (const auto& [name, params] : samplers) {
    const SamplerPtr s = make_sampler(name, params);
    const at::Tensor a = run_with(s, x, std::make_shared<InputEdit>(3));
    const at::Tensor b = run_with(s, x, std::make_shared<SampleEdit>(3));
    EXPECT_TRUE(at::equal(a, b)) << name << " " << params.dump() << " max diff " << (a - b).abs().max().item<double>();
  }
  // Euler's model input is its VE sample scaled by 1 / sqrt(sigma^2 + 1); the edit, rescaled, becomes it.
  const SamplerPtr e = make_sampler("euler", {{"steps", 8}});
  const at::Tensor a = run_with(e, x, std::make_shared<InputEdit>(3));
  const at::Tensor plain = run_with(e, x, std::make_shared<InputEdit>(99));
  EXPECT_FALSE(at::allclose(a, plain, 1e-6, 1e-6));  // the edit reached the trajectory, not only the network
}

// Records what the post-corrector callback and the following step see.
struct CorrectorProbe : StepHook {
  int64_t probe_step;
  at::Tensor corrected, uncorrected, next, m_newest;
  bool replace = false;
  explicit CorrectorProbe(int64_t s, bool r = false) : probe_step(s), replace(r) {}
  void after_corrector(StepView& v) override {
    if (v.step != probe_step) return;
    corrected = v.sample;
    uncorrected = *v.uncorrected;
    if (replace) v.sample = *v.uncorrected;
  }
  void after_step(StepView& v) override {
    if (v.step != probe_step) return;
    next = v.sample;
    m_newest = v.model_history->back();
  }
};

TEST(StepHooks, PostCorrectorCallbackSeesTheCorrectedSample) {
  // UniPC order 1 (bh2, data prediction): the predictor steps x_{i+1} = (s_{i+1}/s_i) x - alpha_{i+1}
  // expm1(-h) m_i from the corrected sample; the callback's sample must be that x.
  const SamplerPtr s = make_sampler("unipc", {{"steps", 6}, {"order", 1}});
  const at::Tensor x = at::randn({1, 2, 2, 3, 3}, at::make_generator<at::CPUGeneratorImpl>(5), at::kDouble);
  const int64_t i = 3;
  auto probe = std::make_shared<CorrectorProbe>(i);
  run_with(s, x, probe);
  ASSERT_TRUE(probe->corrected.defined());
  EXPECT_FALSE(at::allclose(probe->corrected, probe->uncorrected));  // the corrector changed it
  SampleContext ctx;
  const std::vector<double> ts = s->timesteps(ctx.schedule);
  const std::vector<double> table = sigma_table(ctx.schedule);
  const double s_i = interpolate(table, ts[i]), s_n = interpolate(table, ts[i + 1]);
  const double h = std::log(vp_alpha(s_n) / vp_sigma(s_n)) - std::log(vp_alpha(s_i) / vp_sigma(s_i));
  const at::Tensor want = (vp_sigma(s_n) / vp_sigma(s_i)) * probe->corrected - vp_alpha(s_n) * std::expm1(-h) * probe->m_newest;
  EXPECT_TRUE(at::allclose(probe->next, want, 1e-12, 1e-12)) << (probe->next - want).abs().max().item<double>();
}

TEST(StepHooks, PostCorrectorEditReplacesTheCorrectedSample) {
  // Putting the uncorrected sample back in the callback is the run with that correction disabled.
  const SamplerPtr s = make_sampler("unipc", {{"steps", 8}, {"order", 2}});
  const SamplerPtr off = make_sampler("unipc", {{"steps", 8}, {"order", 2}, {"disable_corrector", Json::array({3})}});
  const at::Tensor x = at::randn({1, 2, 2, 3, 3}, at::make_generator<at::CPUGeneratorImpl>(6), at::kDouble);
  const at::Tensor a = run_with(s, x, std::make_shared<CorrectorProbe>(4, /*replace=*/true));
  const at::Tensor b = run_with(off, x, std::make_shared<CorrectorProbe>(99));
  EXPECT_TRUE(at::equal(a, b));
}

TEST(StepHooks, RegistryBuildsHooksByNameAndRefusesUnknownOnes) {
  register_builtin_methods();
  EXPECT_TRUE(hook_registry().contains("edit-probe"));
  EXPECT_NO_THROW(method_registry().make("uniform", {{"hooks", Json::array({{{"name", "edit-probe"}, {"step", 2}}})}}, "variants[0]"));
  try {
    method_registry().make("uniform", {{"hooks", Json::array({{{"name", "edit-prob"}}})}}, "variants[0]");
    FAIL() << "an unknown hook was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("variants[0].hooks[0]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("edit-probe"), std::string::npos) << e.what();
  }
  EXPECT_THROW(method_registry().make("uniform", {{"hooks", Json::array({{{"name", "edit-probe"}, {"stepp", 2}}})}}, "v"), ConfigError);
  EXPECT_THROW(method_registry().make("uniform", {{"hooks", Json::array({{{"name", "edit-probe"}, {"scale", -1.0}}})}}, "v"), ConfigError);
}

TEST(StepHooks, EditProbeMeasuresWhatTheCorrectorUndoes) {
  register_builtin_methods();
  BackbonePtr backbone = backbone_registry().make("gaussian", {}, "backbone")(BackboneContext{});
  GenerateRequest r;
  r.count = 4;
  r.batch_size = 2;
  r.frames = 3;
  r.height = r.width = 6;
  const Json probe = {{"name", "edit-probe"}, {"step", 4}, {"scale", 0.2}};
  const GenerateResult on = method_registry()
                                .make("uniform", {{"sampler", {{"name", "unipc"}, {"steps", 10}}}, {"hooks", Json::array({probe})}}, "v")
                                ->generate(*backbone, r);
  const Json& m = on.stats.at("hooks").at(0);
  EXPECT_EQ(m.at("name"), "edit-probe");
  EXPECT_EQ(m.at("runs"), 2);
  EXPECT_EQ(m.at("corrected_runs"), 2);
  EXPECT_NEAR(m.at("edit_rms").get<double>(), 0.2, 0.03);
  const double undone = m.at("undone_by_corrector").get<double>();
  EXPECT_GT(undone, 0.2) << m.dump();
  EXPECT_LT(undone, 1.2) << m.dump();
  // Without a corrector nothing is undone and nothing is measured.
  const GenerateResult off =
      method_registry()
          .make("uniform", {{"sampler", {{"name", "unipc"}, {"steps", 10}, {"corrector", false}}}, {"hooks", Json::array({probe})}}, "v")
          ->generate(*backbone, r);
  EXPECT_EQ(off.stats.at("hooks").at(0).at("corrected_runs"), 0);
  EXPECT_TRUE(off.stats.at("hooks").at(0).at("undone_by_corrector").is_null());
}

}  // namespace
}  // namespace vdlab
