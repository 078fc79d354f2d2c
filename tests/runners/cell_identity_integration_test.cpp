// What decides that a cell is done: its hash and the identity of what it consumed. Changing a
// TorchScript file, a video of a video-folder split or an extractor file makes exactly the cells (or the
// metrics) that consumed it stale; adding a metric scores the stored videos and generates nothing.
// Analytic backbones and tiny splits keep each test to seconds.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "datasets/video_io.h"
#include "results/cell_file.h"
#include "runners/cli_support.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;
using testing::count_occurrences;
using testing::fresh_dir;
using testing::run_command;
using testing::vdlab_binary;
using testing::write_file;

std::string common_options(const fs::path& dir) {
  return " --out " + (dir / "out").string() + " --cache " + (dir / "cache").string() + " --threads 1";
}

int runs(const testing::CommandResult& r) { return count_occurrences(r.output, ": done in"); }
int skips(const testing::CommandResult& r) { return count_occurrences(r.output, "), skipped\n"); }
int rescored(const testing::CommandResult& r) { return count_occurrences(r.output, ": scored from its stored videos"); }

// Videos whose pixels follow `shade`: two clips of one class under root/Shapes.
void write_split(const fs::path& root, int shade) {
  fs::create_directories(root / "Shapes");
  for (int i = 0; i < 2; ++i) {
    Video v(6, 16, 16);
    for (int f = 0; f < 6; ++f)
      for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 16; ++x)
          for (int c = 0; c < 3; ++c) v.at(f, y, x, c) = std::uint8_t((shade + 37 * i + 9 * f + 5 * x + 3 * y + 40 * c) % 256);
    write_video(v, (root / "Shapes" / ("clip" + std::to_string(i) + ".mp4")).string());
  }
}

TEST(CellIdentityIntegration, ChangedVideoMakesOnlyItsSplitsCellsStale) {
  const fs::path dir = fresh_dir("vdlab_identity_video");
  write_split(dir / "a", 0);
  write_split(dir / "b", 100);
  const std::string exp = write_file(
      dir / "exp.yaml",
      "backbone: {name: diffusers-test}\n"
      "dataset: {name: video-folder, root: [" + (dir / "a").string() + ", " + (dir / "b").string() +
          "], split: all, frames: 4, size: 16}\n"
          "variants: [{method: uniform, sampler: {name: ddim, steps: 2}}]\n"
          "metrics: [mm]\n");
  const std::string run = vdlab_binary() + " run " + exp + common_options(dir);
  const auto first = run_command(run);
  ASSERT_EQ(first.code, 0) << first.output;
  EXPECT_EQ(runs(first), 2) << first.output;

  write_split(dir / "a", 50);  // the same names, other pixels
  const auto status = run_command(vdlab_binary() + " status " + (dir / "out").string());
  EXPECT_EQ(status.code, 0) << status.output;
  EXPECT_EQ(count_occurrences(status.output, "stale: dataset split content changed"), 1) << status.output;
  const auto second = run_command(run);
  ASSERT_EQ(second.code, 0) << second.output;
  EXPECT_EQ(runs(second), 1) << second.output;
  EXPECT_EQ(skips(second), 1) << second.output;
  EXPECT_EQ(runs(run_command(run)), 0);
}

