// CLIP's "shorter side to 224, centre crop 224" against torchvision's Resize(224) and CenterCrop(224)
// (scripts/reference/metrics_clip_resize.py).
#include <gtest/gtest.h>

#include "fixture_support.h"
#include "metrics/extractors/resize_geometry.h"

namespace vdlab {
namespace {

TEST(ClipResize, MatchesTorchvisionResizeAndCenterCrop) {
  const Json ref = test::read_json(test::metrics_fixture("clip_resize_reference.json"));
  const int size = ref.at("size").get<int>();
  ASSERT_GE(ref.at("cases").size(), 10u);
  for (const Json& c : ref.at("cases")) {
    const ResizeCrop g = shorter_side_resize_crop(c.at("height").get<int>(), c.at("width").get<int>(), size);
    const std::string name = std::to_string(c.at("height").get<int>()) + "x" + std::to_string(c.at("width").get<int>());
    EXPECT_EQ(g.resized_height, c.at("resized_height").get<int>()) << name;
    EXPECT_EQ(g.resized_width, c.at("resized_width").get<int>()) << name;
    EXPECT_EQ(g.top, c.at("top").get<int>()) << name;
    EXPECT_EQ(g.left, c.at("left").get<int>()) << name;
  }
  // The case that showed the difference: 240 x 320 truncates to 298, where rounding gives 299.
  EXPECT_EQ(shorter_side_resize_crop(240, 320, 224).resized_width, 298);
}

}  // namespace
}  // namespace vdlab
