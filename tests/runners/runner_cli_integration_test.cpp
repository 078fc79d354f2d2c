// The runner's commands as a user meets them: bad values fail `plan` and `run` with exit code 2 before a
// backbone loads, `plan` says what the backbone will cost, `status` works from the output folder alone,
// and `--threads` holds through training and metric extractors.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

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

// A backbone that would train for a long time: any check that comes after it loads would take minutes.
const char* kTrainedBackbone = "backbone: {name: unet, preset: tiny, train: {steps: 100000}}\n";

TEST(RunnerCliIntegration, BadValuesFailPlanAndRunWithExitCode2BeforeTheBackbone) {
  const fs::path dir = fresh_dir("vdlab_runner_cli_bad");
  const std::string exp = write_file(dir / "exp.yaml", std::string(kTrainedBackbone) +
                                                           "dataset: {name: moving-shapes, split: test, clips: 2, frames: 4, size: 16}\n"
                                                           "variants: [{method: uniform, sampler: {name: ddim, steps: 5}}]\n");
  struct Case {
    std::string override_, expected;
  };
  const std::vector<Case> cases = {
      {"sampler.steps=-5", "variants[0].sampler.steps: must be at least 1, got -5"},
      {"'variants.0.noise={name: ar1, rho: 1.5}'", "variants[0].noise.rho: must lie in [0, 1]"},
      {"'dataset={name: video-folder, root: /no/such/folder}'", "dataset.root: /no/such/folder: no such folder"},
  };
  const std::string common = " --out " + (dir / "out").string() + " --cache " + (dir / "cache").string() + " --threads 1";
  for (const auto& c : cases)
    for (const std::string command : {"plan", "run", "cell"}) {
      const auto t0 = std::chrono::steady_clock::now();
      const auto r = run_command(vdlab_binary() + " " + command + " " + exp + " " + c.override_ + common +
                                 (command == "cell" ? " --index 0" : ""));
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      EXPECT_EQ(r.code, 2) << command << " " << c.override_ << "\n" << r.output;
      EXPECT_NE(r.output.find(c.expected), std::string::npos) << command << "\n" << r.output;
      EXPECT_EQ(count_occurrences(r.output, "\n"), 1) << r.output;
      EXPECT_LT(seconds, 30.0) << "the check came after the backbone";
    }
  EXPECT_FALSE(fs::exists(dir / "cache" / "backbones"));
  // Every command's help promises exit code 2 for bad input.
  for (const char* command : {"run", "plan", "cell", "status"})
    EXPECT_NE(run_command(vdlab_binary() + " " + command + " --help").output.find("2 for bad input"), std::string::npos)
        << command;
}

