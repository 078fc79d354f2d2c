// The Dr.Mo paper experiment in small (experiments/smoke/drmo.yaml) runs through the CLI: every cell
// finishes and records its switch steps, NFE per frame and, without reuse, the NMI curves of the frame
// pairs of the source's Figure 1; the selector cells record their choice per video, and the learned one
// its held-out accuracy. The full paper file plans (every field and name checks out, `paper:` included).
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

TEST(DrmoIntegration, SmokeExperimentFinishesAndRecordsCurvesAndCosts) {
  const fs::path dir = testing::fresh_dir("vdlab_drmo_smoke");
  const std::string common = " --out " + (dir / "out").string() + " --cache " + (dir / "cache").string() + " --threads 1";
  const std::string file = std::string(VDLAB_SOURCE_DIR) + "/experiments/smoke/drmo.yaml";
  const testing::CommandResult run = run_command(vdlab_binary() + " run " + file + common);
  ASSERT_EQ(run.code, 0) << run.output;

  int cells = 0;
  for (const auto& entry : fs::directory_iterator(dir / "out" / "cells")) {
    ASSERT_NE(entry.path().extension(), ".error") << entry.path();
    if (entry.path().extension() != ".h5") continue;
    ++cells;
    const CellRecord record = read_cell(entry.path().string());
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
  EXPECT_EQ(cells, 6);
}

TEST(DrmoIntegration, PaperExperimentPlans) {
  const fs::path dir = testing::fresh_dir("vdlab_drmo_plan");
  const std::string file = std::string(VDLAB_SOURCE_DIR) + "/experiments/paper/drmo.yaml";
  const testing::CommandResult plan = run_command(vdlab_binary() + " plan " + file + " --out " + (dir / "out").string() +
                                                  " --cache " + (dir / "cache").string());
  ASSERT_EQ(plan.code, 0) << plan.output;
  for (const char* label : {"full", "fixed-switch_t=900", "fixed-switch_t=1", "rule", "learned", "features"})
    EXPECT_NE(plan.output.find(label), std::string::npos) << label << "\n" << plan.output;
}

}  // namespace
}  // namespace vdlab