TEST(CellIdentityIntegration, ChangedTorchscriptFileMakesItsCellsStaleAndOnlyThose) {
  const fs::path dir = fresh_dir("vdlab_identity_torchscript");
  const auto made = run_command("/usr/bin/python3 " VDLAB_SOURCE_DIR "/scripts/fixtures/make_torchscript_denoiser.py " +
                                (dir / "fixtures").string());
  ASSERT_EQ(made.code, 0) << made.output;
  fs::copy_file(dir / "fixtures" / "exact_eps.pt", dir / "model.pt");
  const std::string body = "dataset: {name: moving-shapes, split: test, clips: 2, frames: 4, size: 16}\n"
                           "variants: [{method: uniform, sampler: {name: ddim, steps: 2}}]\n"
                           "seeds: [0, 1]\n"
                           "metrics: [mm]\n";
  const std::string user = write_file(dir / "user.yaml", "backbone: {torchscript: " + (dir / "model.pt").string() + "}\n" + body);
  const std::string analytic = write_file(dir / "analytic.yaml", "backbone: {name: diffusers-test}\n" + body);
  for (const auto& exp : {user, analytic}) {
    const auto r = run_command(vdlab_binary() + " run " + exp + common_options(dir));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(runs(r), 2) << r.output;
  }

  fs::copy_file(dir / "fixtures" / "class_shift.pt", dir / "model.pt", fs::copy_options::overwrite_existing);
  const auto status = run_command(vdlab_binary() + " status " + user + common_options(dir));
  EXPECT_EQ(count_occurrences(status.output, "stale: backbone " + fs::absolute(dir / "model.pt").string() + " changed"), 2)
      << status.output;
  const auto again_analytic = run_command(vdlab_binary() + " run " + analytic + common_options(dir));
  EXPECT_EQ(runs(again_analytic), 0) << again_analytic.output;
  EXPECT_EQ(skips(again_analytic), 2) << again_analytic.output;
  const auto again_user = run_command(vdlab_binary() + " run " + user + common_options(dir));
  ASSERT_EQ(again_user.code, 0) << again_user.output;
  EXPECT_EQ(runs(again_user), 2) << again_user.output;
}

// An experiment that asks for one more metric, and an extractor file that changes: both are scored from
// the stored videos (in the cell file, or in features/<id>/samples.h5 without save_samples), and no
// video is generated again.
TEST(CellIdentityIntegration, MetricsAreAddedAndRescoredWithoutGenerating) {
  const fs::path dir = fresh_dir("vdlab_identity_metrics");
  const fs::path weights = dir / "weights";
  fs::create_directories(weights);
  const std::string fixtures = VDLAB_SOURCE_DIR "/tests/fixtures/metrics/extractors/";
  fs::copy_file(fixtures + "image_extractor.pt", weights / "inception-2015-12-05.pt");
  const std::string exp = write_file(dir / "exp.yaml",
                                     "backbone: {name: diffusers-test}\n"
                                     "dataset: {name: moving-shapes, split: test, clips: 3, frames: 4, size: 16}\n"
                                     "variants: [{method: uniform, sampler: {name: ddim, steps: 2}}]\n"
                                     "seeds: [0, 1]\n"
                                     "metrics: [mm]\n");
  const std::string options =
      " --cache " + (dir / "cache").string() + " --threads 1 --weights " + weights.string();
  for (const std::string save : {"true", "false"}) {
    const std::string out = " --out " + (dir / ("out_" + save)).string();
    const std::string base = vdlab_binary() + " run " + exp + options + out + " generate.save_samples=" + save;
    const auto first = run_command(base);
    ASSERT_EQ(first.code, 0) << first.output;
    ASSERT_EQ(runs(first), 2) << first.output;
    const fs::path cell = *fs::directory_iterator(dir / ("out_" + save) / "cells");
    const CellRecord before = read_cell(cell.string(), true);

    // One more metric: scored for every cell, nothing generated, the first metric untouched.
    const std::string more = base + " 'metrics=[mm, stability, {name: fid, extractor: inception-2015-12-05}]'";
    const auto added = run_command(more);
    ASSERT_EQ(added.code, 0) << added.output;
    EXPECT_EQ(runs(added), 0) << added.output;
    EXPECT_EQ(rescored(added), 2) << added.output;
    const CellRecord after = read_cell(cell.string(), true);
    EXPECT_EQ(after.provenance, before.provenance);
    EXPECT_EQ(after.timings.at("generate_s"), before.timings.at("generate_s"));
    ASSERT_EQ(after.samples.size(), before.samples.size());
    for (std::size_t i = 0; i < after.samples.size(); ++i) EXPECT_EQ(after.samples[i].data, before.samples[i].data);
    EXPECT_EQ(after.metrics.size(), 3u);
    double fid = -1;
    for (const auto& m : after.metrics) {
      if (m.key == "mm") {
        EXPECT_EQ(m.value, before.metrics.at(0).value);
      }
      if (m.key.rfind("fid", 0) == 0) fid = m.value;
    }
    EXPECT_TRUE(std::isfinite(fid));
    EXPECT_EQ(runs(run_command(more)) + rescored(run_command(more)), 0);

    // Another extractor file under the same name: only the metric that loaded it is scored again.
    fs::copy_file(fixtures + "image_extractor_b.pt", weights / "inception-2015-12-05.pt",
                  fs::copy_options::overwrite_existing);
    const auto rescore = run_command(more);
    ASSERT_EQ(rescore.code, 0) << rescore.output;
    EXPECT_EQ(runs(rescore), 0) << rescore.output;
    EXPECT_EQ(rescored(rescore), 2) << rescore.output;
    EXPECT_NE(rescore.output.find("extractor " + fs::absolute(weights / "inception-2015-12-05.pt").string() + " changed"),
              std::string::npos)
        << rescore.output;
    const CellRecord rescored_cell = read_cell(cell.string());
    for (const auto& m : rescored_cell.metrics)
      if (m.key.rfind("fid", 0) == 0) {
        EXPECT_NE(m.value, fid);
      }
    fs::copy_file(fixtures + "image_extractor.pt", weights / "inception-2015-12-05.pt",
                  fs::copy_options::overwrite_existing);
    run_command(more);  // back to the first extractor for the next round
  }
}

