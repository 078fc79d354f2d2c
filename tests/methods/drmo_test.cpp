// Dr.Mo (methods/drmo/): motion matrices, NMI, the switch-step rule, the learned selector, and the reuse
// sampler's two guarantees: with no reuse it is full per-frame denoising bitwise, and its network
// evaluations per frame fall exactly as the step counts say.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <cmath>

#include "methods/drmo/learned_selector.h"
#include "methods/drmo/motion_matrix.h"
#include "methods/drmo/nmi_curve.h"
#include "methods/drmo/step_selector.h"
#include "methods/method.h"
#include "metrics/nmi.h"

namespace vdlab {
namespace {

at::Tensor random_map(uint64_t seed, std::vector<int64_t> shape) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randn(shape, gen, at::kDouble);
}

TEST(DrmoMotionMatrix, IdenticalResidualsGiveTheIdentityAndNmiOne) {
  // 16 channels: with patch 1 each token has 16 values, so no two random tokens are nearly parallel.
  const at::Tensor dz = random_map(1, {2, 16, 8, 8});
  for (int64_t patch : {1, 2}) {
    const at::Tensor m = motion_matrix(dz, dz, patch);
    const int64_t n = (8 / patch) * (8 / patch);
    ASSERT_EQ(m.size(1), n);
    // L2-normalised tokens: every token's cosine with itself is 1 and no other token beats it.
    EXPECT_TRUE(at::allclose(at::diagonal(m, 0, 1, 2), at::ones({2, n}, at::kDouble), 0, 1e-12));
    EXPECT_TRUE(at::equal(m.argmax(1), at::arange(n).expand({2, n})));
    const at::Tensor p = transition_matrix(m, 0.01);
    EXPECT_TRUE(at::allclose(p, at::eye(n, at::kDouble).expand({2, n, n}), 0, 1e-6)) << "patch " << patch;
    EXPECT_TRUE(at::allclose(transform(dz, p, patch), dz, 0, 1e-6));
    const at::Tensor one = m.select(0, 0).contiguous();
    EXPECT_DOUBLE_EQ(nmi(one.data_ptr<double>(), one.data_ptr<double>(), size_t(one.numel())), 1.0);
  }
}

TEST(DrmoMotionMatrix, AResidualShiftedByOneTokenGivesTheShiftPermutation) {
  const at::Tensor a = random_map(2, {1, 3, 4, 8});
  const int64_t patch = 2;  // 2 x 4 tokens; a shift by 2 pixels along W moves every token one place
  const at::Tensor b = at::roll(a, {2}, {3});
  const at::Tensor m = motion_matrix(a, b, patch);
  const int64_t n = 8;
  at::Tensor expected = at::zeros({n, n}, at::kDouble);  // P[m, n] = 1 where token n of b is token m of a
  for (int64_t row = 0; row < 2; ++row)
    for (int64_t col = 0; col < 4; ++col) expected[row * 4 + (col + 3) % 4][row * 4 + col] = 1.0;
  EXPECT_TRUE(at::equal(m.select(0, 0).argmax(0), expected.argmax(0)));
  const at::Tensor p = transition_matrix(m, 0.01);
  EXPECT_TRUE(at::allclose(p.select(0, 0), expected, 0, 1e-6));
  EXPECT_TRUE(at::allclose(transform(a, p, patch), b, 0, 1e-6));
  EXPECT_LT(transformation_error(a, b, p, patch).item<double>(), 1e-6);
  EXPECT_GT(transformation_error(a, b, transition_matrix(motion_matrix(a, a, patch), 0.01), patch).item<double>(), 0.5);
}

TEST(DrmoNmi, IndependentUniformLabelsScoreNearZero) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const int64_t n = 200000;
  const at::Tensor x = (at::rand({n}, gen, at::kDouble) * 2 - 1).contiguous();
  const at::Tensor y = (at::rand({n}, gen, at::kDouble) * 2 - 1).contiguous();
  const double v = nmi(x.data_ptr<double>(), y.data_ptr<double>(), size_t(n));
  EXPECT_GE(v, 0.0);
  EXPECT_LT(v, 0.01);  // the finite-sample bias of 64 x 64 bins over 2e5 draws is about 0.005
  // Consecutive identical matrices score 1 on the curve; independent ones near 0.
  const NmiCurves c = nmi_curves({x.view({400, 500}), x.view({400, 500}), y.view({400, 500})});
  ASSERT_EQ(c.next.size(), 2u);
  EXPECT_DOUBLE_EQ(c.next[0], 1.0);
  EXPECT_LT(c.next[1], 0.01);
  EXPECT_DOUBLE_EQ(c.to_last[2], 1.0);
}

