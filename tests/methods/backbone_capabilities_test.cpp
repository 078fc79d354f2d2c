// Backbone capabilities asked for by name: the unet offers feature taps, temporal attention control,
// parameter groups and fine-tuning; a backbone without one answers with one clear error. A fine-tuned
// clone never changes the cached backbone that later cells sample from.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>

#include "backbone_test_support.h"
#include "core/error.h"
#include "methods/backbone/capabilities.h"
#include "methods/backbone/register_backbones.h"
#include "methods/backbone/temporal_control.h"
#include "methods/backbone/unet.h"
#include "methods/backbone/unet_backbone.h"
#include "methods/method.h"
#include "methods/schedules/noise_schedule.h"
#include "methods/training/objective.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;

std::string fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("vdlab-capabilities-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

// A micro UNet with every weight perturbed (fresh output layers are zero).
std::shared_ptr<UNetBackbone> random_backbone() {
  torch::manual_seed(7);
  VideoUNet net(testing::micro_unet());
  torch::NoGradGuard guard;
  for (auto& p : net->parameters()) p.add_(torch::randn_like(p) * 0.2);
  for (auto& p : net->parameters()) p.set_requires_grad(false);
  net->eval();
  return std::make_shared<UNetBackbone>(net.ptr(), Prediction::eps, NoiseSchedule::linear().to_config(),
                                        Json{{"name", "unet"}, {"cache_key", "test"}});
}

// name -> a copy of every parameter, to compare bitwise later.
std::map<std::string, torch::Tensor> snapshot(ParameterGroups& groups) {
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, p] : groups.named_parameters("all")) out[name] = p.detach().clone();
  return out;
}

void expect_unchanged(ParameterGroups& groups, const std::map<std::string, torch::Tensor>& before) {
  auto now = groups.named_parameters("all");
  ASSERT_EQ(now.size(), before.size());
  for (auto& [name, p] : now) EXPECT_TRUE(torch::equal(p, before.at(name))) << name;
}

TEST(BackboneCapabilities, UnetOffersEachByName) {
  auto bb = random_backbone();
  Backbone& b = *bb;
  EXPECT_EQ(b.capabilities(), (std::vector<std::string>{"decoder feature taps", "temporal attention control",
                                                         "parameter groups", "fine-tuning"}));
  EXPECT_NE(b.try_capability<FeatureTaps>(), nullptr);
  EXPECT_NE(b.try_capability<TemporalAttentionControl>(), nullptr);
  EXPECT_EQ(b.capability<ParameterGroups>("test").group_names(),
            (std::vector<std::string>{"all", "spatial", "temporal", "temporal_qkv"}));
  auto& taps = b.capability<FeatureTaps>("drmo");
  EXPECT_EQ(taps.tap_sites(), (std::vector<std::string>{"mid", "up1.block0", "up1", "up0.block0", "up0"}));
  auto& control = b.capability<TemporalAttentionControl>("motion-adaptive");
  EXPECT_EQ(control.temporal_sites(), (std::vector<std::string>{"down0", "down1", "mid", "up1", "up0"}));
  EXPECT_EQ(control.temporal_heads(), 2);

  // One call with both a control and taps; a zero gate everywhere makes frames independent.
  torch::NoGradGuard guard;
  auto x = torch::randn({1, 3, 4, 8, 8});
  auto t = torch::full({1, 4}, 200.0f);
  auto x2 = x.clone();
  x2.select(2, 0).add_(1.0);
  ForwardOptions o;
  o.taps = {"up0"};
  o.temporal = [](const std::string&) { return TemporalMod{{}, torch::zeros({})}; };
  auto a = taps.forward_with(x, t, {}, o), c = control.forward_with(x2, t, {}, o);
  EXPECT_EQ((a.features.at("up0").select(2, 3) - c.features.at("up0").select(2, 3)).abs().max().item<double>(), 0.0);
  EXPECT_TRUE(torch::equal(taps.forward_with(x, t, {}, {}).prediction, b.forward(x, t, {})));
}

