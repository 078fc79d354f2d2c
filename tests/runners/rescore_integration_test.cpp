// A finished cell scored again by a metric whose config changed but whose key did not (a parameter added or
// set): the new values replace the stored ones under that key instead of failing to write a second group.
#include <gtest/gtest.h>

#include <filesystem>

#include "results/cell_file.h"
#include "runners/cli_support.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;

std::string experiment(const fs::path& dir, const std::string& metric) {
  return testing::write_file(dir / "rescore.yaml",
                             "name: rescore-test\n"
                             "backbone: {name: gaussian}\n"
                             "dataset: {name: moving-shapes, split: test, clips: 2, frames: 4, size: 16, "
                             "min_radius: 2.0, max_radius: 5.0}\n"
                             "variants:\n"
                             "  - {method: uniform, sampler: {name: ddim, steps: 4}}\n"
                             "seeds: [0]\n"
                             "metrics: [" + metric + "]\n");
}

TEST(RescoreIntegration, ChangedMetricConfigWithTheSameKeyReplacesItsValues) {
  const fs::path dir = testing::fresh_dir("vdlab_rescore_test");
  const std::string common = " --out " + (dir / "out").string() + " --cache " + (dir / "cache").string() + " --threads 1";
  const auto first = testing::run_command(testing::vdlab_binary() + " run " +
                                          experiment(dir, "{name: flow_motion, baseline: none}") + common);
  ASSERT_EQ(first.code, 0) << first.output;
  // Same key flow_motion, another config (and a second key).
  const auto again = testing::run_command(testing::vdlab_binary() + " run " + experiment(dir, "flow_motion") + common);
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_NE(again.output.find("1 scored again"), std::string::npos) << again.output;
  const fs::path cell = *fs::directory_iterator(dir / "out" / "cells");
  const CellRecord record = read_cell(cell.string());
  int flow = 0, dynamics = 0;
  for (const auto& m : record.metrics) {
    flow += m.key == "flow_motion";
    dynamics += m.key == "motion_dynamics[vs-real]";
  }
  EXPECT_EQ(flow, 1);
  EXPECT_EQ(dynamics, 1);
}

}  // namespace
}  // namespace vdlab
