#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "datasets/clip_source.h"

namespace vdlab {
namespace {

ClipSourcePtr shapes(Json extra = Json::object()) {
  Json cfg = {{"name", "moving-shapes"}, {"clips", 6}, {"frames", 8}, {"size", 32}};
  cfg.update(extra);
  return make_dataset(cfg);
}

TEST(MovingShapesTest, DeterministicAndHashed) {
  auto a = shapes(), b = shapes();
  EXPECT_EQ(a->get(3).video.data, b->get(3).video.data);
  EXPECT_EQ(a->content_hash(), b->content_hash());
  EXPECT_NE(a->content_hash(), shapes({{"seed", 1}})->content_hash());
  EXPECT_NE(a->content_hash(), shapes({{"split", "test"}})->content_hash());
}

TEST(MovingShapesTest, ShapesMoveAtTheirLabelledSpeed) {
  auto src = shapes({{"frames", 4}, {"min_speed", 1.0}, {"max_speed", 1.0}});
  for (std::size_t i = 0; i < src->size(); ++i) {
    const Clip c = src->get(i);
    ASSERT_EQ(c.video.frames, 4);
    EXPECT_GE(c.label, 0);
    EXPECT_LT(c.label, 3);
    EXPECT_NE(c.caption.find(src->class_names()[c.label]), std::string::npos);
    EXPECT_NEAR(c.motion[0].second, 1.0, 1e-12);
    // Consecutive frames differ (the shape moved) but not everywhere (the background stays).
    int changed = 0;
    for (std::size_t k = 0; k < c.video.frame_size(); ++k) changed += c.video.frame(0)[k] != c.video.frame(1)[k];
    EXPECT_GT(changed, 0);
    EXPECT_LT(changed, int(c.video.frame_size() / 2));
  }
}

TEST(MovingShapesTest, BadParametersNameTheField) {
  try {
    shapes({{"clips", 0}});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "dataset.clips: must be at least 1");
  }
  try {
    make_dataset(Json{{"name", "moving-shape"}});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'moving-shapes'"), std::string::npos);
  }
}

}  // namespace
}  // namespace vdlab
