#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "datasets/clip_source.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;

const fs::path kOpencvData = "/usr/share/doc/opencv-doc/examples/data";

// A UCF-101-style folder built from the real clips Debian's opencv-doc ships (links, no copies).
fs::path make_ucf_layout(const std::string& name, bool with_corrupt) {
  const fs::path root = fs::temp_directory_path() / name;
  fs::remove_all(root);
  fs::create_directories(root / "Walking");
  fs::create_directories(root / "Trees");
  fs::create_symlink(kOpencvData / "vtest.avi", root / "Walking" / "v_Walking_g01_c01.avi");
  fs::create_symlink(kOpencvData / "Megamind.avi", root / "Walking" / "v_Walking_g02_c01.avi");
  fs::create_symlink(kOpencvData / "tree.avi", root / "Trees" / "v_Trees_g01_c01.avi");
  std::ofstream(root / "classInd.txt") << "1 Walking\n2 Trees\n";
  std::ofstream(root / "trainlist01.txt") << "Walking/v_Walking_g02_c01.avi 1\n";
  std::ofstream test(root / "testlist01.txt");
  test << "Walking/v_Walking_g01_c01.avi\nTrees/v_Trees_g01_c01.avi\n";
  if (with_corrupt) {
    std::ofstream(root / "Trees" / "v_Trees_g09_c01.avi") << "this is not a video";
    test << "Trees/v_Trees_g09_c01.avi\n";
  }
  return root;
}

TEST(VideoFolderRealdata, ReadsOpencvDocClipsInUcfLayout) {
  if (!fs::exists(kOpencvData / "vtest.avi")) GTEST_SKIP() << "opencv-doc is not installed";
  const fs::path root = make_ucf_layout("vdlab_ucf_real", false);
  auto test = make_dataset({{"name", "video-folder"}, {"root", root.string()}, {"split", "test"}, {"frames", 8},
                            {"stride", 2}, {"size", 48}});
  ASSERT_EQ(test->size(), 2u);
  EXPECT_EQ(test->class_names(), (std::vector<std::string>{"Walking", "Trees"}));
  const Clip walking = test->get(0), trees = test->get(1);
  EXPECT_EQ(walking.video.frames, 8);
  EXPECT_EQ(walking.video.height, 48);
  EXPECT_EQ(walking.video.width, 48);
  EXPECT_EQ(walking.label, 0);
  EXPECT_EQ(trees.label, 1);
  EXPECT_EQ(walking.caption, "walking");
  // Real footage: frames differ, and not by noise alone.
  double diff = 0;
  for (std::size_t k = 0; k < walking.video.frame_size(); ++k)
    diff += std::abs(int(walking.video.frame(7)[k]) - int(walking.video.frame(0)[k]));
  EXPECT_GT(diff / double(walking.video.frame_size()), 0.5);
  auto train = make_dataset({{"name", "video-folder"}, {"root", root.string()}, {"split", "train"}, {"frames", 4}});
  EXPECT_EQ(train->size(), 1u);
  EXPECT_NE(train->content_hash(), test->content_hash());
  Json again = test->describe();
  again["name"] = "video-folder";
  EXPECT_EQ(test->content_hash(), make_dataset(again)->content_hash());
}

TEST(VideoFolderRealdata, CorruptVideoIsNamedOrSkipped) {
  if (!fs::exists(kOpencvData / "vtest.avi")) GTEST_SKIP() << "opencv-doc is not installed";
  const fs::path root = make_ucf_layout("vdlab_ucf_corrupt", true);
  const Json cfg = {{"name", "video-folder"}, {"root", root.string()}, {"split", "test"}, {"frames", 4}};
  try {
    make_dataset(cfg);
    FAIL() << "a corrupt video must be an error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("v_Trees_g09_c01.avi"), std::string::npos) << e.what();
  }
  Json skip = cfg;
  skip["on_error"] = "skip";
  EXPECT_EQ(make_dataset(skip)->size(), 2u);
}

TEST(VideoFolderTest, MissingRootIsAnError) {
  try {
    make_dataset({{"name", "video-folder"}, {"root", "/nonexistent/videos"}});
    FAIL();
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()), "dataset.root: /nonexistent/videos: no such folder");
  }
}

}  // namespace
}  // namespace vdlab
