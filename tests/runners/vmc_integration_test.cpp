// A tiny VMC experiment end to end through the CLI (the CI smoke test of experiments/paper/vmc.yaml): every
// cell finishes, records its tuning time and loss curve, scores the paired source-fidelity metrics and
// reports the target captions it rendered.
#include <gtest/gtest.h>

#include <filesystem>

#include "results/cell_file.h"
#include "runners/cli_support.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;

TEST(VmcIntegration, TinyExperimentCellsFinishWithTuningStats) {
  const fs::path dir = testing::fresh_dir("vdlab_vmc_test");
  const std::string exp = testing::write_file(
      dir / "vmc.yaml",
      "name: vmc-smoke\n"
      "backbone:\n"
      "  name: unet\n"
      "  preset: tiny\n"
      "  unet: {base_channels: 8, groups: 4, emb_dim: 32}\n"
      "  train: {steps: 4, batch_size: 2, checkpoint_every: 0}\n"
      "dataset: {name: moving-shapes, split: test, clips: 2, frames: 4, size: 16, min_radius: 2.0, max_radius: 5.0}\n"
      "train_dataset: {name: moving-shapes, split: train, clips: 4, frames: 4, size: 16, min_radius: 2.0, "
      "max_radius: 5.0}\n"
      "variants:\n"
      "  - {method: vmc, label: untuned, tune_steps: 0, sampler: {name: ddim, steps: 4}}\n"
      "  - {method: vmc, label: vmc, tune_steps: 3, sampler: {name: ddim, steps: 4}}\n"
      "  - {method: vmc, label: vmc-noise, tune_steps: 3, loss: l2, trainable: temporal, noise: iid, "
      "sampler: {name: ddim, steps: 4}}\n"
      "seeds: [0]\n"
      "metrics: [motion_fidelity, appearance_change]\n");
  const std::string common =
      " --out " + (dir / "out").string() + " --cache " + (dir / "cache").string() + " --threads 1";
  const testing::CommandResult run = testing::run_command(testing::vdlab_binary() + " run " + exp + common);
  ASSERT_EQ(run.code, 0) << run.output;
  int cells = 0;
  for (const auto& entry : fs::directory_iterator(dir / "out" / "cells")) {
    ASSERT_NE(entry.path().extension(), ".error") << entry.path();
    const CellRecord record = read_cell(entry.path().string());
    ++cells;
    const Json& vmc = record.stats.at("vmc");
    const int64_t steps = vmc.at("tune_steps").get<int64_t>();
    EXPECT_TRUE(vmc.at("tune_seconds").is_number());
    ASSERT_EQ(vmc.at("loss_curves").size(), steps > 0 ? 2u : 0u) << vmc.dump();
    if (steps > 0) {
      EXPECT_EQ(vmc.at("loss_curve").size(), size_t(steps));
      EXPECT_GT(vmc.at("tune_seconds").get<double>(), 0.0);
    }
    EXPECT_EQ(vmc.at("target_captions").size(), 2u);
    EXPECT_EQ(record.captions.size(), 2u);
    EXPECT_EQ(record.captions[0], vmc.at("target_captions")[0].get<std::string>());
    EXPECT_NE(record.captions[0], vmc.at("source_captions")[0].get<std::string>());
    bool fidelity = false;
    for (const auto& m : record.metrics) fidelity = fidelity || (m.key == "motion_fidelity" && !m.skipped);
    EXPECT_TRUE(fidelity);
  }
  EXPECT_EQ(cells, 3);
}

}  // namespace
}  // namespace vdlab
