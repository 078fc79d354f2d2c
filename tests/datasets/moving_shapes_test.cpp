#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <sstream>

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

// "a red circle moving left quickly" -> "red circle".
std::string colour_shape(const std::string& caption) {
  std::istringstream words(caption);
  std::string a, colour, shape;
  words >> a >> colour >> shape;
  return colour + " " + shape;
}

// The clips drawn before the held-out split existed, pinned by their content hash (pixels, captions,
// labels; computed by the generator before `held_out` and `combinations` were added): the default draws
// them bitwise unchanged, so cached backbones and statistics of existing splits stay valid.
TEST(MovingShapesTest, DefaultClipsAreThoseDrawnBeforeTheHeldOutSplit) {
  EXPECT_EQ(shapes({{"clips", 12}})->content_hash(),
            "0ae861a588762f3a40bd2329188a201f25046c498c68519edb4cb724591e97e6");
  EXPECT_EQ(make_dataset({{"name", "moving-shapes"}, {"clips", 6}, {"frames", 4}, {"size", 24}, {"split", "test"},
                          {"shapes_per_clip", 2}})
                ->content_hash(),
            "a5c261f1725f51daccf26ff0aa3c559b081eb4bba02f72c35736165f586d7ca4");
  // The held-out list alone changes nothing; only `combinations` does.
  EXPECT_EQ(shapes({{"held_out", Json::array({"cyan square"})}})->content_hash(), shapes()->content_hash());
}

TEST(MovingShapesTest, CaptionsNameColourShapeDirectionAndSpeed) {
  auto src = shapes({{"clips", 40}});
  std::set<std::string> speeds;
  for (std::size_t i = 0; i < src->size(); ++i) {
    const Clip c = src->get(i);
    std::istringstream words(c.caption);
    std::string a, colour, shape, moving;
    words >> a >> colour >> shape >> moving;
    EXPECT_EQ(shape, src->class_names()[std::size_t(c.label)]) << c.caption;
    EXPECT_EQ(moving, "moving") << c.caption;
    const std::string speed = c.caption.substr(c.caption.rfind(' ') + 1);
    speeds.insert(speed);
    // "quickly" above the middle of the speed range [0.5, 2], "slowly" below it.
    EXPECT_EQ(speed, c.motion[0].second > 1.25 ? "quickly" : "slowly") << c.caption;
  }
  EXPECT_EQ(speeds.size(), 2u);
}

TEST(MovingShapesTest, HeldOutCombinationsSplitTheColourShapePairs) {
  const Json held = Json::array({"red circle", "cyan square"});
  auto seen = shapes({{"clips", 80}, {"held_out", held}, {"combinations", "seen"}, {"shapes_per_clip", 2}});
  auto held_out = shapes({{"clips", 40}, {"held_out", held}, {"combinations", "held_out"}});
  std::set<std::string> seen_pairs, held_pairs;
  for (std::size_t i = 0; i < seen->size(); ++i) seen_pairs.insert(colour_shape(seen->get(i).caption));
  for (std::size_t i = 0; i < held_out->size(); ++i) held_pairs.insert(colour_shape(held_out->get(i).caption));
  EXPECT_EQ(seen_pairs.count("red circle") + seen_pairs.count("cyan square"), 0u);
  EXPECT_GT(seen_pairs.size(), 10u);  // the other 16 pairs are drawn
  EXPECT_EQ(held_pairs, (std::set<std::string>{"red circle", "cyan square"}));
}

TEST(MovingShapesTest, BadHeldOutPairsNameTheField) {
  try {
    shapes({{"held_out", Json::array({"purple circle"})}});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("dataset.held_out: 'purple circle' is not"), std::string::npos) << e.what();
  }
  EXPECT_THROW(shapes({{"held_out", Json::array()}, {"combinations", "seen"}}), ConfigError);
  EXPECT_THROW(shapes({{"combinations", "unseen"}}), ConfigError);
}

}  // namespace
}  // namespace vdlab
