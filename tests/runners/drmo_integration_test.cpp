// The Dr.Mo paper experiment in small (experiments/smoke/drmo.yaml) runs through the CLI: every cell
// finishes and records its switch steps, NFE per frame and, without reuse, the NMI curves of the frame
// pairs of the source's Figure 1; the selector cells record their choice per video, and the learned one
// its held-out accuracy. The full paper file plans (every field and name checks out, `paper:` included).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "runners/experiment_run.h"

namespace vdlab {
namespace {

TEST(DrmoIntegration, SmokeExperimentFinishesAndRecordsCurvesAndCosts) {
  const auto smoke = testing::run_experiment(testing::source_file("experiments/smoke/drmo.yaml"), "vdlab_drmo_smoke");
  ASSERT_TRUE(smoke.ok());
  for (const CellRecord& record : smoke.cells) {
    const Json& d = record.stats.at("drmo");
    const std::string selector = d.at("selector");
    EXPECT_EQ(d.at("switch_steps").size(), 4u) << d.dump();
    const double nfe = d.at("nfe_per_frame").get<double>();
    EXPECT_GT(nfe, 0.0);
    EXPECT_LE(nfe, 6.0);
    if (selector == "fixed" && d.at("switch_t").get<double>() >= 1000) {
      EXPECT_EQ(nfe, 6.0);
      for (const char* pair : {"0-1", "0-4", "0-8"}) {
        EXPECT_EQ(d.at("nmi").at(pair).at("next").size(), 5u) << pair << " " << d.dump();
        EXPECT_EQ(d.at("nmi").at(pair).at("to_last").size(), 6u) << pair;
      }
      EXPECT_EQ(d.at("t_next").size(), 5u);
    }
    if (selector == "learned") {
      const Json& s = d.at("selector_report");
      EXPECT_EQ(s.at("trajectories").get<int>(), 8);
      EXPECT_GE(s.at("heldout_accuracy").get<double>(), 0.0);
      EXPECT_EQ(s.at("test_videos").get<int>(), 4);
    }
  }
  EXPECT_EQ(smoke.cells.size(), 6u);
}

TEST(DrmoIntegration, PaperExperimentPlans) {
  const auto plan = testing::plan_experiment(testing::source_file("experiments/paper/drmo.yaml"), "vdlab_drmo_plan");
  ASSERT_EQ(plan.code, 0) << plan.output;
  for (const char* label : {"full", "fixed-switch_t=900", "fixed-switch_t=1", "rule", "learned", "features"})
    EXPECT_NE(plan.output.find(label), std::string::npos) << label << "\n" << plan.output;
}

}  // namespace
}  // namespace vdlab
