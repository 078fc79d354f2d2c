// The UniPC-Dynamic paper experiment in small (experiments/smoke/unipc_dynamic.yaml) runs through the
// CLI: every cell finishes, and every cell of a mode that edits after UniPC's step records the edit and its
// attenuation by the next corrector. The full paper file plans (every field and name checks out, its `paper:` section included).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "runners/experiment_run.h"

namespace vdlab {
namespace {

using testing::run_command;
using testing::vdlab_binary;

TEST(UniPCDynamicIntegration, SmokeExperimentFinishesAndRecordsTheAttenuation) {
  const auto smoke =
      testing::run_experiment(testing::source_file("experiments/smoke/unipc_dynamic.yaml"), "vdlab_unipc_dynamic_smoke");
  ASSERT_TRUE(smoke.ok());
  int edited_after_step = 0;
  for (const CellRecord& record : smoke.cells) {
    const Json& variant = record.config.at("variant");
    ASSERT_TRUE(record.timings.at("generate_s").is_number());
    if (variant.at("method") == "uniform") {
      EXPECT_FALSE(record.stats.contains("edit"));
      continue;
    }
    const Json& edit = record.stats.at("edit");
    EXPECT_EQ(edit.at("edit_norm").size(), 6u) << edit.dump();
    EXPECT_GT(edit.at("edit_norm_mean").get<double>(), 0.0) << edit.dump();
    if (variant.at("sampler").at("name") == "unipc") {
      ++edited_after_step;
      EXPECT_TRUE(edit.at("attenuation_mean").is_number()) << edit.dump();
      EXPECT_TRUE(edit.at("attenuation").at(4).is_number()) << edit.dump();
    } else {
      EXPECT_TRUE(edit.at("attenuation_mean").is_null()) << "Euler has no corrector: " << edit.dump();
    }
  }
  EXPECT_EQ(smoke.cells.size(), 9u);
  EXPECT_EQ(edited_after_step, 7);

  const testing::CommandResult status = run_command(vdlab_binary() + " status " + smoke.out());
  EXPECT_EQ(status.code, 0) << status.output;
}

TEST(UniPCDynamicIntegration, PaperExperimentPlans) {
  const auto plan =
      testing::plan_experiment(testing::source_file("experiments/paper/unipc_dynamic.yaml"), "vdlab_unipc_dynamic_plan");
  ASSERT_EQ(plan.code, 0) << plan.output;
  for (const char* label : {"unipc", "euler-d", "motion-aug", "safe", "balanced", "dynamic", "attention-alone",
                            "decomposition-alone", "world-alone", "balanced-k-window=2", "balanced-k-window=8"})
    EXPECT_NE(plan.output.find(label), std::string::npos) << label << "\n" << plan.output;
}

}  // namespace
}  // namespace vdlab