TEST(BackboneCapabilities, MissingCapabilityIsOneClearError) {
  register_builtin_methods();
  BackboneContext ctx;
  auto gaussian = backbone_registry().make("gaussian", Json::object(), "backbone")(ctx);
  EXPECT_EQ(gaussian->try_capability<FeatureTaps>(), nullptr);
  EXPECT_TRUE(gaussian->capabilities().empty());
  try {
    gaussian->capability<FeatureTaps>("drmo");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("backbone 'gaussian' has no decoder feature taps (needed by drmo)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("offers: none"), std::string::npos) << msg;
  }
  EXPECT_THROW(gaussian->capability<FineTuning>("vmc"), ConfigError);
}

TEST(BackboneCapabilities, CloneIsAnIndependentDeepCopy) {
  auto bb = random_backbone();
  auto& groups = bb->capability<ParameterGroups>();
  const auto before = snapshot(groups);

  // The clone leaves the global generator where it was.
  torch::manual_seed(99);
  const auto expected_draw = torch::rand({4});
  torch::manual_seed(99);
  BackbonePtr clone = bb->capability<FineTuning>("vmc").clone_for_finetune();
  EXPECT_TRUE(torch::equal(torch::rand({4}), expected_draw));

  auto& clone_groups = clone->capability<ParameterGroups>();
  auto mine = groups.named_parameters("all"), theirs = clone_groups.named_parameters("all");
  ASSERT_EQ(mine.size(), theirs.size());
  for (size_t i = 0; i < mine.size(); ++i) {
    EXPECT_EQ(mine[i].first, theirs[i].first);
    EXPECT_TRUE(torch::equal(mine[i].second, theirs[i].second)) << mine[i].first;
    EXPECT_NE(mine[i].second.data_ptr(), theirs[i].second.data_ptr()) << mine[i].first;
    EXPECT_FALSE(theirs[i].second.requires_grad()) << theirs[i].first;
  }
  torch::NoGradGuard guard;
  auto x = torch::randn({1, 3, 3, 8, 8});
  auto t = torch::full({1, 3}, 400.0f);
  EXPECT_TRUE(torch::equal(clone->forward(x, t, {}), bb->forward(x, t, {})));
  for (auto& item : clone_groups.named_parameters("all")) item.second.add_(1.0);
  expect_unchanged(groups, before);
  EXPECT_FALSE(torch::equal(clone->forward(x, t, {}), bb->forward(x, t, {})));
  EXPECT_EQ(clone->describe().at("finetune_copy"), true);
}

TEST(BackboneCapabilities, OnlyACloneCanBeMadeTrainable) {
  auto bb = random_backbone();
  EXPECT_THROW(bb->capability<ParameterGroups>().set_trainable({"temporal_qkv"}), ConfigError);
  for (auto& [name, p] : bb->named_parameters("all")) EXPECT_FALSE(p.requires_grad()) << name;
  BackbonePtr clone = bb->clone_for_finetune();
  auto& groups = clone->capability<ParameterGroups>();
  const auto trainable = groups.set_trainable({"temporal_qkv"});
  EXPECT_EQ(trainable.size(), groups.named_parameters("temporal_qkv").size());
  for (auto& [name, p] : groups.named_parameters("all"))
    EXPECT_EQ(p.requires_grad(), VideoUNetImpl::in_group(name, "temporal_qkv")) << name;
  EXPECT_THROW(groups.set_trainable({"temporl"}), ConfigError);
}

// Issue 9, done when 5: fine-tune a clone of the cached backbone for a few steps; the cached backbone's
// parameters stay bitwise the same and a later generation equals one without the fine-tune.
TEST(BackboneCapabilities, FineTunedCloneLeavesTheCachedBackboneAndLaterSamplesUnchanged) {
  torch::set_num_threads(1);
  register_builtin_methods();
  BackboneContext ctx;
  ctx.cache_dir = fresh_dir("finetune");
  auto data = std::make_shared<testing::MovingSquares>(4, 3, 8);
  ctx.train_data = data;
  ctx.train_data_config = data->describe();
  BackbonePtr cached = make_backbone(testing::micro_backbone_config(3), ctx);

  GenerateRequest request;
  request.count = 2;
  request.frames = 3;
  request.height = request.width = 8;
  request.batch_size = 2;
  request.labels = {0, 1};
  request.seed = 4;
  MethodPtr method = method_registry().make("uniform", Json{{"sampler", {{"name", "ddim"}, {"steps", 4}}}}, "variant");
  const torch::Tensor reference = method->generate(*cached, request).videos;
  const auto before = snapshot(cached->capability<ParameterGroups>());

  // Fine-tune the temporal q/k/v of a clone on one clip (AdamW, as VMC does).
  BackbonePtr clone = cached->capability<FineTuning>("vmc").clone_for_finetune();
  auto& groups = clone->capability<ParameterGroups>("vmc");
  torch::optim::AdamW optimizer(groups.set_trainable({"temporal_qkv"}), torch::optim::AdamWOptions(1e-2));
  const auto qkv_before = snapshot(groups);
  torch::manual_seed(0);
  auto clip = torch::rand({1, 3, 3, 8, 8}) * 2 - 1;
  Conditioning cond{torch::tensor({1}), {}};
  // VMC's objective: the base MSE plus the registered motion-distillation term.
  const TrainingObjective objective(Json::array({Json{{"name", "motion_distillation"}}}));
  for (int step = 0; step < 3; ++step) {
    LossInputs in;
    in.prediction = clone->prediction();
    in.eps = in.target = torch::randn_like(clip);
    in.alpha = torch::full({1, 1, 3, 1, 1}, 0.8f);
    in.sigma = torch::full({1, 1, 3, 1, 1}, 0.6f);
    in.x0 = clip;
    in.xt = in.alpha * clip + in.sigma * in.eps;
    in.t = torch::full({1, 3}, 300.0f);
    in.output = clone->forward(in.xt, in.t, cond);
    const auto loss = objective.loss(in);
    ASSERT_EQ(loss.terms.size(), 1u);
    optimizer.zero_grad();
    loss.total.backward();
    optimizer.step();
  }
  bool moved = false;
  for (auto& [name, p] : groups.named_parameters("all")) {
    const bool changed = !torch::equal(p, qkv_before.at(name));
    if (!VideoUNetImpl::in_group(name, "temporal_qkv")) {
      EXPECT_FALSE(changed) << name;
    }
    moved = moved || changed;
  }
  EXPECT_TRUE(moved) << "the fine-tune did not change the clone";

  expect_unchanged(cached->capability<ParameterGroups>(), before);
  EXPECT_TRUE(torch::equal(method->generate(*cached, request).videos, reference));
  // A later cell that loads the backbone from the cache samples the same videos too.
  BackbonePtr reloaded = make_backbone(testing::micro_backbone_config(3), ctx);
  EXPECT_TRUE(torch::equal(method->generate(*reloaded, request).videos, reference));
  // and the fine-tuned clone samples different ones (the check above can fail).
  EXPECT_FALSE(torch::equal(method->generate(*clone, request).videos, reference));
}

// Seed 002's motion-adaptive forms: global attention in down and middle layers, bias -beta(m)|i - j| and
// gate sigmoid(a m + b) in the up layers.
TEST(BackboneCapabilities, MotionAdaptiveControlForms) {
  const auto form = MotionAdaptiveForm::from_json(
      Json{{"beta_min", 0.5}, {"beta_max", 2.5}, {"gate", "sigmoid"}, {"gate_a", 2.0}, {"gate_b", -1.0}}, "form");
  const auto control = motion_adaptive_control(form, torch::tensor({0.0f, 1.0f}), 3);
  EXPECT_FALSE(control("down0").bias.defined());
  EXPECT_FALSE(control("mid").gate.defined());
  const TemporalMod up = control("up1");
  ASSERT_EQ(up.bias.sizes(), (std::vector<int64_t>{2, 3, 3}));
  EXPECT_FLOAT_EQ(up.bias[0][0][2].item<float>(), -0.5f * 2);  // beta(0) = 0.5, |0 - 2| = 2
  EXPECT_FLOAT_EQ(up.bias[1][2][1].item<float>(), -2.5f);      // beta(1) = 2.5, |2 - 1| = 1
  EXPECT_FLOAT_EQ(up.bias[1][1][1].item<float>(), 0.0f);
  EXPECT_NEAR(up.gate[0].item<double>(), 1.0 / (1.0 + std::exp(1.0)), 1e-6);   // sigmoid(-1)
  EXPECT_NEAR(up.gate[1].item<double>(), 1.0 / (1.0 + std::exp(-1.0)), 1e-6);  // sigmoid(1)
  // The unet takes it per call; a huge beta on every layer makes the frames of that video independent.
  auto bb = random_backbone();
  auto& temporal = bb->capability<TemporalAttentionControl>("motion-adaptive");
  torch::NoGradGuard guard;
  auto x = torch::randn({2, 3, 3, 8, 8});
  auto t = torch::full({2, 3}, 200.0f);
  ForwardOptions local;
  local.temporal = motion_adaptive_control(
      MotionAdaptiveForm::from_json(Json{{"beta_min", 0.0}, {"beta_max", 1e9}, {"adaptive", "all"}}, "f"),
      torch::tensor({1.0f, 0.0f}), 3);
  auto x2 = x.clone();
  x2.select(2, 0).add_(1.0);
  auto a = temporal.forward_with(x, t, {}, local).prediction, b = temporal.forward_with(x2, t, {}, local).prediction;
  EXPECT_EQ((a[0].select(1, 2) - b[0].select(1, 2)).abs().max().item<double>(), 0.0);  // m = 1: local
  EXPECT_GT((a[1].select(1, 2) - b[1].select(1, 2)).abs().max().item<double>(), 1e-4);  // m = 0: global
  EXPECT_THROW(MotionAdaptiveForm::from_json(Json{{"gate", "tanh"}}, "form"), ConfigError);
}

}  // namespace
}  // namespace vdlab