// A cell made by another vdlab version is kept and named as such; `--rerun stale` runs it again.
TEST(CellIdentityIntegration, OtherVersionIsShownAndRerunOnlyOnRequest) {
  const fs::path dir = fresh_dir("vdlab_identity_version");
  const std::string exp = write_file(dir / "exp.yaml",
                                     "backbone: {name: diffusers-test}\n"
                                     "dataset: {name: moving-shapes, split: test, clips: 2, frames: 4, size: 16}\n"
                                     "variants: [{method: uniform, sampler: {name: ddim, steps: 2}}]\n"
                                     "seeds: [0, 1]\n"
                                     "metrics: [mm]\n");
  const std::string run = vdlab_binary() + " run " + exp + common_options(dir);
  ASSERT_EQ(run_command(run).code, 0);
  fs::path cell;
  for (const auto& e : fs::directory_iterator(dir / "out" / "cells")) cell = e.path();
  CellRecord old = read_cell(cell.string(), true);
  old.provenance["vdlab_version"] = "0.0.1";
  write_cell(old, cell.string());

  const auto status = run_command(vdlab_binary() + " status " + (dir / "out").string());
  EXPECT_EQ(status.code, 0) << status.output;
  EXPECT_NE(status.output.find("2 of 2 cells done (1 by another vdlab version)"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("made by vdlab 0.0.1"), std::string::npos) << status.output;
  const auto kept = run_command(run);
  EXPECT_EQ(runs(kept), 0) << kept.output;
  std::ifstream report(dir / "out" / "report.md");
  const std::string md((std::istreambuf_iterator<char>(report)), std::istreambuf_iterator<char>());
  EXPECT_NE(md.find("`: vdlab 0.0.1"), std::string::npos) << md;
  const auto rerun = run_command(run + " --rerun stale");
  ASSERT_EQ(rerun.code, 0) << rerun.output;
  EXPECT_EQ(runs(rerun), 1) << rerun.output;
  EXPECT_NE(read_cell(cell.string()).provenance.at("vdlab_version"), "0.0.1");
}

}  // namespace
}  // namespace vdlab
