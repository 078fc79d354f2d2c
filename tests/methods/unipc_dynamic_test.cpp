// UniPC-Dynamic (METHODS.md 2): each edit on tensors whose result is known by hand, the presets against
// the source's table A.2, and the method on the generation pipeline (every component off is plain UniPC,
// bitwise; the edit and its attenuation by the next corrector are recorded).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "core/error.h"
#include "methods/backbone/backbone.h"
#include "methods/hooks/hook_registry.h"
#include "methods/method.h"
#include "methods/unipc_dynamic/motion_edit_hook.h"
#include "methods/unipc_dynamic/motion_edits.h"
#include "methods/unipc_dynamic/presets.h"

namespace vdlab {
namespace {

using namespace unipc_dynamic;

at::Tensor random_frame(std::vector<int64_t> shape, uint64_t seed) {
  return at::randn(shape, at::make_generator<at::CPUGeneratorImpl>(seed), at::kDouble);
}

// x[:, :, f] = a + f v (frames linear in time), [B, C, F, H, W].
at::Tensor linear_frames(const at::Tensor& a, const at::Tensor& v, int64_t frames) {
  std::vector<at::Tensor> fs;
  for (int64_t f = 0; f < frames; ++f) fs.push_back(a + static_cast<double>(f) * v);
  return at::stack(fs, 2);
}

double max_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

TEST(UniPCDynamicEdits, LinearFramesGiveTheExactBoostedMotion) {
  const at::Tensor a = random_frame({2, 3, 4, 4}, 1), v = random_frame({2, 3, 4, 4}, 2);
  const at::Tensor x = linear_frames(a, v, 5);
  // Constant motion: no prediction term, M_enh = gamma v for every frame.
  const at::Tensor m = boosted_motion(x, 0.3, 1.12);
  ASSERT_EQ(m.size(2), 4);
  for (int64_t j = 0; j < 4; ++j) EXPECT_LT(max_diff(m.select(2, j), 1.12 * v), 1e-12) << j;
  // Write-back: x[f] <- (1 - bw) x[f] + bw (x[f-1] + gamma v) = x[f] + bw (gamma - 1) v; frame 0 untouched.
  const at::Tensor y = write_back(x, m, 0.12, "prev_frame");
  EXPECT_TRUE(at::equal(y.select(2, 0), x.select(2, 0)));
  for (int64_t f = 1; f < 5; ++f) EXPECT_LT(max_diff(y.select(2, f), x.select(2, f) + 0.12 * 0.12 * v), 1e-12) << f;
}

TEST(UniPCDynamicEdits, AcceleratingFramesGetThePredictionTerm) {
  const at::Tensor v = random_frame({1, 2, 3, 3}, 3);
  const at::Tensor x = linear_frames(at::zeros_like(v), v, 4) * at::arange(4, at::kDouble).view({1, 1, 4, 1, 1});
  // x[f] = f^2 v: M of frame f is (2f - 1) v, its predecessor's (2f - 3) v, so M_pred = M + 2 v beta for
  // f >= 2; frame 1 has no earlier motion.
  const at::Tensor m = boosted_motion(x, 0.3, 1.05);
  EXPECT_LT(max_diff(m.select(2, 0), 1.05 * v), 1e-12);
  EXPECT_LT(max_diff(m.select(2, 1), 1.05 * (3 + 0.6) * v), 1e-12);
  EXPECT_LT(max_diff(m.select(2, 2), 1.05 * (5 + 0.6) * v), 1e-12);
}

TEST(UniPCDynamicEdits, ChainedWriteBackCarriesThePreviousFramesEdit) {
  const at::Tensor a = random_frame({1, 2, 3, 3}, 4), v = random_frame({1, 2, 3, 3}, 5);
  const at::Tensor x = linear_frames(a, v, 4);
  const at::Tensor y = write_back(x, boosted_motion(x, 0.3, 1.2), 0.1, "chained");
  // d_f = y[f] - x[f] = bw d_{f-1} + bw (gamma - 1) v with d_0 = 0.
  double d = 0;
  for (int64_t f = 1; f < 4; ++f) {
    d = 0.1 * d + 0.1 * 0.2;
    EXPECT_LT(max_diff(y.select(2, f), x.select(2, f) + d * v), 1e-12) << f;
  }
  EXPECT_THROW(write_back(x, boosted_motion(x, 0.3, 1.2), 0.1, "sideways"), ConfigError);
}

TEST(UniPCDynamicEdits, IdenticalHistoryGivesTheFormulasWeights) {
  const at::Tensor x = random_frame({2, 3, 3, 4, 4}, 6);
  const std::vector<at::Tensor> history(4, x);
  // u = l = 1: w_i = ((i + 1) / 4) (1 + 1) 0.5 0.5 for every frame.
  const at::Tensor w = half_frame_weights(x, history, 0.5);
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{4, 3}));
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t f = 0; f < 3; ++f) EXPECT_NEAR(w[i][f].item<double>(), (i + 1) / 4.0 * 0.5, 1e-12);
  // The overlap of x with itself is x: the attention changes nothing.
  EXPECT_LT(max_diff(half_frame_attention(x, history, AttentionSettings{}), x), 1e-12);
}

