// Paired source-fidelity measures (VMC): a video against itself keeps its motion perfectly, the same
// motion reversed scores negative, and a recoloured copy changes appearance but not motion.
#include <gtest/gtest.h>

#include "metrics/metric.h"
#include "metrics/source_fidelity.h"

namespace vdlab {
namespace {

// A 6 x 6 block of `rgb` on grey moving `dx` pixels per frame.
Video moving_block(int dx, std::array<uint8_t, 3> rgb, int frames = 6, int size = 32) {
  Video v(frames, size, size);
  for (int f = 0; f < frames; ++f)
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        const int x0 = 10 + dx * f;
        const bool in = y >= 12 && y < 18 && x >= x0 && x < x0 + 6;
        for (int c = 0; c < 3; ++c) v.at(f, y, x, c) = in ? rgb[size_t(c)] : 40;
      }
  return v;
}

TEST(SourceFidelity, SameMotionOppositeMotionAndRecolour) {
  const Video source = moving_block(1, {230, 40, 40});
  EXPECT_NEAR(flow_field_correlation(source, source), 1.0, 1e-9);
  EXPECT_NEAR(flow_direction_agreement(source, source), 1.0, 1e-9);
  EXPECT_EQ(colour_histogram_distance(source, source), 0.0);

  const Video reversed = moving_block(-1, {230, 40, 40});
  EXPECT_LT(flow_field_correlation(source, reversed), 0.0);
  EXPECT_NEAR(flow_direction_agreement(source, reversed), -1.0, 0.05);

  const Video recoloured = moving_block(1, {40, 200, 60});
  EXPECT_GT(flow_field_correlation(source, recoloured), 0.8);
  EXPECT_GT(flow_direction_agreement(source, recoloured), 0.95);
  // The block covers 36 of 1024 pixels; all of them change bins.
  EXPECT_NEAR(colour_histogram_distance(source, recoloured), 36.0 / 1024.0, 1e-9);

  const Video still = moving_block(0, {230, 40, 40});
  EXPECT_EQ(flow_field_correlation(source, still), 0.0);  // no motion at all: no correlation
}

TEST(SourceFidelity, MetricsPairGeneratedVideoIWithSourceClipI) {
  register_builtin_metrics();
  VideoSet real, fake;
  real.videos = {moving_block(1, {230, 40, 40}), moving_block(-1, {50, 90, 240})};
  fake.videos = {moving_block(1, {40, 200, 60}), moving_block(1, {50, 90, 240})};
  MetricContext ctx;
  const auto fidelity = metric_registry().make("motion_fidelity", Json::object(), "metrics[0]")->compute(real, fake, ctx);
  ASSERT_EQ(fidelity.size(), 2u);
  EXPECT_EQ(fidelity[0].key, "motion_fidelity");
  EXPECT_EQ(fidelity[1].key, "flow_direction_agreement");
  ASSERT_EQ(fidelity[1].per_sample.size(), 2u);
  EXPECT_GT(fidelity[1].per_sample[0], 0.95);   // same motion
  EXPECT_LT(fidelity[1].per_sample[1], -0.95);  // its source moves the other way
  const auto change = metric_registry().make("appearance_change", Json::object(), "metrics[0]")->compute(real, fake, ctx);
  ASSERT_EQ(change.size(), 1u);
  EXPECT_GT(change[0].per_sample[0], 0.0);
  EXPECT_EQ(change[0].per_sample[1], 0.0);  // same colours, only the motion differs
}

}  // namespace
}  // namespace vdlab
