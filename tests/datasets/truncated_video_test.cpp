// A truncated video: it opens and its header still promises every frame, but decoding stops early.
// on_error: skip leaves it out (named in a warning, listed with a count); fail names it.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "datasets/clip_source.h"
#include "support/truncated_video.h"
#include "datasets/video_io.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;

fs::path ucf_folder_with_truncated(const std::string& name) {
  const fs::path root = fs::temp_directory_path() / name;
  fs::remove_all(root);
  fs::create_directories(root / "Walking");
  test::write_test_avi((root / "Walking" / "v_Walking_g01_c01.avi").string(), 24, 1);
  test::write_test_avi((root / "Walking" / "v_Walking_g02_c01.avi").string(), 24, 2);
  test::write_truncated_avi((root / "Walking" / "v_Walking_g03_c01.avi").string(), 24);
  std::ofstream(root / "classInd.txt") << "1 Walking\n";
  std::ofstream(root / "testlist01.txt") << "Walking/v_Walking_g01_c01.avi\nWalking/v_Walking_g03_c01.avi\n"
                                            "Walking/v_Walking_g02_c01.avi\n";
  return root;
}

TEST(TruncatedVideo, OpensButDecodesShort) {
  const fs::path dir = fs::temp_directory_path() / "vdlab_truncated_probe";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "cut.avi").string();
  test::write_truncated_avi(path, 24);
  EXPECT_GE(count_frames(path), 16);  // the header still promises the frames
  EXPECT_THROW(read_video(path, ReadOptions{16, 1, 0, 0}), IoError);
}

TEST(VideoFolder, SkipLeavesATruncatedVideoOutAndCountsIt) {
  const fs::path root = ucf_folder_with_truncated("vdlab_ucf_truncated");
  Json cfg = {{"name", "video-folder"}, {"root", root.string()}, {"split", "test"}, {"frames", 16}, {"size", 16}};
  // fail: the split is made (the cheap probe passes) but reading the clip names the file.
  const ClipSourcePtr failing = make_dataset(cfg);
  ASSERT_EQ(failing->size(), 3u);
  try {
    (void)failing->get(1);
    FAIL() << "a truncated video must be an error with on_error: fail";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("v_Walking_g03_c01.avi"), std::string::npos) << e.what();
  }
  cfg["on_error"] = "skip";
  const ClipSourcePtr skipping = make_dataset(cfg);
  ASSERT_EQ(skipping->size(), 2u);
  for (std::size_t i = 0; i < skipping->size(); ++i) EXPECT_EQ(skipping->get(i).video.frames, 16);
  const Json skipped = skipping->skipped_items();
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].at("id"), "Walking/v_Walking_g03_c01.avi");
}

TEST(ContactSheet, RowLabelsWidenTheSheetAndAreDrawn) {
  Video v(4, 8, 8);
  for (auto& b : v.data) b = 200;
  const fs::path dir = fs::temp_directory_path() / "vdlab_sheet_labels";
  fs::remove_all(dir);
  fs::create_directories(dir);
  write_contact_sheet({v, v}, (dir / "plain.png").string(), 4, 2);
  write_contact_sheet({v, v}, (dir / "labelled.png").string(), 4, 2, {"real", "ddim-10"});
  const cv::Mat plain = cv::imread((dir / "plain.png").string()), labelled = cv::imread((dir / "labelled.png").string());
  EXPECT_EQ(plain.rows, labelled.rows);
  ASSERT_GT(labelled.cols, plain.cols + 20);
  // The band left of the frames holds dark text pixels on white.
  const cv::Mat band = labelled(cv::Rect(0, 0, labelled.cols - plain.cols, labelled.rows));
  cv::Mat grey;
  cv::cvtColor(band, grey, cv::COLOR_BGR2GRAY);
  EXPECT_GT(cv::countNonZero(grey < 128), 10);
  EXPECT_THROW(write_contact_sheet({v, v}, (dir / "bad.png").string(), 4, 2, {"one label"}), Error);
}

}  // namespace
}  // namespace vdlab
