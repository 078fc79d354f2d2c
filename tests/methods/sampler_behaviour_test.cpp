// Sampler contracts beyond the oracle: registry contents, refusals, hooks, NFE, guidance, dtype.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <limits>

#include "core/error.h"
#include "methods/backbone/blank_caption.h"
#include "methods/backbone/analytic.h"
#include "methods/method.h"
#include "methods/samplers/guidance.h"
#include "methods/samplers/sampler.h"
#include "sampler_test_support.h"

namespace vdlab {
namespace {

using testing::make_sampler;

TEST(SamplerRegistry, EveryBuiltinIsRegisteredWithDocumentedParameters) {
  register_builtin_methods();
  for (const char* name : {"ddpm", "ddim", "euler", "dpmsolver++", "unipc"}) {
    ASSERT_TRUE(sampler_registry().contains(name)) << name;
    for (const ParamSpec& s : sampler_registry().get(name).params) EXPECT_FALSE(s.help.empty()) << name << "." << s.name;
  }
  for (const char* name : {"diffusers-test", "gaussian", "gaussian-mixture"}) EXPECT_TRUE(backbone_registry().contains(name)) << name;
  for (const char* name : {"uniform", "correlated-noise"}) EXPECT_TRUE(method_registry().contains(name)) << name;
  EXPECT_THROW(make_sampler("unipc", {{"variant", "bh3"}}), ConfigError);
  EXPECT_THROW(make_sampler("unipc", {{"order", 4}}), ConfigError);
  EXPECT_THROW(make_sampler("unpic"), ConfigError);
}

TEST(SamplerRegistry, Bh1WithZeroFinalSigmaIsRefusedWithAClearMessage) {
  try {
    make_sampler("unipc", {{"variant", "bh1"}, {"final_sigma", "zero"}});
    FAIL() << "bh1 with final_sigma zero was accepted";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("sampler.variant"), std::string::npos) << msg;
    EXPECT_NE(msg.find("bh1 with final_sigma zero"), std::string::npos) << msg;
    EXPECT_NE(msg.find("sigma_min"), std::string::npos) << msg;
  }
  // The same variant with sigma_min runs and stays finite.
  SampleContext ctx;
  SampleStats stats;
  const at::Tensor x = at::randn({1, 2, 3, 2, 2}, at::kDouble);
  const at::Tensor y = make_sampler("unipc", {{"variant", "bh1"}, {"final_sigma", "sigma_min"}, {"steps", 10}})
                           ->sample(testing::oracle_denoise(), x, ctx, stats);
  EXPECT_TRUE(at::isfinite(y).all().item<bool>());
  EXPECT_THROW(make_sampler("unipc", {{"predict_x0", false}, {"final_sigma", "zero"}}), ConfigError);
}

TEST(SamplerNonFinite, EverySamplerStopsAtTheFirstNonFiniteModelOutput) {
  // A model that returns Inf in 3 values and NaN in 4 once the timestep falls below 400.
  const Denoise failing = [](const at::Tensor& x, const at::Tensor& t) {
    at::Tensor out = testing::oracle_denoise()(x, t).contiguous();
    if (t.max().item<double>() < 400) {
      out.view(-1).slice(0, 0, 3).fill_(std::numeric_limits<double>::infinity());
      out.view(-1).slice(0, 3, 7).fill_(std::numeric_limits<double>::quiet_NaN());
    }
    return out;
  };
  for (const char* name : {"ddpm", "ddim", "euler", "dpmsolver++", "unipc"}) {
    const SamplerPtr s = make_sampler(name, {{"steps", 8}});
    SampleContext ctx;
    ctx.generator = at::make_generator<at::CPUGeneratorImpl>(1);
    const std::vector<double> ts = s->timesteps(ctx.schedule);
    std::size_t first = 0;
    while (ts[first] >= 400) ++first;
    SampleStats stats;
    try {
      s->sample(failing, at::randn({2, 2, 3, 4, 4}, at::kDouble), ctx, stats);
      ADD_FAILURE() << name << ": no error";
    } catch (const NumericError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind("sampling step " + std::to_string(first + 1) + " of 8 (t=", 0), 0u) << name << ": " << msg;
      EXPECT_NE(msg.find("): the model output has 7 non-finite values (NaN or Inf) of 192"), std::string::npos)
          << name << ": " << msg;
    }
  }
}

TEST(SamplerNonFinite, HugeFiniteOutputsAndSubnormalsAreNotAnError) {
  // The check reads exponent bits: the largest floats (whose sum overflows) and subnormals are finite.
  const Denoise huge = [](const at::Tensor& x, const at::Tensor&) { return at::full_like(x, 3e38); };
  const SamplerPtr s = make_sampler("ddim", {{"steps", 2}});
  SampleContext ctx;
  SampleStats stats;
  EXPECT_NO_THROW(s->sample(huge, at::randn({2, 2, 3, 4, 4}, at::kFloat), ctx, stats));
  EXPECT_EQ(stats.nfe, 2);
  const Denoise tiny = [](const at::Tensor& x, const at::Tensor&) {
    return at::full_like(x, x.scalar_type() == at::kFloat ? 1e-45 : 5e-324);
  };
  for (const auto dtype : {at::kFloat, at::kDouble}) {
    SampleStats s2;
    EXPECT_NO_THROW(s->sample(tiny, at::randn({2, 2, 3, 4, 4}, dtype), ctx, s2)) << dtype;
  }
}