TEST(UniPCDynamicEdits, ScaledHistoryBlendsTheHalvesAsymmetrically) {
  const at::Tensor x = random_frame({1, 2, 2, 4, 3}, 7);
  // One entry 2x: cosine 1, w = (1/1) (1 + 1) 0.5 0.5 = 0.5; overlap = x (1 - 0.15) + 2x 0.15 = 1.15 x;
  // upper: 0.8 x + 0.2 1.15 x = 1.03 x; lower: 0.9 x + 0.1 1.15 x = 1.015 x.
  const at::Tensor e = half_frame_attention(x, {2 * x}, AttentionSettings{});
  EXPECT_LT(max_diff(e.narrow(3, 0, 2), 1.03 * x.narrow(3, 0, 2)), 1e-12);
  EXPECT_LT(max_diff(e.narrow(3, 2, 2), 1.015 * x.narrow(3, 2, 2)), 1e-12);
  // An opposed entry (cosine -1, w < 0) is skipped: E stays x.
  EXPECT_TRUE(at::equal(half_frame_attention(x, {-x}, AttentionSettings{}), x));
  EXPECT_TRUE(half_frame_attention(x, {}, AttentionSettings{}).is_same(x));
}

TEST(UniPCDynamicEdits, FrameHistoryShiftsAlongTheFrames) {
  const at::Tensor x = at::arange(4, at::kDouble).view({1, 1, 4, 1, 1});
  const std::vector<at::Tensor> h = frame_history(x, 2);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_TRUE(at::equal(h[0].flatten(), at::tensor({0.0, 0.0, 0.0, 1.0}, at::kDouble)));  // lag 2, oldest
  EXPECT_TRUE(at::equal(h[1].flatten(), at::tensor({0.0, 0.0, 1.0, 2.0}, at::kDouble)));  // lag 1
}

TEST(UniPCDynamicEdits, SalientTokenIsScaledByExactlyOnePlusGain) {
  // Four tokens of two channels in one frame: norms 1, 1, 1 and 10; mean 3.25, threshold 3.9.
  at::Tensor x = at::zeros({1, 2, 1, 2, 2}, at::kDouble);
  x[0][0][0][0][0] = 1.0;
  x[0][1][0][0][1] = 1.0;
  x[0][0][0][1][0] = 0.6;
  x[0][1][0][1][0] = 0.8;
  x[0][0][0][1][1] = 6.0;
  x[0][1][0][1][1] = 8.0;
  const at::Tensor y = sparse_tokens(x, 1.2, 0.03);
  EXPECT_DOUBLE_EQ(y[0][0][0][1][1].item<double>(), 6.0 * 1.03);
  EXPECT_DOUBLE_EQ(y[0][1][0][1][1].item<double>(), 8.0 * 1.03);
  at::Tensor rest = y.clone();
  rest.select(4, 1).select(3, 1).zero_();
  at::Tensor want = x.clone();
  want.select(4, 1).select(3, 1).zero_();
  EXPECT_TRUE(at::equal(rest, want));  // tokens under the threshold are untouched
  // A token exactly at the threshold (strict >) is not salient: norms 1, 1, 1, 1 -> mean 1, none > 1.2.
  const at::Tensor flat = at::ones({1, 1, 1, 2, 2}, at::kDouble);
  EXPECT_TRUE(at::equal(sparse_tokens(flat, 1.2, 0.03), flat));
}

