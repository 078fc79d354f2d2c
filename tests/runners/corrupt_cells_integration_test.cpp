// A cell file damaged on disk after it was written (truncated, its header overwritten): `vdlab status`
// and `vdlab plan` report it corrupt with HDF5's reason, and `vdlab run` moves it to
// cells/<id>.h5.corrupt and generates the cell again, with the numbers it had.
#include <gtest/gtest.h>

#include "runners/fault_support.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;
using namespace vdlab::testing;

TEST(CorruptCellsIntegration, DamagedCellFilesAreCorruptInStatusAndPlanAndRunRedoesThem) {
  const fs::path dir = fresh_dir("vdlab_corrupt_cells");
  const std::string exp = write_file(dir / "exp.yaml",
                                     "name: corrupt\n"
                                     "backbone: {name: gaussian}\n"
                                     "dataset: {name: moving-shapes, split: test, clips: 4, frames: 4, size: 16}\n"
                                     "variants:\n"
                                     "  - {method: uniform, sampler: {name: ddim, steps: [4, 6, 8]}}\n"
                                     "seeds: [0]\n"
                                     "metrics: [mm]\n");
  const fs::path out = dir / "out";
  const std::string common = " --out " + out.string() + " --cache " + (dir / "cache").string() + " --threads 1";
  ASSERT_EQ(run_command(vdlab_binary() + " run " + exp + common).code, 0);
  std::vector<fs::path> cells;
  for (const auto& e : fs::directory_iterator(out / "cells"))
    if (e.path().extension() == ".h5") cells.push_back(e.path());
  std::sort(cells.begin(), cells.end());
  ASSERT_EQ(cells.size(), 3u);
  std::vector<CellRecord> original;
  for (const auto& c : cells) original.push_back(read_cell(c.string(), true));

  // One cut to half its size, one with its first kilobyte (the superblock) overwritten.
  fs::resize_file(cells[0], fs::file_size(cells[0]) / 2);
  {
    std::fstream f(cells[1], std::ios::in | std::ios::out | std::ios::binary);
    const std::string junk(1024, '\x5a');
    f.write(junk.data(), std::streamsize(junk.size()));
  }

  const auto status = run_command(vdlab_binary() + " status " + out.string());
  EXPECT_EQ(status.code, 0) << status.output;
  EXPECT_NE(status.output.find("1 of 3 cells done, 0 missing, 0 failed, 0 stale, 2 corrupt"), std::string::npos)
      << status.output;
  for (const auto& c : cells) {
    if (c == cells[2]) continue;
    const std::string id = c.stem().string();
    EXPECT_NE(status.output.find(id + ": corrupt: cell file unreadable: "), std::string::npos) << status.output;
  }
  EXPECT_NE(status.output.find("truncated file"), std::string::npos) << "HDF5's reason for the cut file:\n" << status.output;
  const auto plan = run_command(vdlab_binary() + " plan " + exp + common);
  EXPECT_EQ(plan.code, 0) << plan.output;
  EXPECT_EQ(count_occurrences(plan.output, "corrupt: cell file unreadable: "), 2) << plan.output;

  const auto run = run_command(vdlab_binary() + " run " + exp + common);
  ASSERT_EQ(run.code, 0) << run.output;
  EXPECT_EQ(count_occurrences(run.output, "is corrupt ("), 2) << run.output;
  EXPECT_EQ(count_occurrences(run.output, "finished earlier"), 1) << run.output;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    EXPECT_EQ(fs::exists(cells[i].string() + ".corrupt"), i < 2) << cells[i];
    const CellRecord again = read_cell(cells[i].string(), true);
    ASSERT_EQ(again.metrics.size(), original[i].metrics.size());
    for (std::size_t m = 0; m < again.metrics.size(); ++m)
      EXPECT_NEAR(again.metrics[m].value, original[i].metrics[m].value, 1e-9) << cells[i];
    ASSERT_EQ(again.samples.size(), original[i].samples.size());
    for (std::size_t s = 0; s < again.samples.size(); ++s) EXPECT_EQ(again.samples[s].data, original[i].samples[s].data);
  }
  const auto done = run_command(vdlab_binary() + " status " + out.string());
  EXPECT_NE(done.output.find("3 of 3 cells done, 0 missing, 0 failed, 0 stale\n"), std::string::npos) << done.output;
  // A collect leaves the moved-aside files out, silently: they are not cell files.
  const auto collect = run_command(vdlab_binary() + " collect " + out.string());
  EXPECT_EQ(collect.code, 0) << collect.output;
  EXPECT_EQ(collect.output.find(".corrupt"), std::string::npos) << collect.output;
}

}  // namespace
}  // namespace vdlab
