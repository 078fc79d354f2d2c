// The FVDM paper experiment in miniature (experiments/paper/fvdm.yaml at CI size): a backbone per PTSS p
// sampled at two checkpoint steps of one training run, the zero-shot tasks on the p = 0 and p = 0.2
// backbones, and the task metrics (per-window FVD and motion, smoothness, FID of the generated frames).
// Every cell finishes; each p trains once; pinned and overlap frames are exact in the cell stats.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "runners/experiment_run.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;
using testing::run_command;

const char* kExperiment = R"(name: fvdm-smoke
backbone:
  name: unet
  preset: tiny
  prediction: x0
  unet: {base_channels: 8, channel_mult: [1, 2], groups: 4, heads: 2, emb_dim: 32}
  train: {image_pretrain_steps: 2, steps: 4, batch_size: 2, checkpoint_every: 2, trainable: [all]}
dataset: {name: moving-shapes, split: test, clips: 8, frames: 4, size: 16}
train_dataset: {name: moving-shapes, split: train, clips: 8, frames: 4, size: 16}
variants:
  - {method: fvdm-standard, label: p, sampler: {name: ddim, steps: 3},
     backbone: {train: {ptss_p: [0, 0.2]}, checkpoint_step: [4, 6]}}
  - {method: fvdm-image-to-video, label: i2v, sampler: {name: ddim, steps: 3}, backbone: {train: {ptss_p: [0, 0.2]}}}
  - {method: fvdm-interpolation, label: interp, sampler: {name: ddim, steps: 3}, backbone: {train: {ptss_p: 0.2}}}
  - {method: fvdm-progressive, label: progressive, sampler: {name: ddim, steps: 3}, backbone: {train: {ptss_p: 0.2}}}
  - {method: fvdm-long-video, label: long, length: 10, context: 2, sampler: {name: ddim, steps: 3},
     backbone: {train: {ptss_p: 0.2}}}
seeds: [0]
generate: {batch_size: 4}
metrics:
  - {name: fvd, extractor: tiny-i3d, frames: 4, tiny_train: {clips: 16, steps: 2, batch: 8, frames: 8, size: 16}}
  - {name: frames, window: 4, stride: 2, metric: {name: fvd, extractor: tiny-i3d, frames: 4,
                                                  tiny_train: {clips: 16, steps: 2, batch: 8, frames: 8, size: 16}}}
  - {name: frames, window: 4, stride: 2, metric: mm}
  - {name: frames, from: 1, metric: {name: fid, extractor: tiny-inception,
                                     tiny_train: {clips: 16, steps: 2, batch: 8, frames: 8, size: 16}}}
  - smoothness
  - stability
)";

int count_lines(const fs::path& path) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.empty() ? 0 : 1;
  return n;
}

TEST(FvdmPaperIntegration, MiniatureExperimentFinishesEveryCellAndTrainsEachPOnce) {
  const std::string file = testing::write_file(fs::temp_directory_path() / "vdlab_fvdm_smoke.yaml", kExperiment);
  const auto smoke = testing::run_experiment(file, "vdlab_fvdm_smoke", /*with_samples=*/true);
  ASSERT_TRUE(smoke.ok());
  const auto status = run_command(testing::vdlab_binary() + " status " + smoke.out());
  EXPECT_EQ(status.code, 0) << status.output;
  std::map<std::string, CellRecord> cells;  // by label
  for (const CellRecord& r : smoke.cells) cells[r.provenance.at("label").get<std::string>()] = r;
  // 2 p x 2 steps (step 6 is the end of the run) + 2 i2v + interpolation + progressive + long video.
  EXPECT_EQ(cells.size(), 9u);

  // Two video-stage runs (p = 0 and 0.2) sharing one image stage; each trained once for all its steps.
  std::set<std::string> runs;
  for (const auto& [label, r] : cells) runs.insert(r.provenance.at("backbone").at("cache_key").get<std::string>());
  EXPECT_EQ(runs.size(), 2u);
  for (const auto& key : runs) EXPECT_EQ(count_lines(smoke.dir / "cache" / "backbones" / key / "runs.log"), 1) << key;

  for (const auto& [label, r] : cells) {
    const Json& fvdm = r.stats.at("fvdm");
    if (label.rfind("long", 0) == 0) {
      EXPECT_EQ(fvdm.at("chunks"), 4) << label;
      EXPECT_EQ(fvdm.at("overlap_equal_share").get<double>(), 1.0) << label;
      EXPECT_EQ(r.samples.at(0).frames, 10) << label;
      bool drift = false;
      for (const auto& m : r.metrics) drift = drift || m.key == "fvd[tiny-i3d,f4,drift]";
      EXPECT_TRUE(drift) << label;
    } else if (fvdm.contains("pinned_frames")) {
      EXPECT_EQ(fvdm.at("pinned_uint8_equal_share").get<double>(), 1.0) << label;
    }
    for (const auto& m : r.metrics) EXPECT_FALSE(m.skipped) << label << " " << m.key << ": " << m.skip_reason;
  }
}

}  // namespace
}  // namespace vdlab