TEST(UniPCDynamicEdits, DepthProxyOfKnownRamps) {
  // A linear ramp G = 2 w: gradient (2, 0) everywhere, D = sqrt(4 + eps) constant, D_n = 0.
  const at::Tensor cols = at::arange(5, at::kDouble).view({1, 1, 1, 1, 5});
  // Frames shifted by f: the motion is 1 everywhere, the gradient unchanged.
  const at::Tensor shift = at::arange(2, at::kDouble).view({1, 1, 2, 1, 1});
  const at::Tensor linear = (2 * cols + shift).expand({1, 3, 2, 4, 5}).contiguous();
  EXPECT_LT(max_diff(depth_proxy(linear, 1e-6), at::full({1, 2, 4, 5}, std::sqrt(4 + 1e-6), at::kDouble)), 1e-12);
  EXPECT_LT(max_diff(depth_modulation(linear, 1e-6), at::full({1, 2, 4, 5}, 0.5, at::kDouble)), 1e-12);
  // M_world = 0.5 M on it.
  EXPECT_LT(max_diff(world_motion(linear, 1e-6), at::full({1, 3, 1, 4, 5}, 0.5, at::kDouble)), 1e-12);
  // A quadratic ramp G = w^2 (the channel mean of w^2 + c and w^2 - c): one-sided at the borders,
  // central inside: gx = 1, 2, 4, 6, 7.
  const at::Tensor c = at::arange(2, at::kDouble).view({1, 2, 1, 1, 1}) * 2 - 1;
  const at::Tensor quad = (cols * cols + c).expand({1, 2, 1, 3, 5}).contiguous();
  const std::vector<double> gx = {1, 2, 4, 6, 7};
  const at::Tensor d = depth_proxy(quad, 1e-6), mod = depth_modulation(quad, 1e-6);
  const double lo = std::sqrt(1 + 1e-6), hi = std::sqrt(49 + 1e-6);
  for (int64_t h = 0; h < 3; ++h)
    for (int64_t w = 0; w < 5; ++w) {
      const double want = std::sqrt(gx[w] * gx[w] + 1e-6);
      EXPECT_NEAR(d[0][0][h][w].item<double>(), want, 1e-12);
      EXPECT_NEAR(mod[0][0][h][w].item<double>(), 0.5 + 0.5 * (want - lo) / (hi - lo + 1e-6), 1e-12);
    }
}

TEST(UniPCDynamicEdits, DecompositionSplitsGlobalAndLocalMotion) {
  // Uniform positive motion: |M| pooled is M itself, M_local = 0, M_comb = 0.3 0.8 M.
  const at::Tensor a = random_frame({1, 2, 8, 8}, 8);
  const at::Tensor uniform = linear_frames(a, at::full({1, 2, 8, 8}, 0.5, at::kDouble), 3);
  EXPECT_LT(max_diff(decomposed_motion(uniform, DecompositionSettings{}), at::full({1, 2, 2, 8, 8}, 0.24 * 0.5, at::kDouble)),
            1e-12);
  // One moving pixel per 8x8 block: M_global = 1/64 over the block, M_local = M - 1/64.
  at::Tensor v = at::zeros({1, 1, 8, 16}, at::kDouble);
  v[0][0][3][2] = 1.0;
  v[0][0][5][12] = -1.0;
  const at::Tensor x = linear_frames(at::zeros_like(v), v, 2);
  const at::Tensor global = at::full({1, 1, 1, 8, 16}, 1.0 / 64, at::kDouble);
  const at::Tensor want = 0.84 * (v.unsqueeze(2) - global) + 0.24 * global;
  EXPECT_LT(max_diff(decomposed_motion(x, DecompositionSettings{}), want), 1e-12);
}