TEST(RunnerCliIntegration, PlanSaysWhetherTheBackboneTrainsAndWarnsOfTheDefaultSplit) {
  const fs::path dir = fresh_dir("vdlab_runner_cli_plan");
  const std::string exp = write_file(dir / "exp.yaml", std::string(kTrainedBackbone) +
                                                           "dataset: {name: moving-shapes, split: test, clips: 2, frames: 4, size: 16}\n"
                                                           "variants:\n"
                                                           "  - {method: uniform, sampler: {name: ddim, steps: 5}}\n"
                                                           "  - {method: uniform, label: again, sampler: {name: ddim, steps: 5}}\n"
                                                           "seeds: [0, 1]\n");
  const auto r = run_command(vdlab_binary() + " plan " + exp + " --out " + (dir / "out").string() + " --cache " +
                             (dir / "cache").string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("warning: train_dataset not given: the backbone trains on"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"split\":\"train\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("backbone: unet tiny will be trained (100000 steps"), std::string::npos) << r.output;
  // Two variants that differ only by their label: planned once.
  EXPECT_NE(r.output.find("2 cells (2 variants x 2 seeds x 1 dataset splits = 4, of which 2 duplicates)"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(count_occurrences(r.output, "is the same cell"), 2) << r.output;
  EXPECT_TRUE(fs::exists(dir / "out" / "experiment.json"));
}

TEST(RunnerCliIntegration, StatusReadsTheSavedExperimentAndFailsOnFailedCells) {
  const fs::path dir = fresh_dir("vdlab_runner_cli_status");
  const std::string exp = write_file(dir / "exp.yaml",
                                     "backbone: {name: diffusers-test}\n"
                                     "dataset: {name: moving-shapes, split: test, clips: 2, frames: 4, size: 16}\n"
                                     "variants: [{method: uniform, sampler: {name: ddim, steps: [2, 3]}}]\n"
                                     "seeds: [0]\n"
                                     "metrics: [mm]\n");
  const fs::path out = dir / "out";
  const std::string common = " --out " + out.string() + " --cache " + (dir / "cache").string() + " --threads 1";
  const auto ran = run_command(vdlab_binary() + " run " + exp + " 'seeds=[0, 1, 2]'" + common);
  ASSERT_EQ(ran.code, 0) << ran.output;

  const auto from_folder = run_command(vdlab_binary() + " status " + out.string());
  EXPECT_EQ(from_folder.code, 0) << from_folder.output;
  EXPECT_NE(from_folder.output.find("6 of 6 cells done"), std::string::npos) << from_folder.output;
  const auto from_file = run_command(vdlab_binary() + " status " + exp + " 'seeds=[0, 1, 2]'" + common);
  EXPECT_NE(from_file.output.find("6 of 6 cells done"), std::string::npos) << from_file.output;

  // A cell that failed: its file gone, its error left.
  fs::path victim;
  for (const auto& e : fs::directory_iterator(out / "cells"))
    if (e.path().extension() == ".h5") victim = e.path();
  fs::remove(victim);
  write_file(fs::path(victim).replace_extension(".error"), "the model produced non-finite values\n");
  const auto failed = run_command(vdlab_binary() + " status " + out.string());
  EXPECT_EQ(failed.code, 1) << failed.output;
  EXPECT_NE(failed.output.find("5 of 6 cells done, 0 missing, 1 failed"), std::string::npos) << failed.output;
  EXPECT_NE(failed.output.find(": the model produced non-finite values"), std::string::npos) << failed.output;
  EXPECT_EQ(run_command(vdlab_binary() + " status " + (dir / "nowhere").string()).code, 2);
}

// --threads 1 holds through backbone training and extractor loading: the cell records the count during
// generation and during metrics.
TEST(RunnerCliIntegration, ThreadsOptionHoldsThroughTrainingAndExtractors) {
  const fs::path dir = fresh_dir("vdlab_runner_cli_threads");
  const fs::path weights = dir / "weights";
  fs::create_directories(weights);
  fs::copy_file(VDLAB_SOURCE_DIR "/tests/fixtures/metrics/extractors/image_extractor.pt",
                weights / "inception-2015-12-05.pt");
  const std::string exp =
      write_file(dir / "exp.yaml",
                 "backbone: {name: unet, preset: tiny, train: {steps: 2, batch_size: 2, checkpoint_every: 0}}\n"
                 "dataset: {name: moving-shapes, split: test, clips: 2, frames: 4, size: 16}\n"
                 "train_dataset: {name: moving-shapes, split: train, clips: 4, frames: 4, size: 16}\n"
                 "variants: [{method: uniform, sampler: {name: ddim, steps: 2}}]\n"
                 "metrics: [{name: fid, extractor: inception-2015-12-05}]\n");
  const auto r = run_command(vdlab_binary() + " cell " + exp + " --index 0 --threads 1 --out " + (dir / "out").string() +
                             " --cache " + (dir / "cache").string() + " --weights " + weights.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir / "out" / "experiment.json"));  // a cluster task's output folder has it too
  const fs::path cell = *fs::directory_iterator(dir / "out" / "cells");
  const CellRecord record = read_cell(cell.string());
  EXPECT_EQ(record.provenance.at("threads"), 1);
  EXPECT_EQ(record.provenance.at("threads_generate"), 1);
  EXPECT_EQ(record.provenance.at("threads_metrics"), 1);
  ASSERT_EQ(record.metrics.size(), 1u);
  EXPECT_FALSE(record.metrics[0].skipped) << record.metrics[0].skip_reason;
}

}  // namespace
}  // namespace vdlab