TEST(DrmoStepSelector, TheRulePicksTheKnownMinimumOfAnErrorCurve) {
  const std::vector<double> ts = {999, 749, 499, 249, 0};
  // log(e t) e_t with beta = e: 7.91, 3.81, 1.44, 1.96, 2.0 -> step 2.
  EXPECT_EQ(rule_switch_step(ts, {1.0, 0.5, 0.2, 0.3, 2.0}, std::exp(1.0)), 2);
  // The last step weighs log(beta): a small error there wins.
  EXPECT_EQ(rule_switch_step(ts, {1.0, 0.5, 0.2, 0.3, 1.0}, std::exp(1.0)), 4);
  // Non-finite errors are skipped.
  EXPECT_EQ(rule_switch_step(ts, {1.0, 0.5, NAN, 0.3, 2.0}, std::exp(1.0)), 3);
  EXPECT_THROW(rule_switch_step(ts, {1, 1, 1, 1, 1}, 1.0), ConfigError);  // log(1 * 1) = 0 at the last step
  EXPECT_EQ(fixed_switch_step(ts, 1000), 0);
  EXPECT_EQ(fixed_switch_step(ts, 900), 1);
  EXPECT_EQ(fixed_switch_step(ts, 250), 3);
  EXPECT_EQ(fixed_switch_step(ts, 200), 4);
  EXPECT_EQ(fixed_switch_step(ts, 1), 4);
  EXPECT_THROW(fixed_switch_step({999, 500, 10}, 5), ConfigError);
}

TEST(DrmoLearnedSelector, LearnsTheRuleOnSyntheticCurvesAndReportsHeldOutAccuracy) {
  // Error curves with one dip at a random step; the label is the rule's choice.
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(4);
  const std::vector<double> ts = {999, 799, 599, 399, 199, 0};
  std::vector<SelectorExample> examples;
  at::set_num_threads(1);  // a tiny network: threads only add contention
  for (int i = 0; i < 80; ++i) {
    const int64_t dip = at::randint(0, 5, {1}, gen).item<int64_t>();
    SelectorExample e;
    std::vector<double> errors;
    for (int64_t k = 0; k < 6; ++k) {
      const double err = k == dip ? 0.05 : 1.0 + 0.1 * at::rand({1}, gen).item<double>();
      errors.push_back(err);
      e.steps.push_back({err, 0.5, (ts[size_t(k)] + 1) / 1000.0});
    }
    e.label = rule_switch_step(ts, errors, std::exp(1.0));
    examples.push_back(e);
  }
  LearnedSelectorOptions o;
  o.epochs = 80;
  o.hidden = 16;
  o.mask = 0.1;
  auto [selector, report] = LearnedSelector::train(examples, 6, o);
  EXPECT_EQ(report.heldout_examples, 20);
  EXPECT_GT(report.heldout_accuracy, 0.6);  // chance is about 0.2
  auto [again, report2] = LearnedSelector::train(examples, 6, o);
  EXPECT_EQ(report.heldout_accuracy, report2.heldout_accuracy);  // seeded
}

BackbonePtr gaussian_backbone() {
  register_builtin_methods();
  return backbone_registry().make("gaussian", {}, "backbone")(BackboneContext{});
}

MethodPtr make_method(const std::string& name, const Json& params) {
  register_builtin_methods();
  return method_registry().make(name, params, "variant");
}

GenerateRequest request() {
  GenerateRequest r;
  r.count = 3;
  r.batch_size = 2;
  r.frames = 6;
  r.height = r.width = 8;
  r.seed = 5;
  return r;
}