TEST(UniPCDynamicEdits, PresetsAreTheSourcesTableA2) {
  // Table A.2 of the source (motion_scale, blend_weight, enable_decomp, enable_sparse, enable_world);
  // stage 1 (attention and boost) is on in every mode.
  struct Row { const char* mode; double gamma, bw; bool decomp, sparse, world; };
  const Row table[] = {{"safe", 1.05, 0.05, false, false, false},
                       {"balanced", 1.08, 0.08, true, true, false},
                       {"dynamic", 1.12, 0.12, true, true, true}};
  for (const Row& r : table) {
    const ModePreset* p = find_mode_preset(r.mode);
    ASSERT_NE(p, nullptr) << r.mode;
    EXPECT_EQ(p->motion_scale, r.gamma) << r.mode;
    EXPECT_EQ(p->blend_weight, r.bw) << r.mode;
    EXPECT_EQ(p->decomposition, r.decomp) << r.mode;
    EXPECT_EQ(p->sparse, r.sparse) << r.mode;
    EXPECT_EQ(p->world, r.world) << r.mode;
    EXPECT_TRUE(p->attention && p->boost) << r.mode;
  }
  const ModePreset* off = find_mode_preset("off");
  ASSERT_NE(off, nullptr);
  EXPECT_FALSE(off->attention || off->boost || off->decomposition || off->sparse || off->world);
  EXPECT_EQ(find_mode_preset("turbo"), nullptr);
}

TEST(UniPCDynamicEdits, EditsApplyInTheSourcesOrder) {
  const at::Tensor x = random_frame({2, 3, 4, 8, 8}, 9);
  const std::vector<at::Tensor> hist = {random_frame({2, 3, 4, 8, 8}, 10), x * 0.9};
  EditSettings s;
  s.attention = s.boost = s.decomposition = s.sparse = s.world = true;
  at::Tensor want = half_frame_attention(x, hist, s.attn);
  want = write_back(want, boosted_motion(want, 0.3, s.motion_scale), s.blend_weight, "prev_frame");
  want = write_back(want, decomposed_motion(want, s.decomposition_settings), s.blend_weight, "prev_frame");
  want = sparse_tokens(want, 1.2, 0.03);
  want = write_back(want, world_motion(want, 1e-6), s.blend_weight, "prev_frame");
  EXPECT_TRUE(at::equal(apply_edits(x, hist, s), want));
  EXPECT_TRUE(apply_edits(x, hist, EditSettings{}).is_same(x));
}

// ---- on the generation pipeline ----

struct Generated {
  at::Tensor videos;
  Json stats;
};

Generated generate(const std::string& method, const Json& params, int64_t frames = 4) {
  register_builtin_methods();
  BackbonePtr backbone = backbone_registry().make("gaussian", {}, "backbone")(BackboneContext{});
  GenerateRequest r;
  r.count = 4;
  r.batch_size = 2;
  r.frames = frames;
  r.height = r.width = 8;
  r.seed = 3;
  const GenerateResult out = method_registry().make(method, params, "v")->generate(*backbone, r);
  return {out.videos, out.stats};
}

const Json kUniPC = {{"name", "unipc"}, {"order", 2}, {"variant", "bh2"}, {"steps", 10}};

TEST(UniPCDynamicMethod, EveryComponentOffIsPlainUniPCBitwise) {
  const Generated plain = generate("uniform", {{"sampler", kUniPC}});
  const Generated off = generate("unipc-dynamic", {{"sampler", kUniPC}, {"mode", "off"}});
  EXPECT_TRUE(at::equal(plain.videos, off.videos));
  const Generated switched = generate("unipc-dynamic", {{"sampler", kUniPC}, {"mode", "dynamic"}, {"attention", false},
                                                        {"boost", false}, {"decomposition", false}, {"sparse", false},
                                                        {"world", false}});
  EXPECT_TRUE(at::equal(plain.videos, switched.videos));
  EXPECT_TRUE(off.stats.at("edit").at("attenuation_mean").is_null());
}

TEST(UniPCDynamicMethod, ModesEditAndRecordTheEditAndItsAttenuation) {
  const Generated plain = generate("uniform", {{"sampler", kUniPC}});
  const Generated balanced = generate("unipc-dynamic", {{"sampler", kUniPC}, {"mode", "balanced"}});
  EXPECT_FALSE(at::allclose(plain.videos, balanced.videos));
  const Json& e = balanced.stats.at("edit");
  EXPECT_EQ(e.at("name"), "unipc-dynamic");
  EXPECT_EQ(e.at("settings").at("motion_scale"), 1.08);
  EXPECT_EQ(e.at("settings").at("decomposition"), true);
  EXPECT_EQ(e.at("settings").at("world"), false);
  EXPECT_EQ(e.at("runs"), 2);
  ASSERT_EQ(e.at("edit_norm").size(), 10u);
  ASSERT_EQ(e.at("attenuation").size(), 10u);
  for (size_t i = 0; i < 10; ++i) EXPECT_GT(e.at("edit_norm")[i].get<double>(), 0.0) << i;
  // Every step but the last is followed by a corrector.
  for (size_t i = 0; i < 9; ++i) EXPECT_TRUE(e.at("attenuation")[i].is_number()) << i;
  EXPECT_TRUE(e.at("attenuation")[9].is_null());
  EXPECT_TRUE(e.at("attenuation_mean").is_number());
  EXPECT_TRUE(e.at("attenuation_pooled").is_number());
  // Overrides of a preset value are applied.
  const Generated stronger = generate("unipc-dynamic", {{"sampler", kUniPC}, {"mode", "balanced"}, {"motion_scale", 1.3}});
  EXPECT_EQ(stronger.stats.at("edit").at("settings").at("motion_scale"), 1.3);
  EXPECT_FALSE(at::equal(stronger.videos, balanced.videos));
}

