// Training objectives: the base MSE plus registered loss terms on hand-computable tensors (seed 002's
// temporal consistency, VMC's motion distillation), their resolution, and seed 002's motion score.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "methods/training/motion_score.h"
#include "methods/training/objective.h"
#include "methods/training/stages.h"

namespace vdlab {
namespace {

LossTermPtr make_term(const Json& config) {
  const Json resolved = resolve_loss_terms(Json::array({config}), "loss");
  return loss_term_registry().make_resolved(resolved[0], "loss[0]");
}

// [B, 1, F, 1, 1] videos from per-video frame values.
torch::Tensor video(const std::vector<std::vector<float>>& frames) {
  std::vector<torch::Tensor> rows;
  for (const auto& f : frames) rows.push_back(torch::tensor(f));
  return torch::stack(rows).reshape({int64_t(frames.size()), 1, -1, 1, 1});
}

// An x0-predicting network's inputs at one noise level per video (alpha per video, all frames).
LossInputs x0_inputs(const torch::Tensor& predicted, const std::vector<float>& alpha) {
  LossInputs in;
  in.prediction = Prediction::x0;
  in.output = predicted;
  in.target = torch::zeros_like(predicted);
  const int64_t b = predicted.size(0), f = predicted.size(2);
  in.alpha = torch::tensor(alpha).reshape({b, 1, 1, 1, 1}).expand({b, 1, f, 1, 1}).contiguous();
  in.sigma = (1 - in.alpha.pow(2)).sqrt();
  in.x0 = torch::zeros_like(predicted);
  in.eps = torch::zeros_like(predicted);
  in.xt = torch::zeros_like(predicted);
  in.t = torch::zeros({b, f});
  return in;
}

TEST(BackboneObjective, TemporalConsistencyOfAStaticPredictionIsZero) {
  auto term = make_term(Json{{"name", "temporal_consistency"}});
  EXPECT_TRUE(term->needs_motion());
  auto in = x0_inputs(torch::randn({2, 3, 1, 4, 4}).expand({2, 3, 5, 4, 4}).contiguous(), {0.9f, 0.5f});
  in.motion = torch::tensor({0.2f, 0.7f});
  EXPECT_EQ(term->compute(in).item<double>(), 0.0);
  // The same through an eps network whose eps makes the predicted x0 static.
  LossInputs eps = in;
  eps.prediction = Prediction::eps;
  eps.xt = torch::randn_like(in.output);
  eps.output = (eps.xt - eps.alpha * in.output) / eps.sigma;
  EXPECT_NEAR(term->compute(eps).item<double>(), 0.0, 1e-10);
  // One frame: nothing to compare.
  auto single = x0_inputs(torch::randn({2, 3, 1, 4, 4}), {0.9f, 0.5f});
  single.motion = in.motion;
  EXPECT_EQ(term->compute(single).item<double>(), 0.0);
}

TEST(BackboneObjective, TemporalConsistencyWeightsByMotionAndNoise) {
  // Squared differences: video 0 [1, 4], video 1 [0, 4]. Weights (1 - m) alpha_bar: video 0
  // 0.5 * 0.81 = 0.405, video 1 1 * 0.25 = 0.25. Mean of [0.405, 1.62, 0, 1.0] = 0.75625.
  auto in = x0_inputs(video({{0, 1, 3}, {0, 0, 2}}), {0.9f, 0.5f});
  in.motion = torch::tensor({0.5f, 0.0f});
  EXPECT_NEAR(make_term(Json{{"name", "temporal_consistency"}})->compute(in).item<double>(), 0.75625, 1e-6);
  auto plain = make_term(Json{{"name", "temporal_consistency"}, {"motion_weight", "none"}, {"noise_weight", "none"}});
  EXPECT_FALSE(plain->needs_motion());
  EXPECT_NEAR(plain->compute(in).item<double>(), 2.25, 1e-6);
  in.motion = torch::Tensor();
  EXPECT_THROW(make_term(Json{{"name", "temporal_consistency"}})->compute(in), Error);
}

// An eps network's inputs with the given output and noise (the target).
LossInputs eps_inputs(const torch::Tensor& output, const torch::Tensor& noise) {
  LossInputs in;
  in.prediction = Prediction::eps;
  in.output = output;
  in.target = noise;
  in.eps = noise;
  return in;
}

TEST(BackboneObjective, MotionDistillationCosineOfFrameResiduals) {
  torch::manual_seed(0);
  const auto noise = torch::randn({2, 3, 4, 2, 2});
  // The plain cosine form compares VMC's signed residual vectors: 0 identical, 2 opposite.
  auto signed_term = make_term(Json{{"name", "motion_distillation"}});
  EXPECT_NEAR(signed_term->compute(eps_inputs(noise.clone(), noise)).item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(signed_term->compute(eps_inputs(-noise, noise)).item<double>(), 2.0, 1e-6);
  // A residual direction is what counts: a scaled and shifted copy has the same residual directions.
  EXPECT_NEAR(signed_term->compute(eps_inputs(noise * 3 + 1, noise)).item<double>(), 0.0, 1e-6);

  // `absolute: true` compares |residuals| as METHODS.md 5 writes them: opposite residuals have the same
  // magnitudes (0), and residuals on different frame pairs are orthogonal (1).
  auto term = make_term(Json{{"name", "motion_distillation"}, {"absolute", true}});
  EXPECT_NEAR(term->compute(eps_inputs(-noise, noise)).item<double>(), 0.0, 1e-6);
  const auto target = video({{0, 1, 1}}), output = video({{0, 0, 1}});  // residuals [1, 0] and [0, 1]
  EXPECT_NEAR(term->compute(eps_inputs(output, target)).item<double>(), 1.0, 1e-6);
  auto l2 = make_term(Json{{"name", "motion_distillation"}, {"form", "l2"}});
  EXPECT_NEAR(l2->compute(eps_inputs(output, target)).item<double>(), 1.0, 1e-6);  // mean of [1, 1]
}

TEST(BackboneObjective, LossIsBasePlusWeightedTerms) {
  auto in = x0_inputs(video({{0, 1, 3}, {0, 0, 2}}), {0.9f, 0.5f});
  in.target = video({{0, 1, 1}, {0, 0, 0}});  // squared errors: 4 and 4 over 6 elements
  in.motion = torch::tensor({0.5f, 0.0f});
  const TrainingObjective objective(Json::array({Json{{"name", "temporal_consistency"}, {"weight", 2.0}},
                                                 Json{{"name", "temporal_consistency"}, {"motion_weight", "none"},
                                                      {"noise_weight", "none"}, {"weight", 0.5}}}));
  EXPECT_TRUE(objective.needs_motion());
  const auto v = objective.loss(in);
  EXPECT_NEAR(v.base, 8.0 / 6.0, 1e-6);
  ASSERT_EQ(v.terms.size(), 2u);
  EXPECT_NEAR(v.terms[0], 0.75625, 1e-6);
  EXPECT_NEAR(v.terms[1], 2.25, 1e-6);
  EXPECT_NEAR(v.total.item<double>(), 8.0 / 6.0 + 2.0 * 0.75625 + 0.5 * 2.25, 1e-5);
  // Image batches train on the base alone.
  EXPECT_NEAR(objective.loss(in, false).total.item<double>(), 8.0 / 6.0, 1e-6);
  EXPECT_EQ(TrainingObjective(Json::array()).loss(in).total.item<double>(), v.base);
}

TEST(BackboneObjective, TermsResolveWithDefaultsAndNameTheirErrors) {
  const Json resolved = resolve_loss_terms(Json::array({"motion_distillation"}), "backbone.train.loss");
  EXPECT_EQ(resolved[0], (Json{{"name", "motion_distillation"}, {"weight", 1.0}, {"form", "cosine"}, {"absolute", false}}));
  try {
    resolve_loss_terms(Json::array({Json{{"name", "temporal_consistancy"}}}), "backbone.train.loss");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("temporal_consistency"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("backbone.train.loss[0]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(resolve_loss_terms(Json::array({Json{{"name", "motion_distillation"}, {"form", "l3"}}}), "loss"),
               ConfigError);
  EXPECT_THROW(resolve_loss_terms(Json{{"name", "motion_distillation"}}, "loss"), ConfigError);
}

TEST(BackboneObjective, MotionScoreIsNormalisedByTheSplitPercentiles) {
  // One pixel, two frames: |[255, 0, 51]| / 255 averaged over channels = 0.4.
  auto clip = torch::zeros({1, 2, 1, 1, 3}, torch::kUInt8);
  clip[0][1][0][0] = torch::tensor({255, 0, 51}, torch::kUInt8);
  EXPECT_NEAR(raw_motion(clip)[0].item<double>(), 0.4, 1e-12);
  EXPECT_EQ(raw_motion(torch::zeros({2, 1, 4, 4, 3}, torch::kUInt8)).sum().item<double>(), 0.0);
  // raw [0, 0.5, 1]: p5 = 0.05, p95 = 0.95 (linear): (raw - 0.05) / 0.9 clipped -> [0, 0.5, 1].
  auto m = normalised_motion(torch::tensor({0.0, 0.5, 1.0}, torch::kDouble));
  EXPECT_NEAR(m[0].item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(m[1].item<double>(), 0.5, 1e-12);
  EXPECT_NEAR(m[2].item<double>(), 1.0, 1e-12);
  EXPECT_EQ(normalised_motion(torch::full({3}, 0.3, torch::kDouble)).sum().item<double>(), 0.0);
}

TEST(BackboneObjective, StagesOfARecipe) {
  auto two = training_stages(4, 6, {"temporal_qkv"});
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].name, "images");
  EXPECT_TRUE(two[0].images);
  EXPECT_EQ(two[0].trainable, std::vector<std::string>{"all"});
  EXPECT_FALSE(two[0].loss_terms);
  EXPECT_EQ(two[1].begin, 4);
  EXPECT_EQ(two[1].end, 10);
  EXPECT_EQ(two[1].trainable, std::vector<std::string>{"temporal_qkv"});
  EXPECT_TRUE(two[1].loss_terms);
  auto one = training_stages(0, 6, {"temporal"});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].trainable, std::vector<std::string>{"all"});  // a fresh network trains everything
  // The image stage's identity leaves out exactly the video-stage fields.
  const Json backbone{{"unet", {{"patch", 1}}}, {"train", {{"steps", 5}, {"lr", 0.1}, {"ptss_p", 0.2}, {"loss", Json::array()},
                                                           {"noise", {{"name", "iid"}}}, {"trainable", {"temporal"}}}}};
  const Json id = image_stage_identity(backbone, Json{{"name", "data"}}, 3);
  EXPECT_EQ(id.at("backbone").at("train"), (Json{{"lr", 0.1}}));
  EXPECT_EQ(id.at("seed"), 3);
  EXPECT_EQ(id.at("stage"), "images");
}

}  // namespace
}  // namespace vdlab
