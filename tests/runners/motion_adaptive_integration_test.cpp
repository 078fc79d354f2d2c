// The seed 002 paper experiment in small (experiments/smoke/motion_adaptive.yaml) runs through the CLI:
// every cell finishes and records each video's motion score and the temporal share of the network, and
// the lambda ablation trains one stage 1 and one stage 2 per lambda. The full paper file plans.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "results/cell_file.h"
#include "runners/cli_support.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;
using testing::run_command;
using testing::vdlab_binary;

TEST(MotionAdaptiveIntegration, SmokeExperimentTrainsOneStageOneAndRecordsTheMotion) {
  const fs::path dir = testing::fresh_dir("vdlab_motion_adaptive_smoke");
  const std::string common = " --out " + (dir / "out").string() + " --cache " + (dir / "cache").string() + " --threads 1";
  const std::string file = std::string(VDLAB_SOURCE_DIR) + "/experiments/smoke/motion_adaptive.yaml";
  const testing::CommandResult run = run_command(vdlab_binary() + " run " + file + common);
  ASSERT_EQ(run.code, 0) << run.output;

  int cells = 0;
  for (const auto& entry : fs::directory_iterator(dir / "out" / "cells")) {
    ASSERT_NE(entry.path().extension(), ".error") << entry.path();
    if (entry.path().extension() != ".h5") continue;
    ++cells;
    const CellRecord record = read_cell(entry.path().string());
    const Json& motion = record.stats.at("motion_adaptive");
    ASSERT_EQ(motion.at("motion_each").size(), 4u) << motion.dump();
    for (const auto& m : motion.at("motion_each")) EXPECT_TRUE(m == 0.8 || m == 0.2) << motion.dump();  // speed words
    const double share = motion.at("temporal_parameter_share").get<double>();
    EXPECT_GT(share, 0.0);
    EXPECT_LT(share, 1.0);
    EXPECT_EQ(motion.at("temporal_modules").get<bool>(), record.config.at("variant").value("temporal_modules", true));
    bool has_mm = false;
    for (const auto& m : record.metrics) has_mm = has_mm || m.key == "mm";
    EXPECT_TRUE(has_mm);
  }
  EXPECT_EQ(cells, 5);
  // One image stage shared by both lambdas, and one video stage per lambda.
  int folders = 0;
  for (const auto& entry : fs::directory_iterator(dir / "cache" / "backbones"))
    if (fs::exists(entry.path() / "final.pt")) ++folders;
  EXPECT_EQ(folders, 3);
}

TEST(MotionAdaptiveIntegration, PaperExperimentPlans) {
  const fs::path dir = testing::fresh_dir("vdlab_motion_adaptive_plan");
  const std::string file = std::string(VDLAB_SOURCE_DIR) + "/experiments/paper/motion_adaptive.yaml";
  const testing::CommandResult plan = run_command(vdlab_binary() + " plan " + file + " --out " + (dir / "out").string() +
                                                  " --cache " + (dir / "cache").string());
  ASSERT_EQ(plan.code, 0) << plan.output;
  for (const char* label : {"sd15-image", "sd15", "lambda-weight=0.0", "lambda-weight=2.0", "rho-rho=0.4", "rho-rho=0.85"})
    EXPECT_NE(plan.output.find(label), std::string::npos) << label << "\n" << plan.output;
}

}  // namespace
}  // namespace vdlab
