// A tiny VMC experiment end to end through the CLI (the CI smoke test of experiments/paper/vmc.yaml): every
// cell finishes, records its tuning time and loss curve, scores the paired source-fidelity metrics and
// reports the target captions it rendered.
#include <gtest/gtest.h>

#include <filesystem>

#include "runners/experiment_run.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;

TEST(VmcIntegration, TinyExperimentCellsFinishWithTuningStats) {
  const std::string exp = testing::write_file(
      fs::temp_directory_path() / "vdlab_vmc_test.yaml",
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
  const auto run = testing::run_experiment(exp, "vdlab_vmc_test");
  ASSERT_TRUE(run.ok());
  for (const CellRecord& record : run.cells) {
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
  EXPECT_EQ(run.cells.size(), 3u);
}

}  // namespace
}  // namespace vdlab
