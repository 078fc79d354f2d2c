// An experiment file attaches a registered step hook by name; its measurement lands in the cell file.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "results/cell_file.h"
#include "runners/cli_support.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;

int run_command(const std::string& command, std::string& output) {
  const testing::CommandResult r = testing::run_command(command);
  output += r.output;
  return r.code;
}

std::string experiment(const fs::path& dir, const std::string& hook) {
  const fs::path path = dir / "hooks.yaml";
  std::ofstream(path) << "name: hooks-test\n"
                         "backbone: {name: gaussian}\n"
                         "dataset: {name: moving-shapes, split: test, clips: 4, frames: 4, size: 16, "
                         "min_radius: 2.0, max_radius: 5.0}\n"
                         "variants:\n"
                         "  - {method: uniform, sampler: {name: unipc, steps: 8}, hooks: [" << hook << "]}\n"
                         "seeds: [0]\n"
                         "metrics: [stability]\n";
  return path.string();
}

TEST(HookIntegration, ExperimentFileAttachesAHookAndTheCellRecordsItsMeasurement) {
  const fs::path dir = fs::temp_directory_path() / "vdlab_hooks_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string vdlab = std::string(VDLAB_BINARY_DIR) + "/runners/vdlab";
  const std::string common = " --out " + (dir / "out").string() + " --cache " + (dir / "cache").string() + " --threads 1";
  std::string out;
  ASSERT_EQ(run_command(vdlab + " run " + experiment(dir, "{name: edit-probe, step: 3, scale: 0.2}") + common, out), 0)
      << out;
  const fs::path cell = *fs::directory_iterator(dir / "out" / "cells");
  const CellRecord record = read_cell(cell.string());
  const Json& probe = record.stats.at("hooks").at(0);
  EXPECT_EQ(probe.at("name"), "edit-probe");
  EXPECT_EQ(probe.at("step"), 3);
  EXPECT_GT(probe.at("edit_norm").get<double>(), 0.0);
  EXPECT_TRUE(probe.at("undone_by_corrector").is_number()) << probe.dump();
  EXPECT_EQ(record.config.at("variant").at("hooks").at(0).at("scale"), 0.2);

  std::string bad;
  EXPECT_EQ(run_command(vdlab + " plan " + experiment(dir, "{name: edit-prob}") + common, bad), 2) << bad;
  EXPECT_NE(bad.find("hooks[0]"), std::string::npos) << bad;
  EXPECT_NE(bad.find("edit-probe"), std::string::npos) << bad;
}

}  // namespace
}  // namespace vdlab