// Records what it sees and nudges the sample; switches the corrector off after step 2.
class RecordingHook : public StepHook {
 public:
  void before_denoise(StepView& v) override { ++denoise_calls; }
  void after_step(StepView& v) override {
    steps.push_back(v.step);
    history_sizes.push_back(static_cast<int64_t>(v.sample_history->size()));
    model_history_sizes.push_back(v.model_history ? static_cast<int64_t>(v.model_history->size()) : -1);
    if (edit) v.sample = v.sample + 0.01;
    if (v.step == 2) v.corrector_next = false;
  }
  int64_t history_length() const override { return 2; }
  bool edit = false;
  int64_t denoise_calls = 0;
  std::vector<int64_t> steps, history_sizes, model_history_sizes;
};

// Sees every step and changes nothing.
class WatchingHook : public StepHook {
 public:
  void after_step(StepView&) override { ++steps; }
  int64_t steps = 0;
};

TEST(SamplerHooks, UniPCCorrectorAndPredictorInOnePassEqualTheHookedPathBitwise) {
  // Without hooks, pinned or held frames UniPC runs its corrector and the next predictor in one pass
  // (FramePlan::combine_twice); a hook that changes nothing takes the step-by-step path: the same samples.
  for (const int64_t order : {1, 2, 3})
    for (const at::ScalarType dtype : {at::kFloat, at::kDouble}) {
      const at::Tensor x = at::randn({2, 2, 3, 4, 4}, dtype);
      const SamplerPtr s = make_sampler("unipc", {{"steps", 9}, {"order", order}});
      SampleContext plain;
      SampleStats st;
      const at::Tensor fused = s->sample(testing::oracle_denoise(), x, plain, st);
      auto hook = std::make_shared<WatchingHook>();
      StepHooks hooks({hook});
      SampleContext hooked;
      hooked.hooks = &hooks;
      const at::Tensor stepwise = s->sample(testing::oracle_denoise(), x, hooked, st);
      EXPECT_EQ(hook->steps, 9);
      EXPECT_TRUE(at::equal(fused, stepwise)) << "order " << order << ", " << dtype;
    }
}

TEST(SamplerHooks, HooksSeeEveryStepWithHistoryAndMayEdit) {
  const at::Tensor x = at::randn({1, 2, 3, 2, 2}, at::kDouble);
  auto hook = std::make_shared<RecordingHook>();
  StepHooks hooks({hook});
  SampleContext ctx;
  ctx.hooks = &hooks;
  SampleStats stats;
  const SamplerPtr s = make_sampler("unipc", {{"steps", 8}});
  const at::Tensor y0 = s->sample(testing::oracle_denoise(), x, ctx, stats);
  EXPECT_EQ(stats.nfe, 8);
  EXPECT_EQ(stats.steps, 8);
  EXPECT_EQ(hook->denoise_calls, 8);
  EXPECT_EQ(hook->steps, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(hook->history_sizes, (std::vector<int64_t>{0, 1, 2, 2, 2, 2, 2, 2}));
  EXPECT_EQ(hook->model_history_sizes.front(), 1);
  EXPECT_EQ(hook->model_history_sizes.back(), 2);
  // Turning the corrector off at one step changes the result; an edit changes it too.
  SampleContext plain;
  SampleStats st2;
  const at::Tensor y_plain = s->sample(testing::oracle_denoise(), x, plain, st2);
  EXPECT_FALSE(at::equal(y0, y_plain));
  const at::Tensor y_disabled =
      make_sampler("unipc", {{"steps", 8}, {"disable_corrector", {2}}})->sample(testing::oracle_denoise(), x, plain, st2);
  EXPECT_TRUE(at::equal(y0, y_disabled));  // the hook switched off the corrector of step 2's result
  hook->edit = true;
  const at::Tensor y_edit = s->sample(testing::oracle_denoise(), x, ctx, stats);
  EXPECT_FALSE(at::equal(y_edit, y0));
}

TEST(SamplerHooks, StochasticSamplersAreDeterministicFromTheGenerator) {
  const at::Tensor x = at::randn({1, 2, 3, 2, 2}, at::kFloat);
  for (const char* name : {"ddpm", "ddim"}) {
    auto run = [&](uint64_t seed) {
      SampleContext ctx;
      ctx.generator = at::make_generator<at::CPUGeneratorImpl>(seed);
      SampleStats stats;
      return make_sampler(name, {{"steps", 10}, {"eta", 1.0}})->sample(testing::oracle_denoise(), x, ctx, stats);
    };
    if (std::string(name) == "ddpm") {
      auto runp = [&](uint64_t seed) {
        SampleContext ctx;
        ctx.generator = at::make_generator<at::CPUGeneratorImpl>(seed);
        SampleStats stats;
        return make_sampler(name, {{"steps", 10}})->sample(testing::oracle_denoise(), x, ctx, stats);
      };
      EXPECT_TRUE(at::equal(runp(1), runp(1)));
      EXPECT_FALSE(at::equal(runp(1), runp(2)));
      continue;
    }
    EXPECT_TRUE(at::equal(run(1), run(1)));
    EXPECT_FALSE(at::equal(run(1), run(2)));
    EXPECT_EQ(run(1).scalar_type(), at::kFloat);
  }
}

// A conditional toy backbone: output = x + label (label -1 = unconditional).
class LabelBackbone : public DiffusersTestBackbone {
 public:
  LabelBackbone() : DiffusersTestBackbone(2, NoiseSchedule::linear().to_config()) {}
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const Conditioning& c) override {
    ++forwards;
    batch_seen = x.size(0);
    return x + c.labels.to(x.scalar_type()).reshape({-1, 1, 1, 1, 1});
  }
  bool conditional() const override { return true; }
  int64_t forwards = 0, batch_seen = 0;
};