TEST(DrmoReuse, NoReuseIsFullPerFrameDenoisingBitwise) {
  BackbonePtr backbone = gaussian_backbone();
  const Json sampler = {{"name", "ddim"}, {"steps", 10}};
  const GenerateResult full = make_method("uniform", {{"sampler", sampler}, {"noise", "iid"}})->generate(*backbone, request());
  const GenerateResult drmo =
      make_method("drmo", {{"sampler", sampler}, {"switch_t", 1000}, {"patch", 2}})->generate(*backbone, request());
  EXPECT_TRUE(at::equal(full.videos, drmo.videos));
  EXPECT_EQ(drmo.stats.at("drmo").at("nfe_per_frame").get<double>(), 10.0);
  // Reuse changes the videos.
  const GenerateResult reuse =
      make_method("drmo", {{"sampler", sampler}, {"switch_t", 400}, {"patch", 2}})->generate(*backbone, request());
  EXPECT_FALSE(at::equal(full.videos, reuse.videos));
  EXPECT_TRUE(at::isfinite(reuse.videos).all().item<bool>());
}

TEST(DrmoReuse, NfePerFrameFallsExactlyAsTheStepCountsPredict) {
  BackbonePtr backbone = gaussian_backbone();
  const GenerateRequest r = request();
  const int64_t steps = 10, refs = 2;
  double previous = 1e9;
  for (double t_star : {1000.0, 900.0, 600.0, 400.0, 200.0, 1.0}) {
    const GenerateResult g = make_method("drmo", {{"sampler", {{"name", "ddim"}, {"steps", steps}}},
                                                  {"switch_t", t_star}, {"patch", 2}})
                                 ->generate(*backbone, r);
    const Json& d = g.stats.at("drmo");
    std::vector<double> model_ts;
    for (const auto& t : d.at("t")) model_ts.push_back(t.get<double>() - 1.0);
    const int64_t k = fixed_switch_step(model_ts, t_star);
    // References: every step; the others: the steps from the switch on.
    const int64_t expected = r.count * (k == 0 ? r.frames * steps : refs * steps + (r.frames - refs) * (steps - k));
    EXPECT_EQ(d.at("frame_evaluations").get<int64_t>(), expected) << "t* = " << t_star;
    const double per_frame = d.at("nfe_per_frame").get<double>();
    EXPECT_DOUBLE_EQ(per_frame, double(expected) / double(r.count * r.frames));
    EXPECT_LE(per_frame, previous) << "t* = " << t_star;
    if (k > 0) {
      EXPECT_LT(per_frame, previous);
    }
    previous = per_frame;
    for (const auto& s : d.at("switch_steps")) EXPECT_EQ(s.get<int64_t>(), k);
  }
}

TEST(DrmoNmiHook, TheHookRecordsTheSameCurvesAsTheMethodOnAnyMethod) {
  BackbonePtr backbone = gaussian_backbone();
  const Json sampler = {{"name", "ddim"}, {"steps", 8}};
  const Json hook = {{"name", "nmi"}, {"pairs", {{0, 4}, {0, 9}}}, {"patch", 2}};
  const GenerateResult plain =
      make_method("uniform", {{"sampler", sampler}, {"noise", "iid"}, {"hooks", {hook}}})->generate(*backbone, request());
  const Json& h = plain.stats.at("hooks").at(0);
  ASSERT_TRUE(h.at("pairs").contains("0-4")) << h.dump();
  EXPECT_FALSE(h.at("pairs").contains("0-9"));  // beyond the 6 frames: left out
  const Json& next = h.at("pairs").at("0-4").at("next");
  ASSERT_EQ(next.size(), 7u);
  EXPECT_EQ(h.at("pairs").at("0-4").at("videos").get<int>(), 3);
  const GenerateResult drmo = make_method("drmo", {{"sampler", sampler}, {"switch_t", 1000}, {"patch", 2},
                                                   {"nmi_pairs", {{0, 4}}}})
                                  ->generate(*backbone, request());
  const Json& same = drmo.stats.at("drmo").at("nmi").at("0-4").at("next");
  for (size_t k = 0; k < 7; ++k) {
    EXPECT_GE(next[k].get<double>(), 0.0);
    EXPECT_LE(next[k].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(next[k].get<double>(), same[k].get<double>()) << "step " << k;
  }
  EXPECT_EQ(h.at("t").size(), 8u);
}

}  // namespace
}  // namespace vdlab
