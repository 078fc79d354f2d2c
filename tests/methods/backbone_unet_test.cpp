// The space-time UNet: shapes, per-frame timesteps, conditioning, temporal attention bias and gate,
// parameter groups, decoder features, presets.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <set>

#include "backbone_test_support.h"
#include "core/error.h"
#include "methods/backbone/blank_caption.h"
#include "methods/backbone/unet.h"
#include "methods/backbone/unet_backbone.h"
#include "methods/samplers/guidance.h"
#include "methods/samplers/sampler.h"

namespace vdlab {
namespace {

// Zero-initialised output layers make a fresh UNet output zeros; tests perturb every weight.
VideoUNet random_unet(UNetConfig cfg, uint64_t seed = 1) {
  torch::manual_seed(seed);
  VideoUNet net(cfg);
  torch::NoGradGuard guard;
  for (auto& p : net->parameters()) p.add_(torch::randn_like(p) * 0.2);
  net->eval();
  return net;
}

TEST(BackboneUNet, TimestepFeaturesFollowTheFormula) {
  auto t = torch::tensor({0.0f, 5.0f, 999.0f});
  auto f = timestep_features(t, 256);
  ASSERT_EQ(f.sizes(), (std::vector<int64_t>{3, 256}));
  for (int64_t k : {0, 1, 17, 127}) {
    const double freq = std::exp(-std::log(1e4) * double(k) / 128.0);
    EXPECT_NEAR(f[1][k].item<double>(), std::cos(5.0 * freq), 1e-5);
    EXPECT_NEAR(f[1][128 + k].item<double>(), std::sin(5.0 * freq), 1e-5);
    EXPECT_NEAR(f[2][128 + k].item<double>(), std::sin(999.0 * freq), 2e-4);
  }
  EXPECT_EQ(f[0].slice(0, 0, 128).sum().item<double>(), 128.0);  // cos(0) = 1
}

TEST(BackboneUNet, ForwardShapesAndPerFrameTimesteps) {
  auto net = random_unet(testing::micro_unet());
  torch::NoGradGuard guard;
  auto x = torch::randn({2, 3, 4, 8, 8});
  auto t = torch::full({2, 4}, 500.0f);
  auto y = net->forward(x, t, {}, {}).prediction;
  ASSERT_EQ(y.sizes(), x.sizes());
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  // A different t on frame 2 of video 0 changes that video, not the other one.
  auto t2 = t.clone();
  t2[0][2] = 10.0f;
  auto y2 = net->forward(x, t2, {}, {}).prediction;
  EXPECT_GT((y2[0] - y[0]).abs().max().item<double>(), 1e-4);
  EXPECT_EQ((y2[1] - y[1]).abs().max().item<double>(), 0.0);
  // Wrong t shape: a clear error.
  EXPECT_THROW(net->forward(x, torch::zeros({2}), {}, {}), Error);
}

// Training's batches are permuted views of pixels (channels last in memory). The network computes the
// same bits from such a view as from its contiguous copy: a layout carried into the convolutions would
// run other kernels (slower, other rounding) than sampling's contiguous noise does.
TEST(BackboneUNet, InputLayoutDoesNotChangeTheBits) {
  auto net = random_unet(testing::micro_unet());
  torch::NoGradGuard guard;
  torch::manual_seed(7);
  const auto pixels = torch::randn({2, 4, 8, 8, 3});        // [B, F, H, W, C], as clips are stored
  const auto view = pixels.permute({0, 4, 1, 2, 3});        // [B, C, F, H, W], channels last in memory
  ASSERT_FALSE(view.is_contiguous());
  const auto t = torch::full({2, 4}, 300.0f);
  EXPECT_TRUE(torch::equal(net->forward(view, t, {}, {}).prediction,
                           net->forward(view.contiguous(), t, {}, {}).prediction));
}

TEST(BackboneUNet, TemporalAttentionMixesFramesAndBiasAndGateControlIt) {
  auto net = random_unet(testing::micro_unet());
  torch::NoGradGuard guard;
  auto x = torch::randn({1, 3, 4, 8, 8});
  auto t = torch::full({1, 4}, 300.0f);
  auto x2 = x.clone();
  x2.select(2, 0).add_(1.0);  // change frame 0 only
  auto frame3 = [&](const torch::Tensor& in, const ForwardOptions& o) {
    return net->forward(in, t, {}, {}, o).prediction.select(2, 3);
  };
  ForwardOptions plain;
  EXPECT_GT((frame3(x2, plain) - frame3(x, plain)).abs().max().item<double>(), 1e-4);

  // A bias that forbids attending to other frames, or a zero gate, makes frames independent.
  ForwardOptions local;
  std::vector<std::string> sites;
  local.temporal = [&](const std::string& site) {
    sites.push_back(site);
    return TemporalMod{(1 - torch::eye(4)) * -1e9, {}};
  };
  EXPECT_EQ((frame3(x2, local) - frame3(x, local)).abs().max().item<double>(), 0.0);
  EXPECT_EQ(sites, (std::vector<std::string>{"down0", "down1", "mid", "up1", "up0", "down0", "down1", "mid", "up1", "up0"}));
  EXPECT_EQ(net->temporal_sites(), (std::vector<std::string>{"down0", "down1", "mid", "up1", "up0"}));
  ForwardOptions gated;
  gated.temporal = [](const std::string&) { return TemporalMod{{}, torch::zeros({1})}; };
  EXPECT_EQ((frame3(x2, gated) - frame3(x, gated)).abs().max().item<double>(), 0.0);
  // Gate only the up path: frames interact again.
  ForwardOptions up_only;
  up_only.temporal = [](const std::string& site) {
    return TemporalMod{{}, site.rfind("up", 0) == 0 ? torch::zeros({}) : torch::ones({})};
  };
  EXPECT_GT((frame3(x2, up_only) - frame3(x, up_only)).abs().max().item<double>(), 1e-4);
  // Bad bias shape: an error naming the expected shapes.
  ForwardOptions bad;
  bad.temporal = [](const std::string&) { return TemporalMod{torch::zeros({3, 3}), {}}; };
  EXPECT_THROW(net->forward(x, t, {}, {}, bad), Error);
}

TEST(BackboneUNet, ParameterGroupsPartitionTheNetwork) {
  VideoUNet net(testing::micro_unet());
  const auto all = net->parameter_names("all");
  const auto spatial = net->parameter_names("spatial");
  const auto temporal = net->parameter_names("temporal");
  const auto qkv = net->parameter_names("temporal_qkv");
  EXPECT_EQ(spatial.size() + temporal.size(), all.size());
  EXPECT_EQ(qkv.size(), 3u * 5u);  // to_q, to_k, to_v in down0, down1, mid, up1, up0
  for (const auto& n : qkv) EXPECT_NE(std::find(temporal.begin(), temporal.end(), n), temporal.end()) << n;
  for (const auto& n : spatial) EXPECT_EQ(n.find("temporal"), std::string::npos) << n;
  net->set_trainable({"temporal_qkv"});
  for (const auto& item : net->named_parameters())
    EXPECT_EQ(item.value().requires_grad(), VideoUNetImpl::in_group(item.key(), "temporal_qkv")) << item.key();
  EXPECT_THROW(net->parameter_names("temporl"), ConfigError);
}

TEST(BackboneUNet, DecoderFeatureTapsAtChosenBlocks) {
  auto net = random_unet(testing::micro_unet());
  EXPECT_EQ(net->tap_sites(), (std::vector<std::string>{"mid", "up1.block0", "up1", "up0.block0", "up0"}));
  torch::NoGradGuard guard;
  ForwardOptions o;
  o.taps = {"up1", "up0", "up0.block0"};
  auto x = torch::randn({2, 3, 3, 8, 8});
  auto t = torch::full({2, 3}, 100.0f);
  auto out = net->forward(x, t, {}, {}, o);
  ASSERT_EQ(out.features.size(), 3u);
  EXPECT_EQ(out.features.at("up1").sizes(), (std::vector<int64_t>{2, 16, 3, 4, 4}));
  EXPECT_EQ(out.features.at("up0").sizes(), (std::vector<int64_t>{2, 8, 3, 8, 8}));
  EXPECT_EQ(out.features.at("up0.block0").sizes(), (std::vector<int64_t>{2, 8, 3, 8, 8}));
  // Taps observe, they do not change the prediction.
  EXPECT_TRUE(torch::equal(out.prediction, net->forward(x, t, {}, {}).prediction));
  // Frame f of video b of a tap is that frame's feature: video 1 alone gives the same tap.
  ForwardOptions one;
  one.taps = {"up0"};
  auto single = net->forward(x.slice(0, 1, 2), t.slice(0, 1, 2), {}, {}, one);
  // (a batch of one runs other BLAS shapes: a tolerance, not bitwise)
  EXPECT_LT((single.features.at("up0")[0] - out.features.at("up0")[1]).abs().max().item<double>(),
            1e-5 * (1 + out.features.at("up0")[1].abs().max().item<double>()));
  o.taps = {"up3"};
  try {
    net->forward(x, t, {}, {}, o);
    FAIL() << "an unknown tap was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("up3"), std::string::npos) << e.what();
  }
}

TEST(BackboneUNet, ClassAndCaptionConditioning) {
  auto cfg = testing::micro_unet();
  cfg.conditioning = "class";
  cfg.num_classes = 3;
  auto net = random_unet(cfg);
  torch::NoGradGuard guard;
  auto x = torch::randn({2, 3, 2, 8, 8});
  auto t = torch::full({2, 2}, 400.0f);
  auto a = net->forward(x, t, torch::tensor({0, 1}), {}).prediction;
  auto b = net->forward(x, t, torch::tensor({0, -1}), {}).prediction;
  EXPECT_EQ((a[0] - b[0]).abs().max().item<double>(), 0.0);
  EXPECT_GT((a[1] - b[1]).abs().max().item<double>(), 1e-4);
  EXPECT_THROW(net->forward(x, t, torch::tensor({0, 3}), {}), Error);

  cfg.conditioning = "caption";
  auto cap = random_unet(cfg);
  auto c1 = cap->forward(x, t, {}, {"a red circle", "a blue square"}).prediction;
  auto c2 = cap->forward(x, t, {}, {"A red, circle!", ""}).prediction;
  EXPECT_EQ((c1[0] - c2[0]).abs().max().item<double>(), 0.0);  // same words
  EXPECT_GT((c1[1] - c2[1]).abs().max().item<double>(), 1e-4);
  EXPECT_EQ(caption_tokens("Red  circle", 1024), caption_tokens("red circle", 1024));
}

// clip-caption embeds the CLIP BPE ids the CLIP metrics read: one embedding row per id, the last row
// for the blank caption.
TEST(BackboneUNet, ClipCaptionConditioningEmbedsClipTokenIds) {
  auto cfg = testing::micro_unet();
  cfg.conditioning = "clip-caption";
  auto net = random_unet(cfg);
  const ClipTokenizer tokenizer(find_clip_vocab(""));
  std::vector<int64_t> expected;
  for (int id : tokenizer.encode("a red circle moving left")) expected.push_back(id % cfg.caption_vocab);
  EXPECT_EQ(caption_ids(cfg, &tokenizer, "a red circle moving left"), expected);
  EXPECT_TRUE(caption_ids(cfg, &tokenizer, blank_caption()).empty());
  int64_t rows = 0;
  for (const auto& p : net->named_parameters())
    if (p.key() == "caption_embedding.weight") rows = p.value().size(0);
  EXPECT_EQ(rows, cfg.caption_vocab + 1);
  // Every word moving-shapes captions use keeps a row of its own.
  std::set<int64_t> rows_used;
  std::size_t words = 0;
  for (const char* word : {"a", "red", "green", "blue", "yellow", "magenta", "cyan", "circle", "square",
                           "triangle", "moving", "right", "up", "and", "left", "down", "quickly", "slowly"})
    for (int64_t id : caption_ids(cfg, &tokenizer, word)) rows_used.insert(id), ++words;
  EXPECT_EQ(rows_used.size(), words);
  torch::NoGradGuard guard;
  auto x = torch::randn({2, 3, 2, 8, 8});
  auto t = torch::full({2, 2}, 400.0f);
  auto c1 = net->forward(x, t, {}, {"a red circle", "a blue square"}).prediction;
  auto c2 = net->forward(x, t, {}, {"A  red circle", ""}).prediction;
  EXPECT_EQ((c1[0] - c2[0]).abs().max().item<double>(), 0.0);  // CLIP's cleaning: the same ids
  EXPECT_GT((c1[1] - c2[1]).abs().max().item<double>(), 1e-4);
  const auto none = net->forward(x, t, {}, {}).prediction;
  EXPECT_EQ((c2[1] - none[1]).abs().max().item<double>(), 0.0);  // blank = no caption = the last row
}

class CaptionGuidance : public ::testing::TestWithParam<std::string> {};

TEST_P(CaptionGuidance, ScaleChangesTheSample) {
  // Classifier-free guidance with a caption unet: the unconditional branch is the blank caption, which
  // the network maps to its unconditional token exactly as for a dropped training caption, so scale 5
  // and scale 1 give different samples.
  auto cfg = testing::micro_unet();
  cfg.conditioning = GetParam();
  auto net = random_unet(cfg);
  torch::NoGradGuard guard;
  auto x = torch::randn({2, 3, 2, 8, 8});
  auto t = torch::full({2, 2}, 400.0f);
  const auto blank = net->forward(x, t, {}, {blank_caption(), blank_caption()}).prediction;
  const auto none = net->forward(x, t, {}, {}).prediction;
  EXPECT_EQ((blank - none).abs().max().item<double>(), 0.0);  // same batch, same unconditional token

  UNetBackbone bb(net.ptr(), Prediction::eps, NoiseSchedule::linear().to_config(), Json{{"name", "unet"}});
  Conditioning cond;
  cond.captions = {"a red circle moving left", "a blue square moving up"};
  const SamplerPtr sampler = [] {
    register_builtin_samplers();
    return sampler_registry().make("ddim", {{"steps", 4}}, "sampler");
  }();
  auto sample = [&](double scale) {
    SampleContext ctx;
    SampleStats stats;
    return sampler->sample(guided_denoise(bb, cond, scale, nullptr), x, ctx, stats);
  };
  const auto s1 = sample(1.0), s5 = sample(5.0);
  EXPECT_TRUE(torch::isfinite(s5).all().item<bool>());
  EXPECT_GT((s5 - s1).abs().max().item<double>(), 1e-3);
}

INSTANTIATE_TEST_SUITE_P(BackboneUNet, CaptionGuidance, ::testing::Values("caption", "clip-caption"),
                         [](const auto& info) { return info.param == "caption" ? std::string("HashedWords") : std::string("ClipTokenIds"); });

TEST(BackboneUNet, ImagesSkipTemporalLayers) {
  auto net = random_unet(testing::micro_unet());
  torch::NoGradGuard guard;
  auto x = torch::randn({3, 3, 1, 8, 8});
  auto y = net->forward(x, torch::full({3, 1}, 10.0f), {}, {}).prediction;
  EXPECT_EQ(y.sizes(), x.sizes());
}

TEST(BackboneUNet, PresetsBuildAndUnknownNamesAreRejected) {
  for (const auto& name : UNetConfig::preset_names()) {
    auto cfg = UNetConfig::preset(name);
    auto back = UNetConfig::from_json(cfg.to_json());
    EXPECT_EQ(back.to_json(), cfg.to_json()) << name;
  }
  VideoUNet tiny(UNetConfig::preset("tiny"));
  int64_t n = 0;
  for (auto& p : tiny->parameters()) n += p.numel();
  EXPECT_LT(n, 3'000'000);
  try {
    UNetConfig::preset("tiyn");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("tiny"), std::string::npos);
  }
}

}  // namespace
}  // namespace vdlab
