// Seed 002 (METHODS.md 4): the temporal block forms (transformer, cascaded motion-adaptive up blocks)
// are exact identities at initialisation, the adaptive bias and gate follow their formulas, the motion
// score and L_tc hit their anchors, a stage-2 step moves only temporal parameters, the motion score at
// sampling comes from prompt keywords or the user, and default configs keep their network and key.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <unistd.h>

#include "backbone_test_support.h"
#include "core/error.h"
#include "core/hash.h"
#include "methods/backbone/training.h"
#include "methods/backbone/unet.h"
#include "methods/backbone/unet_backbone.h"
#include "methods/method.h"
#include "methods/motion_adaptive/motion_prompt.h"
#include "methods/schedules/noise_schedule.h"
#include "methods/training/motion_score.h"
#include "methods/training/objective.h"

namespace vdlab {
namespace {

UNetConfig seed002_unet() {
  UNetConfig c = testing::micro_unet();
  c.temporal_block = "transformer";
  c.temporal_placement = "cascaded";
  c.adaptive_beta_min = 0.5;
  c.adaptive_beta_max = 2.5;
  c.adaptive_gate_hidden = 4;
  return c;
}

TEST(MotionAdaptive, EveryTemporalBlockIsAnExactIdentityAtInitialisation) {
  for (const std::string form : {"attention", "transformer"})
    for (const std::string placement : {"global", "cascaded"}) {
      UNetConfig c = testing::micro_unet();
      c.temporal_block = form;
      c.temporal_placement = placement;
      torch::manual_seed(7);
      TemporalAttention block(16, 2, TemporalBlockOptions{form, 2, 8, placement == "cascaded", 0.5, 2.5, 4, 0.5});
      torch::NoGradGuard guard;
      const auto h = torch::randn({2 * 5, 16, 3, 3});
      EXPECT_TRUE(torch::equal(block->forward(h, 2, 5, TemporalMod{}, torch::tensor({0.1f, 0.9f})), h)) << form << " " << placement;
      // The whole network: skipping the temporal blocks changes nothing at initialisation.
      torch::manual_seed(7);
      VideoUNet net(c);
      for (auto& item : net->named_parameters())  // perturb the spatial part only
        if (!VideoUNetImpl::in_group(item.key(), "temporal")) item.value().add_(torch::randn_like(item.value()) * 0.2);
      const auto x = torch::randn({2, 3, 4, 8, 8});
      const auto t = torch::full({2, 4}, 400.0f);
      ForwardOptions with, without;
      with.motion = torch::tensor({0.0f, 1.0f});
      without.skip_temporal = true;
      EXPECT_TRUE(torch::equal(net->forward(x, t, {}, {}, with).prediction, net->forward(x, t, {}, {}, without).prediction))
          << form << " " << placement;
    }
}

TEST(MotionAdaptive, AdaptiveBiasAndGateEqualTheirFormulas) {
  torch::manual_seed(3);
  TemporalAttention block(8, 2, TemporalBlockOptions{"transformer", 2, 8, true, 0.5, 2.5, 4, 0.5});
  torch::NoGradGuard guard;
  const auto m = torch::tensor({0.0f, 0.25f, 1.0f});
  const auto bias = block->adaptive_bias(m, 4);
  ASSERT_EQ(bias.sizes(), (std::vector<int64_t>{3, 4, 4}));
  for (int64_t b = 0; b < 3; ++b) {
    const double beta = 0.5 + 2.0 * m[b].item<double>();
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t j = 0; j < 4; ++j) EXPECT_NEAR(bias[b][i][j].item<double>(), -beta * std::abs(i - j), 1e-6);
  }
  // g is the identity at initialisation: gate = sigmoid(m).
  const auto gate = block->adaptive_gate(m);
  for (int64_t b = 0; b < 3; ++b)
    EXPECT_NEAR(gate[b].item<double>(), 1.0 / (1.0 + std::exp(-m[b].item<double>())), 1e-6);
  // With g's output layer set by hand, g(m) = m + w2 . silu(w1 m + b1) + b2.
  auto params = block->named_parameters();
  params["gate_fc1.weight"].fill_(1.0);
  params["gate_fc1.bias"].fill_(0.5);
  params["gate_fc2.weight"].fill_(0.25);
  params["gate_fc2.bias"].fill_(-0.1);
  const auto gate2 = block->adaptive_gate(m);
  for (int64_t b = 0; b < 3; ++b) {
    const double x = m[b].item<double>() + 0.5, silu = x / (1.0 + std::exp(-x));
    const double g = m[b].item<double>() + 4 * 0.25 * silu - 0.1;
    EXPECT_NEAR(gate2[b].item<double>(), 1.0 / (1.0 + std::exp(-g)), 1e-6);
  }
}

TEST(MotionAdaptive, CascadedPlacementAdaptsOnlyTheUpBlocksToMotion) {
  torch::manual_seed(5);
  VideoUNet net(seed002_unet());
  torch::NoGradGuard guard;
  for (auto& p : net->parameters()) p.add_(torch::randn_like(p) * 0.2);
  const auto names = net->parameter_names("temporal");
  auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  EXPECT_TRUE(has("temporal_up0.gate_fc1.weight"));
  EXPECT_TRUE(has("temporal_up1.position"));
  EXPECT_TRUE(has("temporal_mid.ffn_out.weight"));
  EXPECT_FALSE(has("temporal_down0.gate_fc1.weight"));  // global in the down levels
  EXPECT_FALSE(has("temporal_mid.gate_fc1.weight"));    // and in the middle
  const auto x = torch::randn({2, 3, 4, 8, 8});
  const auto t = torch::full({2, 4}, 400.0f);
  ForwardOptions slow, fast;
  slow.motion = torch::tensor({0.0f, 0.0f});
  fast.motion = torch::tensor({1.0f, 0.0f});
  const auto a = net->forward(x, t, {}, {}, slow).prediction, b = net->forward(x, t, {}, {}, fast).prediction;
  EXPECT_GT((a[0] - b[0]).abs().max().item<double>(), 1e-5);  // video 0's motion changed
  EXPECT_EQ((a[1] - b[1]).abs().max().item<double>(), 0.0);   // video 1's did not
  ForwardOptions bad;
  bad.motion = torch::tensor({0.5f});
  EXPECT_THROW(net->forward(x, t, {}, {}, bad), Error);
}

TEST(MotionAdaptive, MotionScoreOfAStaticClipIsZeroAndOfThe95thPercentileClipIsOne) {
  // 21 clips of 3 frames, 2x2 pixels: clip k changes every pixel by 6 k grey levels per frame.
  auto clips = torch::zeros({21, 3, 2, 2, 3}, torch::kUInt8);
  for (int64_t k = 0; k < 21; ++k)
    for (int64_t f = 0; f < 3; ++f) clips[k][f].fill_(int64_t(6 * k * f));
  const auto m = normalised_motion(raw_motion(clips));
  EXPECT_EQ(m[0].item<double>(), 0.0);  // static
  // Raw scores 6 k / 255 for k = 0..20: the 95th percentile is clip 19 (index 0.95 * 20 = 19).
  EXPECT_NEAR(m[19].item<double>(), 1.0, 1e-12);
  EXPECT_EQ(m[20].item<double>(), 1.0);  // above it: clipped
  EXPECT_NEAR(m[10].item<double>(), (10.0 - 1.0) / 18.0, 1e-12);  // p5 is clip 1
}

TEST(MotionAdaptive, TemporalConsistencyOfARampHasItsClosedForm) {
  // x0^_f = s f (a ramp of slope s): every consecutive difference is s, so
  // L_tc = mean_b (1 - m_b) alpha_b^2 s^2 (alpha_f alpha_{f+1} = alpha^2 at one t per video).
  const double s = 0.3;
  const int64_t frames = 5;
  auto ramp = (torch::arange(frames, torch::kFloat32) * float(s)).reshape({1, 1, frames, 1, 1}).expand({2, 3, frames, 4, 4});
  LossInputs in;
  in.prediction = Prediction::x0;
  in.output = ramp.contiguous();
  in.target = torch::zeros_like(in.output);
  in.alpha = torch::tensor({0.9f, 0.6f}).reshape({2, 1, 1, 1, 1}).expand({2, 1, frames, 1, 1}).contiguous();
  in.sigma = (1 - in.alpha.pow(2)).sqrt();
  in.xt = torch::zeros_like(in.output);
  in.motion = torch::tensor({0.25f, 0.5f});
  const auto resolved = resolve_loss_terms(Json::array({Json{{"name", "temporal_consistency"}}}), "loss");
  const auto term = loss_term_registry().make_resolved(resolved[0], "loss[0]");
  const double expected = 0.5 * ((1 - 0.25) * 0.81 * s * s + (1 - 0.5) * 0.36 * s * s);
  EXPECT_NEAR(term->compute(in).item<double>(), expected, 1e-7);
  // A static prediction: 0.
  in.output = torch::ones_like(in.output);
  EXPECT_EQ(term->compute(in).item<double>(), 0.0);
}

TEST(MotionAdaptive, StageTwoStepChangesOnlyTemporalParameters) {
  TrainConfig cfg;
  cfg.image_pretrain_steps = 2;
  cfg.steps = 2;
  cfg.batch_size = 2;
  cfg.lr = 1e-2;
  cfg.warmup_steps = 0;
  cfg.checkpoint_every = 0;
  cfg.trainable = {"temporal"};
  cfg.noise = Json{{"name", "ar1"}, {"rho", 0.6}};
  cfg.loss = resolve_loss_terms(Json::array({Json{{"name", "temporal_consistency"}, {"weight", 2.0}}}), "loss");
  testing::MovingSquares data(6, 4, 8);
  const UNetConfig net = seed002_unet();
  torch::manual_seed(3);
  VideoUNet model(net), ema(net);
  std::map<std::string, torch::Tensor> previous;
  int checked = 0;
  TrainOptions o;
  o.dir = (std::filesystem::temp_directory_path() / ("vdlab-motion-stage2-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(o.dir);
  o.threads = 1;
  o.after_step = [&](int64_t step, double) {
    std::set<std::string> moved;
    for (const auto& item : model->named_parameters()) {
      if (step > cfg.image_pretrain_steps && !torch::equal(item.value(), previous.at(item.key()))) moved.insert(item.key());
      previous[item.key()] = item.value().detach().clone();
    }
    if (step <= cfg.image_pretrain_steps) return;
    ++checked;
    for (const auto& name : moved) EXPECT_TRUE(VideoUNetImpl::in_group(name, "temporal")) << step << ": " << name;
    // The gate's gradient is zero while the block's residual is (the first video step); then it trains.
    if (step == cfg.image_pretrain_steps + cfg.steps) {
      EXPECT_TRUE(moved.count("temporal_up0.gate_fc2.weight")) << step;
    }
    EXPECT_TRUE(moved.count("temporal_down0.ffn_out.weight")) << step;
  };
  train_unet(model, ema, data, Prediction::x0, NoiseSchedule::linear().alphas_cumprod, cfg, o);
  EXPECT_EQ(checked, 2);
  std::filesystem::remove_all(o.dir);
}

TEST(MotionAdaptive, DefaultConfigsKeepTheirNetworkAndCacheKey) {
  // New fields at their defaults stay out of the resolved config, so the demo's key is unchanged; set,
  // they enter it.
  const Json demo = {{"preset", "tiny"}, {"prediction", "x0"}, {"conditioning", "clip-caption"}};
  const Json resolved = resolve_unet_backbone_params(demo);
  for (const char* field : {"temporal_block", "temporal_placement", "adaptive_beta_max", "temporal_ffn_mult"})
    EXPECT_FALSE(resolved.at("unet").contains(field)) << field;
  Json explicit_default = demo;
  explicit_default["unet"] = {{"temporal_block", "attention"}, {"temporal_placement", "global"}};
  EXPECT_EQ(config_hash(resolve_unet_backbone_params(explicit_default)), config_hash(resolved));
  Json seed002 = demo;
  seed002["unet"] = {{"temporal_block", "transformer"}, {"temporal_placement", "cascaded"}};
  const Json r2 = resolve_unet_backbone_params(seed002);
  EXPECT_EQ(r2.at("unet").at("temporal_placement"), "cascaded");
  EXPECT_EQ(r2.at("unet").at("adaptive_beta_max"), 1.0);
  EXPECT_NE(config_hash(r2), config_hash(resolved));
  Json bad = demo;
  bad["unet"] = {{"temporal_placement", "everywhere"}};
  EXPECT_THROW(resolve_unet_backbone_params(bad), ConfigError);
  // The default network registers exactly the parameters it always did.
  VideoUNet net(testing::micro_unet());
  for (const auto& name : net->parameter_names("temporal"))
    EXPECT_TRUE(name.find(".to_") != std::string::npos || name.find(".norm.") != std::string::npos) << name;
}

TEST(MotionAdaptive, MotionFromPromptKeywordsOrTheUser) {
  const MotionKeywords k;
  EXPECT_EQ(motion_from_prompt("a red circle moving left quickly", k).motion, 0.8);
  EXPECT_EQ(motion_from_prompt("a red circle moving left quickly", k).word, "quickly");
  EXPECT_EQ(motion_from_prompt("A blue square moving up, slowly.", k).motion, 0.2);
  EXPECT_EQ(motion_from_prompt("a still landscape", k).motion, 0.2);
  EXPECT_EQ(motion_from_prompt("a green triangle", k).motion, 0.5);
  EXPECT_EQ(motion_from_prompt("running slowly", k).motion, 0.5);  // both: neutral
  EXPECT_EQ(motion_from_prompt("quicklyish", k).motion, 0.5);      // whole words only
  MotionKeywords custom;
  custom.high = {"Zooming"};
  custom.high_motion = 1.0;
  EXPECT_EQ(motion_from_prompt("a car zooming by", custom).motion, 1.0);

  // The method records the motion of every video and passes it to the backbone.
  register_builtin_methods();
  auto method = method_registry().make("motion-adaptive", Json{{"sampler", {{"name", "ddim"}, {"steps", 2}}}}, "m");
  auto user = method_registry().make("motion-adaptive", Json{{"motion", "user"}, {"motion_value", 0.3},
                                                             {"sampler", {{"name", "ddim"}, {"steps", 2}}}}, "m");
  EXPECT_THROW(method_registry().make("motion-adaptive", Json{{"motion_value", 1.5}}, "m"), ConfigError);
  torch::manual_seed(2);
  VideoUNet net(seed002_unet());
  {
    torch::NoGradGuard guard;
    for (auto& p : net->parameters()) p.add_(torch::randn_like(p) * 0.2);
  }
  net->eval();
  for (auto& p : net->parameters()) p.set_requires_grad(false);
  UNetBackbone backbone(net.ptr(), Prediction::eps, Json::object(), Json::object());
  GenerateRequest req;
  req.count = 2;
  req.frames = 4;
  req.height = req.width = 8;
  req.batch_size = 2;
  req.captions = {"a square moving quickly", "a square moving slowly"};
  const GenerateResult a = method->generate(backbone, req);
  EXPECT_EQ(a.stats.at("motion_adaptive").at("motion_each"), Json::array({0.8, 0.2}));
  EXPECT_EQ(a.stats.at("motion_adaptive").at("keyword_each"), Json::array({"quickly", "slowly"}));
  const GenerateResult b = user->generate(backbone, req);
  EXPECT_EQ(b.stats.at("motion_adaptive").at("motion_each"), Json::array({0.3, 0.3}));
  EXPECT_GT((a.videos - b.videos).abs().max().item<double>(), 1e-6);  // the motion reached the network
  auto image = method_registry().make("motion-adaptive", Json{{"temporal_modules", false},
                                                              {"sampler", {{"name", "ddim"}, {"steps", 2}}}}, "m");
  const GenerateResult c = image->generate(backbone, req);
  EXPECT_GT((a.videos - c.videos).abs().max().item<double>(), 1e-6);
}

}  // namespace
}  // namespace vdlab
