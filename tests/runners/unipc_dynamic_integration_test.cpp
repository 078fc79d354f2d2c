// The UniPC-Dynamic paper experiment in small (experiments/smoke/unipc_dynamic.yaml) runs through the
// CLI: every cell finishes, and every cell of a mode that edits after UniPC's step records the edit and its
// attenuation by the next corrector. The full paper file plans (every field and name checks out, its `paper:` section included).
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

TEST(UniPCDynamicIntegration, SmokeExperimentFinishesAndRecordsTheAttenuation) {
  const fs::path dir = testing::fresh_dir("vdlab_unipc_dynamic_smoke");
  const std::string common = " --out " + (dir / "out").string() + " --cache " + (dir / "cache").string() + " --threads 1";
  const std::string file = std::string(VDLAB_SOURCE_DIR) + "/experiments/smoke/unipc_dynamic.yaml";
  const testing::CommandResult run = run_command(vdlab_binary() + " run " + file + common);
  ASSERT_EQ(run.code, 0) << run.output;

  int cells = 0, edited_after_step = 0;
  for (const auto& entry : fs::directory_iterator(dir / "out" / "cells")) {
    ASSERT_NE(entry.path().extension(), ".error") << entry.path();
    if (entry.path().extension() != ".h5") continue;
    ++cells;
    const CellRecord record = read_cell(entry.path().string());
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
  EXPECT_EQ(cells, 9);
  EXPECT_EQ(edited_after_step, 7);

  const testing::CommandResult status = run_command(vdlab_binary() + " status " + (dir / "out").string());
  EXPECT_EQ(status.code, 0) << status.output;
}

TEST(UniPCDynamicIntegration, PaperExperimentPlans) {
  const fs::path dir = testing::fresh_dir("vdlab_unipc_dynamic_plan");
  const std::string file = std::string(VDLAB_SOURCE_DIR) + "/experiments/paper/unipc_dynamic.yaml";
  const testing::CommandResult plan = run_command(vdlab_binary() + " plan " + file + " --out " + (dir / "out").string() +
                                                  " --cache " + (dir / "cache").string());
  ASSERT_EQ(plan.code, 0) << plan.output;
  for (const char* label : {"unipc", "euler-d", "motion-aug", "safe", "balanced", "dynamic", "attention-alone",
                            "decomposition-alone", "world-alone", "balanced-k-window=2", "balanced-k-window=8"})
    EXPECT_NE(plan.output.find(label), std::string::npos) << label << "\n" << plan.output;
}

}  // namespace
}  // namespace vdlab
