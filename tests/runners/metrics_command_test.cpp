// `vdlab metrics` end to end on two folders of real clips (Debian's opencv-doc videos).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "metrics/metrics_support.h"
#include "runners/metrics_command.h"

namespace vdlab {
namespace {

const std::string kData = "/usr/share/doc/opencv-doc/examples/data/";

TEST(MetricsCommand, HelpTeachesAndMissingSourcesAreErrors) {
  const Command c = metrics_command();
  EXPECT_EQ(c.name, "metrics");
  testing::internal::CaptureStdout();
  EXPECT_EQ(c.run({"--help"}), 0);
  const std::string help = testing::internal::GetCapturedStdout();
  EXPECT_NE(help.find("--real"), std::string::npos);
  EXPECT_NE(help.find("fvd[tiny-i3d]"), std::string::npos);
  EXPECT_THROW(c.run({"--real", "/tmp"}), ConfigError);
  EXPECT_THROW(c.run({"--real", "/nonexistent", "--fake", "/nonexistent"}), IoError);
}

TEST(MetricsCommandRealdata, TwoFoldersThenCachedThenInvalidated) {
  if (!std::filesystem::exists(kData + "vtest.avi")) GTEST_SKIP() << "opencv-doc is not installed";
  const std::string real = test::scratch_dir("cmd-real"), fake = test::scratch_dir("cmd-fake");
  for (const char* f : {"vtest.avi", "Megamind.avi"}) std::filesystem::create_symlink(kData + f, real + "/" + f);
  for (const char* f : {"tree.avi", "Megamind_bugy.avi"}) std::filesystem::create_symlink(kData + f, fake + "/" + f);
  const std::string cache = test::scratch_dir("cmd-cache"), out = cache + "/scores.json";
  auto run = [&](const std::string& weights) {
    const std::vector<std::string> args = {"--real", real, "--fake", fake, "--metrics", "fid,fvd[i3d],mm",
                                           "--weights", weights, "--cache", cache, "--size", "48",
                                           "--out", out, "--quiet"};
    testing::internal::CaptureStdout();
    const int rc = metrics_command().run(args);
    const std::string table = testing::internal::GetCapturedStdout();
    EXPECT_EQ(rc, 0);
    EXPECT_NE(table.find("fvd[i3d]"), std::string::npos) << table;
    std::ifstream in(out);
    return Json::parse(in);
  };
  auto stats_of = [](const Json& j, const std::string& key) {
    for (const auto& m : j.at("metrics"))
      if (m.at("key") == key) return m.at("protocol").at("reference_stats").get<std::string>();
    return std::string("missing");
  };
  const std::string weights_a = test::test_weights_dir("cmd-weights-a");
  const Json first = run(weights_a);
  EXPECT_EQ(first.at("metrics").size(), 3u);
  EXPECT_EQ(stats_of(first, "fid[inception-2015-12-05]"), "computed");
  const Json second = run(weights_a);
  EXPECT_EQ(stats_of(second, "fid[inception-2015-12-05]"), "cached");
  EXPECT_EQ(stats_of(second, "fvd[i3d]"), "cached");
  const Json third = run(test::test_weights_dir("cmd-weights-b", "image_extractor_b.pt"));
  EXPECT_EQ(stats_of(third, "fid[inception-2015-12-05]"), "computed");
  EXPECT_EQ(stats_of(third, "fvd[i3d]"), "cached");  // its extractor did not change
}

}  // namespace
}  // namespace vdlab