TEST(UniPCDynamicMethod, PlaceOfTheEditDecidesWhatTheCorrectorSees) {
  const Generated off = generate("unipc-dynamic", {{"sampler", kUniPC}, {"mode", "safe"}, {"place", "after_step_corrector_off"}});
  const Json& e = off.stats.at("edit");
  for (const Json& a : e.at("attenuation")) EXPECT_TRUE(a.is_null());
  EXPECT_GT(e.at("edit_norm_mean").get<double>(), 0.0);
  const Generated input = generate("unipc-dynamic", {{"sampler", kUniPC}, {"mode", "safe"}, {"place", "model_input"}});
  // On the model input the corrector of the same step recomputes the sample: measured from step 1 on.
  EXPECT_TRUE(input.stats.at("edit").at("attenuation")[0].is_null());
  EXPECT_TRUE(input.stats.at("edit").at("attenuation")[1].is_number());
  const Generated after = generate("unipc-dynamic", {{"sampler", kUniPC}, {"mode", "safe"}});
  EXPECT_FALSE(at::equal(after.videos, off.videos));
  EXPECT_FALSE(at::equal(after.videos, input.videos));
}

TEST(UniPCDynamicMethod, MeasuringChangesNoVideo) {
  const Generated measured = generate("unipc-dynamic", {{"sampler", kUniPC}, {"mode", "dynamic"}});
  const Generated quiet = generate("unipc-dynamic", {{"sampler", kUniPC}, {"mode", "dynamic"}, {"measure", false}});
  EXPECT_TRUE(at::equal(measured.videos, quiet.videos));
  EXPECT_TRUE(quiet.stats.at("edit").at("edit_norm_mean").is_null());
  EXPECT_TRUE(quiet.stats.at("edit").at("attenuation_mean").is_null());
  EXPECT_EQ(quiet.stats.at("edit").at("runs"), 2);
}

TEST(UniPCDynamicMethod, AComponentHookAloneEqualsTheMethodWithOnlyThatComponent) {
  const Json boost = {{"name", "motion-boost"}, {"motion_scale", 1.2}, {"blend_weight", 0.12}};
  const Generated hook = generate("uniform", {{"sampler", kUniPC}, {"hooks", Json::array({boost})}});
  const Generated method = generate("unipc-dynamic", {{"sampler", kUniPC}, {"mode", "off"}, {"boost", true},
                                                      {"motion_scale", 1.2}, {"blend_weight", 0.12}});
  EXPECT_TRUE(at::equal(hook.videos, method.videos));
  for (const char* name : {"unipc-dynamic", "half-frame-attention", "motion-boost", "motion-decomposition",
                           "sparse-tokens", "world-space"})
    EXPECT_TRUE(hook_registry().contains(name)) << name;
}

TEST(UniPCDynamicMethod, BadValuesAreRefusedNamingTheField) {
  register_builtin_methods();
  auto refused = [](const Json& params, const std::string& field) {
    try {
      method_registry().make("unipc-dynamic", params, "variants[0]");
      ADD_FAILURE() << "accepted " << params.dump();
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  refused({{"mode", "turbo"}}, "mode");
  refused({{"window", 0}}, "window");
  refused({{"attention", "yes"}}, "attention");
  refused({{"place", "before"}}, "place");
  refused({{"blend_weight", 1.5}}, "blend_weight");
}

}  // namespace
}  // namespace vdlab
