// `vdlab metrics` end to end on two folders of real clips (Debian's opencv-doc videos).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/hash.h"
#include "metrics/extractors/tiny_extractors.h"
#include "metrics/metrics_support.h"
#include "runners/cell_runner.h"
#include "runners/metrics_command.h"
#include "support/truncated_video.h"

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

namespace vdlab {
namespace {

// Two readable AVIs and a truncated one (opens, header counts every frame, decoding stops early).
std::string folder_with_truncated(const std::string& name) {
  const std::string dir = test::scratch_dir(name);
  test::write_test_avi(dir + "/a.avi", 20, 1);
  test::write_test_avi(dir + "/b.avi", 20, 2);
  test::write_truncated_avi(dir + "/c_cut.avi", 20);
  return dir;
}

TEST(MetricsCommand, OnErrorSkipLeavesATruncatedVideoOutAndRecordsIt) {
  const std::string dir = folder_with_truncated("cmd-truncated"), out = test::scratch_dir("cmd-truncated-out") + "/s.json";
  const std::vector<std::string> base = {"--real", dir, "--fake", dir, "--metrics", "mm,flow_motion", "--frames", "16",
                                         "--cache", test::scratch_dir("cmd-truncated-cache"), "--out", out};
  testing::internal::CaptureStdout();
  try {
    metrics_command().run(base);
    testing::internal::GetCapturedStdout();
    FAIL() << "a truncated video fails the call by default";
  } catch (const IoError& e) {
    testing::internal::GetCapturedStdout();
    EXPECT_NE(std::string(e.what()).find("c_cut.avi"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(out));  // nothing half-written
  std::vector<std::string> skip = base;
  for (const char* a : {"--on-error", "skip", "-v"}) skip.push_back(a);
  testing::internal::CaptureStdout();
  EXPECT_EQ(metrics_command().run(skip), 0);
  testing::internal::GetCapturedStdout();
  std::ifstream in(out);
  const Json j = Json::parse(in);
  EXPECT_EQ(j.at("on_error"), "skip");
  for (const char* side : {"real", "fake"}) {
    const Json& s = j.at(side);
    EXPECT_EQ(s.at("skipped_count"), 1) << s.dump();
    EXPECT_EQ(s.at("skipped")[0].at("file"), "c_cut.avi");
    ASSERT_EQ(s.at("videos").size(), 2u);
    for (const Json& v : s.at("videos")) {  // each video's own size and length
      EXPECT_EQ(v.at("frames"), 16);
      EXPECT_EQ(v.at("height"), 32);
      EXPECT_EQ(v.at("width"), 48);
    }
    EXPECT_EQ(s.at("videos")[1].at("file"), "b.avi");
  }
  EXPECT_EQ(j.at("metrics")[0].at("per_sample").size(), 2u);
}

TEST(MetricsCommand, TableColumnsNeverRunTogether) {
  MetricValue a, b, c;
  a.key = "fvd[tiny-i3d,center-crop,f8,unbiased]";
  a.value = -123456.789012;
  a.protocol = {{"extractor", {{"sha256", "0123456789abcdef"}}}, {"reference_stats", "cached"}};
  b.key = "mm";
  b.value = 0.5;
  c.key = "clip_sim[clip-vit-b32]";
  c.skipped = true;
  c.skip_reason = "no weights";
  const std::string table = format_metrics_table({a, b, c});
  std::istringstream lines(table);
  std::string line;
  std::vector<std::string> all;
  while (std::getline(lines, line)) all.push_back(line);
  ASSERT_EQ(all.size(), 4u) << table;
  const std::size_t notes = all[0].find("notes");
  ASSERT_NE(notes, std::string::npos);
  EXPECT_EQ(all[1].find("extractor sha256 0123456789ab"), notes) << table;
  EXPECT_EQ(all[3].find("no weights"), notes) << table;
  EXPECT_EQ(all[1].substr(notes - 2, 2), "  ") << table;  // the widest value keeps two spaces
  EXPECT_NE(all[1].find("-123457"), std::string::npos) << table;
}

TEST(MetricsCommand, FindsTheTinyExtractorWhereRunCachesIt) {
  const std::string cache = test::scratch_dir("cmd-tiny-cache");
  RunOptions run_options;
  run_options.cache_dir = cache;
  // Where `vdlab run` keeps tiny-inception: a file already there is used, never trained again.
  const MetricContext run_ctx = metric_context(run_options, 0);
  const std::string cached = tiny_extractor_dir(run_ctx.cache_dir) + "/tiny-inception-" +
                             config_hash(TinyTrainConfig::make("tiny-inception").to_json()) + ".pt";
  std::filesystem::create_directories(std::filesystem::path(cached).parent_path());
  std::filesystem::copy_file(test::extractor_fixture("image_extractor.pt"), cached);
  const std::string dir = test::scratch_dir("cmd-tiny-videos"), out = cache + "/s.json";
  test::write_test_avi(dir + "/a.avi", 8, 1);
  test::write_test_avi(dir + "/b.avi", 8, 2);
  test::write_test_avi(dir + "/c.avi", 8, 3);
  testing::internal::CaptureStdout();
  EXPECT_EQ(metrics_command().run({"--real", dir, "--fake", dir, "--metrics", "fid[tiny-inception]", "--frames", "4",
                                   "--cache", cache, "--out", out, "-q"}),
            0);
  testing::internal::GetCapturedStdout();
  std::ifstream in(out);
  const Json j = Json::parse(in);
  EXPECT_EQ(j.at("metrics")[0].at("protocol").at("extractor").at("path"), cached) << j.dump(1);
}

}  // namespace
}  // namespace vdlab
