// Cases whose answers are known by hand: identical frames (MM 0, FC 1), a translating square's flow,
// a set against itself (FID and FVD 0), stability of broken videos; and the reference-statistics cache.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "metrics/builtin_metrics.h"
#include "metrics/motion.h"
#include "metrics/stats_cache.h"
#include "metrics_support.h"

namespace vdlab {
namespace {

Video still_video(int frames) {
  return test::make_video(frames, 24, 24, [](int, int y, int x, int c) { return 30 + 5 * y + 3 * x + 20 * c; });
}

// A textured 14x14 square on a flat background, moving (dx, dy) pixels per frame.
Video translating_square(int frames, int dx, int dy) {
  return test::make_video(frames, 64, 64, [&](int f, int y, int x, int) {
    const int sx = x - (18 + dx * f), sy = y - (20 + dy * f);
    if (sx < 0 || sy < 0 || sx >= 14 || sy >= 14) return 90;
    return 40 + int(170 * (0.5 + 0.5 * test::counter_uniform(77, std::uint64_t(sy * 14 + sx))));
  });
}

MetricValue only(const std::vector<MetricValue>& values, const std::string& key) {
  for (const auto& v : values)
    if (v.key == key) return v;
  throw std::runtime_error("no value " + key);
}

TEST(HandChecks, IdenticalFramesGiveZeroMotionMagnitude) {
  EXPECT_EQ(motion_magnitude(still_video(6)), 0.0);
  // One channel of one pixel changes by 255 between two frames of 2x2: 255 / (255 * 12 values).
  Video v(2, 2, 2);
  v.at(1, 0, 0, 0) = 255;
  EXPECT_DOUBLE_EQ(motion_magnitude(v), 1.0 / 12.0);
  register_builtin_metrics();
  VideoSet s;
  s.videos = {still_video(4), still_video(8)};
  MetricContext ctx;
  const auto mm = metric_registry().make("mm", Json::object(), "mm")->compute(s, s, ctx);
  EXPECT_EQ(mm[0].value, 0.0);
  EXPECT_EQ(mm[0].per_sample.size(), 2u);
}

TEST(HandChecks, IdenticalFramesGiveFrameConsistencyOne) {
  register_builtin_metrics();
  MetricContext ctx;
  ctx.weights_dir = test::test_weights_dir("fc-weights");
  VideoSet s;
  s.videos = {still_video(5)};
  const auto fc = metric_registry().make("fc", Json::object(), "fc")->compute(s, s, ctx);
  ASSERT_FALSE(fc[0].skipped) << fc[0].skip_reason;
  EXPECT_NEAR(fc[0].value, 1.0, 1e-6);
  // A changing video is less consistent.
  VideoSet moving;
  moving.videos = {translating_square(5, 6, 0)};
  const auto fc2 = metric_registry().make("fc", Json::object(), "fc")->compute(moving, moving, ctx);
  EXPECT_LT(fc2[0].value, 1.0 - 1e-6);
}

TEST(HandChecks, TranslatingSquareGivesItsFlow) {
  for (const auto& shift : std::vector<std::pair<int, int>>{{2, 1}, {0, 3}, {-2, 0}}) {
    const Video v = translating_square(3, shift.first, shift.second);
    const std::vector<float> flow = farneback_flow(v, 0);
    std::vector<float> fx, fy;
    for (int y = 20 + 3; y < 20 + 11; ++y)  // the square's interior in frame 0
      for (int x = 18 + 3; x < 18 + 11; ++x) {
        fx.push_back(flow[(std::size_t(y) * 64 + x) * 2]);
        fy.push_back(flow[(std::size_t(y) * 64 + x) * 2 + 1]);
      }
    std::nth_element(fx.begin(), fx.begin() + fx.size() / 2, fx.end());
    std::nth_element(fy.begin(), fy.begin() + fy.size() / 2, fy.end());
    EXPECT_NEAR(fx[fx.size() / 2], shift.first, 0.25) << shift.first << "," << shift.second;
    EXPECT_NEAR(fy[fy.size() / 2], shift.second, 0.25) << shift.first << "," << shift.second;
  }
  EXPECT_LT(flow_motion(still_video(3)), 0.01);  // no motion, up to Farneback's border noise
  EXPECT_GT(flow_motion(translating_square(3, 2, 0)), 0.1);
}

TEST(HandChecks, MotionDynamicsIsTheRelativeChange) {
  EXPECT_DOUBLE_EQ(motion_dynamics({3.0, 5.0}, {2.0, 2.0}), 1.0);
  EXPECT_DOUBLE_EQ(motion_dynamics({1.0}, {2.0}), -0.5);
  EXPECT_THROW(motion_dynamics({1.0}, {0.0}), NumericError);
  // Through the metric: a square moving twice as fast as the real one has about twice the flow.
  register_builtin_metrics();
  VideoSet real, fast;
  real.videos = {translating_square(4, 2, 0)};
  fast.videos = {translating_square(4, 4, 0)};
  MetricContext ctx;
  const auto values = metric_registry().make("flow_motion", Json::object(), "flow_motion")->compute(real, fast, ctx);
  const MetricValue d = only(values, "motion_dynamics[vs-real]");
  EXPECT_NEAR(d.value, only(values, "flow_motion").value / d.protocol.at("baseline_flow_motion").get<double>() - 1.0,
              1e-12);
  EXPECT_GT(d.value, 0.5);
  EXPECT_LT(d.value, 1.5);
}

TEST(HandChecks, SetAgainstItselfGivesZeroFidAndFvd) {
  register_builtin_metrics();
  MetricContext ctx;
  ctx.weights_dir = test::test_weights_dir("self-weights");
  ctx.cache_dir = test::scratch_dir("self-cache");
  const VideoSet s = test::varied_set(12, 16, 24, 5);
  const VideoSet other = test::varied_set(12, 16, 24, 6);
  for (const char* name : {"fid", "fvd"}) {
    Json params = Json::object();
    if (std::string(name) == "fvd") params["protocol"] = "center-crop";  // no random offsets: same clips
    const auto self = metric_registry().make(name, params, name)->compute(s, s, ctx);
    ASSERT_FALSE(self[0].skipped) << self[0].skip_reason;
    EXPECT_NEAR(self[0].value, 0.0, 1e-8 * std::max(1.0, self[0].protocol.at("trace_real").get<double>())) << name;
    const auto diff = metric_registry().make(name, params, name)->compute(s, other, ctx);
    EXPECT_GT(diff[0].value, 1e-3) << name;
  }
}

TEST(HandChecks, StabilityFlagsSaturatedAndCollapsedVideos) {
  register_builtin_metrics();
  VideoSet s;
  s.videos.push_back(still_video(4));                                                 // fine
  s.videos.push_back(test::make_video(4, 16, 16, [](int, int, int, int) { return 77; }));  // collapsed
  s.videos.push_back(test::make_video(4, 16, 16, [](int f, int y, int, int) { return f == 2 ? 255 * (y % 2) : 100 + y; }));  // one saturated frame
  MetricContext ctx;
  const auto v = metric_registry().make("stability", Json::object(), "stability")->compute(s, s, ctx);
  EXPECT_NEAR(v[0].value, 1.0 / 3.0, 1e-12);
  EXPECT_EQ(v[0].per_sample, (std::vector<double>{1.0, 0.0, 0.0}));
}

TEST(StatsCache, ReusedWhenKeysMatchAndRecomputedWhenTheExtractorChanges) {
  register_builtin_metrics();
  MetricContext ctx;
  ctx.cache_dir = test::scratch_dir("cache-cache");
  ctx.weights_dir = test::test_weights_dir("cache-weights-a");
  ctx.features_dir = test::scratch_dir("cache-features");
  const VideoSet real = test::varied_set(6, 4, 20, 7), fake = test::varied_set(6, 4, 20, 8);
  auto fid = [&] { return metric_registry().make("fid", Json::object(), "fid")->compute(real, fake, ctx)[0]; };
  const MetricValue first = fid();
  EXPECT_EQ(first.protocol.at("reference_stats"), "computed");
  const MetricValue second = fid();
  EXPECT_EQ(second.protocol.at("reference_stats"), "cached");
  EXPECT_DOUBLE_EQ(first.value, second.value);
  // The generated set's features were stored for this cell.
  const Features stored = read_features(second.protocol.at("features_file").get<std::string>());
  EXPECT_EQ(stored.rows, 24);
  EXPECT_EQ(stored.cols, 256);
  // Another extractor file (same name, other weights): other hash, the cache entry does not match.
  ctx.weights_dir = test::test_weights_dir("cache-weights-b", "image_extractor_b.pt");
  const MetricValue third = fid();
  EXPECT_EQ(third.protocol.at("reference_stats"), "computed");
  EXPECT_NE(third.protocol.at("extractor").at("sha256"), first.protocol.at("extractor").at("sha256"));
  EXPECT_NE(third.value, first.value);
  // Another real split: recomputed too.
  const VideoSet other_real = test::varied_set(6, 4, 20, 9);
  const MetricValue fourth = metric_registry().make("fid", Json::object(), "fid")->compute(other_real, fake, ctx)[0];
  EXPECT_EQ(fourth.protocol.at("reference_stats"), "computed");
}

TEST(StoredFeatures, AnotherMetricOnTheSameFeaturesReadsThemBack) {
  register_builtin_metrics();
  MetricContext ctx;
  ctx.cache_dir = test::scratch_dir("readback-cache");
  ctx.weights_dir = test::test_weights_dir("readback-weights");
  ctx.features_dir = test::scratch_dir("readback-features");
  const VideoSet real = test::varied_set(6, 4, 20, 7), fake = test::varied_set(6, 4, 20, 8);
  auto fid = [&](const std::string& estimator, MetricContext& c) {
    return metric_registry().make("fid", Json{{"estimator", estimator}}, "fid")->compute(real, fake, c)[0];
  };
  const MetricValue unbiased = fid("unbiased", ctx);
  EXPECT_FALSE(unbiased.protocol.value("features_read_back", false));
  // The biased estimator needs the same features: they are read back, not extracted again.
  const MetricValue biased = fid("biased", ctx);
  EXPECT_TRUE(biased.protocol.value("features_read_back", false));
  EXPECT_EQ(biased.protocol.at("features_file"), unbiased.protocol.at("features_file"));
  EXPECT_EQ(biased.protocol.at("fake"), unbiased.protocol.at("fake"));  // the shapes come back with them
  // And give the value a fresh extraction gives.
  MetricContext fresh = ctx;
  fresh.features_dir = test::scratch_dir("readback-features-fresh");
  const MetricValue extracted = fid("biased", fresh);
  EXPECT_FALSE(extracted.protocol.value("features_read_back", false));
  EXPECT_NEAR(biased.value, extracted.value, 1e-9 * std::max(1.0, std::abs(extracted.value)));
  // Another extractor file: other features, extracted again.
  ctx.weights_dir = test::test_weights_dir("readback-weights-b", "image_extractor_b.pt");
  EXPECT_FALSE(fid("biased", ctx).protocol.value("features_read_back", false));
}

TEST(StatsCache, RoundTripsStatisticsAndRejectsOtherKeys) {
  const std::string dir = test::scratch_dir("cache-roundtrip");
  StatsCache cache(dir);
  FeatureStats s(3);
  const double rows[6] = {1, 2, 3, 4, 6, 8};
  s.add(rows, 2);
  StatsKey key{"abc", Json{{"metric", "fid"}}, "sha"};
  EXPECT_FALSE(cache.load(key).has_value());
  cache.store(key, s);
  const auto back = cache.load(key);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->count(), 2);
  EXPECT_EQ(back->mean(), s.mean());
  EXPECT_EQ(back->scatter(), s.scatter());
  StatsKey other = key;
  other.protocol["frames"] = 16;
  EXPECT_FALSE(cache.load(other).has_value());
  EXPECT_FALSE(StatsCache("").load(key).has_value());
}

}  // namespace
}  // namespace vdlab
