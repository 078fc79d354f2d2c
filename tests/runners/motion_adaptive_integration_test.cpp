// The seed 002 paper experiment in small (experiments/smoke/motion_adaptive.yaml) runs through the CLI:
// every cell finishes and records each video's motion score and the temporal share of the network, and
// the lambda ablation trains one stage 1 and one stage 2 per lambda. The full paper file plans.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "runners/experiment_run.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;

TEST(MotionAdaptiveIntegration, SmokeExperimentTrainsOneStageOneAndRecordsTheMotion) {
  const auto smoke = testing::run_experiment(testing::source_file("experiments/smoke/motion_adaptive.yaml"),
                                             "vdlab_motion_adaptive_smoke");
  ASSERT_TRUE(smoke.ok());
  for (const CellRecord& record : smoke.cells) {
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
  EXPECT_EQ(smoke.cells.size(), 5u);
  // One image stage shared by both lambdas, and one video stage per lambda.
  int folders = 0;
  for (const auto& entry : fs::directory_iterator(smoke.dir / "cache" / "backbones"))
    if (fs::exists(entry.path() / "final.pt")) ++folders;
  EXPECT_EQ(folders, 3);
}

TEST(MotionAdaptiveIntegration, PaperExperimentPlans) {
  const auto plan =
      testing::plan_experiment(testing::source_file("experiments/paper/motion_adaptive.yaml"), "vdlab_motion_adaptive_plan");
  ASSERT_EQ(plan.code, 0) << plan.output;
  for (const char* label : {"sd15-image", "sd15", "lambda-weight=0.0", "lambda-weight=2.0", "rho-rho=0.4", "rho-rho=0.85"})
    EXPECT_NE(plan.output.find(label), std::string::npos) << label << "\n" << plan.output;
}

}  // namespace
}  // namespace vdlab