TEST(SamplerGuidance, ClassifierFreeGuidanceCombinesBothBranchesInOneForward) {
  LabelBackbone bb;
  Conditioning cond;
  cond.labels = at::tensor(std::vector<int64_t>{3, 5}, at::kLong);
  DenoiseCounter counter;
  const Denoise fn = guided_denoise(bb, cond, 2.5, &counter);
  const at::Tensor x = at::zeros({2, 2, 3, 2, 2}, at::kDouble);
  const at::Tensor out = fn(x, at::full({2, 3}, 10.0, at::kDouble));
  // u + s (c - u) with c = label, u = -1: -1 + 2.5 (label + 1).
  EXPECT_DOUBLE_EQ(out[0][0][0][0][0].item<double>(), -1 + 2.5 * 4);
  EXPECT_DOUBLE_EQ(out[1][0][0][0][0].item<double>(), -1 + 2.5 * 6);
  EXPECT_EQ(bb.forwards, 1);
  EXPECT_EQ(bb.batch_seen, 4);
  EXPECT_EQ(counter.calls, 1);
  EXPECT_EQ(counter.forwards, 2);
  const Denoise plain = guided_denoise(bb, cond, 1.0, &counter);
  EXPECT_DOUBLE_EQ(plain(x, at::full({2, 3}, 10.0, at::kDouble))[1][0][0][0][0].item<double>(), 5.0);
  EXPECT_EQ(counter.forwards, 3);
}

// A caption backbone that records the captions of each forward: output = x + (caption is blank ? 0 : 1).
class CaptionBackbone : public DiffusersTestBackbone {
 public:
  CaptionBackbone() : DiffusersTestBackbone(2, NoiseSchedule::linear().to_config()) {}
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const Conditioning& c) override {
    seen.push_back(c.captions);
    labels_defined = labels_defined || c.labels.defined();
    std::vector<double> shift;
    for (const auto& caption : c.captions) shift.push_back(caption == blank_caption() ? 0.0 : 1.0);
    return x + at::tensor(shift, at::kDouble).to(x.scalar_type()).reshape({-1, 1, 1, 1, 1});
  }
  bool conditional() const override { return true; }
  std::vector<std::vector<std::string>> seen;
  bool labels_defined = false;
};

TEST(SamplerGuidance, UnconditionalHalfGetsTheBlankCaption) {
  CaptionBackbone bb;
  Conditioning cond;
  cond.captions = {"a red circle moving left", "a blue square moving up"};
  DenoiseCounter counter;
  const Denoise fn = guided_denoise(bb, cond, 5.0, &counter);
  const at::Tensor x = at::zeros({2, 2, 3, 2, 2}, at::kDouble);
  const at::Tensor out = fn(x, at::full({2, 3}, 10.0, at::kDouble));
  ASSERT_EQ(bb.seen.size(), 1u);
  const std::vector<std::string> expect = {"a red circle moving left", "a blue square moving up", "", ""};
  EXPECT_EQ(bb.seen[0], expect);
  EXPECT_EQ(blank_caption(), "");  // what training's condition dropout gives a dropped caption
  EXPECT_FALSE(bb.labels_defined);
  // u + s (c - u) with c = 1, u = 0: the guidance scale shows in the output.
  EXPECT_DOUBLE_EQ(out[0][0][0][0][0].item<double>(), 5.0);
  EXPECT_EQ(counter.forwards, 2);
  // Scale 1 is a plain forward with the real captions only.
  const Denoise plain = guided_denoise(bb, cond, 1.0, &counter);
  plain(x, at::full({2, 3}, 10.0, at::kDouble));
  EXPECT_EQ(bb.seen.back(), cond.captions);
}

}  // namespace
}  // namespace vdlab
