// The "frames" wrapper (a metric on a frame range or on windows of the generated videos, with the drift
// from the first window to the last) and "smoothness" (temporal acceleration and the largest frame step
// against the mean one), on videos whose answers are known by hand.
#include <gtest/gtest.h>

#include "core/error.h"
#include "metrics/builtin_metrics.h"
#include "metrics_support.h"

namespace vdlab {
namespace {

// 2x2 videos whose every value is levels[f] on frame f.
Video levels_video(const std::vector<int>& levels) {
  return test::make_video(int(levels.size()), 2, 2, [&](int f, int, int, int) { return levels[size_t(f)]; });
}

const MetricValue& only(const std::vector<MetricValue>& values, const std::string& key) {
  for (const auto& v : values)
    if (v.key == key) return v;
  throw std::runtime_error("no value " + key);
}

std::vector<MetricValue> score(const Json& config, const VideoSet& fake) {
  register_builtin_metrics();
  MetricContext ctx;
  const Json resolved = metric_registry().resolve(config, "metrics[0]");
  return metric_registry().make_resolved(resolved, "metrics[0]")->compute(fake, fake, ctx);
}

TEST(FrameRangeMetric, WindowsScoreEachChunkPositionAndTheDrift) {
  // Still for frames 0-3, steps of 51 for frames 4-8, steps of 25 down for frames 8-11.
  VideoSet set;
  set.videos = {levels_video({0, 0, 0, 0, 51, 102, 153, 204, 255, 230, 205, 180})};
  set.content_hash = "cell";
  const auto values = score({{"name", "frames"}, {"metric", "mm"}, {"window", 4}}, set);
  ASSERT_EQ(values.size(), 4u);  // three windows and the drift
  EXPECT_EQ(only(values, "mm[at0]").value, 0.0);
  EXPECT_DOUBLE_EQ(only(values, "mm[at4]").value, 51.0 / 255.0);
  EXPECT_DOUBLE_EQ(only(values, "mm[at8]").value, 25.0 / 255.0);
  EXPECT_DOUBLE_EQ(only(values, "mm[drift]").value, 25.0 / 255.0);
  EXPECT_EQ(only(values, "mm[at4]").protocol.at("frame_range").at("first"), 4);
  EXPECT_EQ(only(values, "mm[at4]").per_sample.size(), 1u);
  // Overlapping windows (stride 2): starts 0, 2, 4, 6, 8.
  const auto overlapping = score({{"name", "frames"}, {"metric", "mm"}, {"window", 4}, {"stride", 2}}, set);
  EXPECT_EQ(overlapping.size(), 6u);
  // frames 2-5: steps 0, 51, 51 of 255.
  EXPECT_DOUBLE_EQ(only(overlapping, "mm[at2]").value, 102.0 / 3.0 / 255.0);
}

TEST(FrameRangeMetric, ARangeDropsGivenFramesAndBracketedKeysGainAPart) {
  VideoSet set;
  set.videos = {levels_video({0, 0, 0, 0, 51, 102, 153, 204, 255, 230, 205, 180})};
  // Frames 1 to 10: steps 0, 0, 51 x 5, 25, 25 over 9 pairs.
  const auto range = score({{"name", "frames"}, {"metric", "mm"}, {"from", 1}, {"to", -1}}, set);
  ASSERT_EQ(range.size(), 1u);
  EXPECT_EQ(range[0].key, "mm[frames1:-1]");
  EXPECT_DOUBLE_EQ(range[0].value, (5 * 51.0 + 2 * 25.0) / 9.0 / 255.0);
  EXPECT_EQ(score({{"name", "frames"}, {"metric", "mm"}, {"from", 1}}, set)[0].key, "mm[frames1:]");
  // A metric with parts in its key keeps them: smoothness[jump] -> smoothness[jump,at0].
  const auto windows = score({{"name", "frames"}, {"metric", "smoothness"}, {"window", 6}}, set);
  EXPECT_NO_THROW(only(windows, "smoothness[at0]"));
  EXPECT_NO_THROW(only(windows, "smoothness[jump,at6]"));
  EXPECT_NO_THROW(only(windows, "smoothness[jump,drift]"));
  // No such frames: skipped with the reason.
  const auto none = score({{"name", "frames"}, {"metric", "mm"}, {"window", 20}}, set);
  ASSERT_EQ(none.size(), 1u);
  EXPECT_TRUE(none[0].skipped);
  EXPECT_NE(none[0].skip_reason.find("12 frames"), std::string::npos);
}

TEST(FrameRangeMetric, BadSettingsNameTheField) {
  register_builtin_metrics();
  auto message = [](const Json& config) {
    try {
      score(config, VideoSet());
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"name", "frames"}, {"window", -1}}).find("metrics[0].window"), std::string::npos);
  EXPECT_NE(message({{"name", "frames"}, {"stride", 2}}).find("metrics[0].stride"), std::string::npos);
  EXPECT_NE(message({{"name", "frames"}, {"metric", {{"name", "frames"}}}}).find("metrics[0].metric"), std::string::npos);
  EXPECT_NE(message({{"name", "frames"}, {"metric", "mmm"}}).find("mm"), std::string::npos);
}

TEST(SmoothnessMetric, EvenMotionIsSmoothAndAJumpShows) {
  VideoSet set;
  set.videos = {levels_video({0, 20, 40, 60, 80}),   // constant motion
                levels_video({0, 10, 20, 30, 130}),  // steps 10, 10, 10, then 100
                levels_video({7, 7, 7})};            // still
  const auto values = score({{"name", "smoothness"}}, set);
  const MetricValue& accel = only(values, "smoothness");
  const MetricValue& jump = only(values, "smoothness[jump]");
  ASSERT_EQ(accel.per_sample.size(), 3u);
  EXPECT_EQ(accel.per_sample[0], 0.0);
  EXPECT_DOUBLE_EQ(accel.per_sample[1], 90.0 / 255.0 / 3.0);  // only f = 3: 130 - 60 + 20
  EXPECT_EQ(accel.per_sample[2], 0.0);
  EXPECT_DOUBLE_EQ(jump.per_sample[0], 1.0);
  EXPECT_DOUBLE_EQ(jump.per_sample[1], 100.0 / 32.5);
  EXPECT_EQ(jump.per_sample[2], 1.0);
  EXPECT_DOUBLE_EQ(accel.value, (90.0 / 255.0 / 3.0) / 3.0);
  EXPECT_FALSE(accel.higher_is_better);
  // Two frames have no acceleration: skipped, named.
  VideoSet short_set;
  short_set.videos = {levels_video({1, 2})};
  const auto skipped = score({{"name", "smoothness"}}, short_set);
  EXPECT_TRUE(only(skipped, "smoothness").skipped);
  EXPECT_NE(only(skipped, "smoothness").skip_reason.find("3 frames"), std::string::npos);
}

}  // namespace
}  // namespace vdlab
