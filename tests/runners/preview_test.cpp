// `vdlab preview` writes every file or none: a truncated video in the split leaves no partial preview.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "metrics/metrics_support.h"
#include "runners/preview_command.h"
#include "support/truncated_video.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;

std::string split_with_truncated(const std::string& name) {
  const std::string root = test::scratch_dir(name);
  fs::create_directories(root + "/Walking");
  test::write_test_avi(root + "/Walking/v_Walking_g01_c01.avi", 20, 1);
  test::write_truncated_avi(root + "/Walking/v_Walking_g02_c01.avi", 20);
  test::write_test_avi(root + "/Walking/v_Walking_g03_c01.avi", 20, 2);
  return root;
}

std::size_t files_in(const std::string& dir) {
  if (!fs::exists(dir)) return 0;
  return std::size_t(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TEST(Preview, ATruncatedVideoLeavesNoPartialPreview) {
  const std::string root = split_with_truncated("preview-split"), out = test::scratch_dir("preview-out");
  const std::string cfg = "{name: video-folder, root: " + root + ", split: all, frames: 16, size: 16}";
  testing::internal::CaptureStdout();
  EXPECT_THROW(preview_command().run({cfg, "--out", out}), IoError);
  testing::internal::GetCapturedStdout();
  EXPECT_EQ(files_in(out), 0u);  // not the first clip's mp4, not a temp file
  // With on_error: skip the two readable clips and the contact sheet are written, and the skip is told.
  testing::internal::CaptureStdout();
  EXPECT_EQ(preview_command().run({"{name: video-folder, root: " + root + ", split: all, frames: 16, size: 16, on_error: skip}",
                                   "--out", out}),
            0);
  const std::string printed = testing::internal::GetCapturedStdout();
  EXPECT_TRUE(fs::exists(out + "/clip_0.mp4"));
  EXPECT_TRUE(fs::exists(out + "/clip_1.mp4"));
  EXPECT_TRUE(fs::exists(out + "/contact_sheet.png"));
  EXPECT_EQ(files_in(out), 3u);
  EXPECT_NE(printed.find("1 unreadable videos skipped"), std::string::npos) << printed;
}

}  // namespace
}  // namespace vdlab
