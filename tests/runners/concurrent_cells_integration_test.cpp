// Many processes on one output folder, as array tasks and `vdlab run --jobs` run them: every cell file
// valid, exactly one per cell, and no cell generated twice to completion, even when two processes get
// the same index at the same time.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "results/cell_file.h"
#include "runners/cli_support.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;
using testing::count_occurrences;
using testing::fresh_dir;
using testing::run_command;
using testing::vdlab_binary;
using testing::write_file;

// Seven cells of an analytic backbone, each a second or so of sampling.
std::string seven_cells(const fs::path& dir) {
  return write_file(dir / "exp.yaml",
                    "name: concurrent\n"
                    "backbone: {name: gaussian}\n"
                    "dataset: {name: moving-shapes, split: test, clips: 6, frames: 4, size: 16}\n"
                    "variants:\n"
                    "  - {method: uniform, sampler: {name: ddim, steps: [20, 30, 40, 50, 60, 70, 80]}}\n"
                    "seeds: [0]\n"
                    "metrics: [mm]\n");
}

// Checks the folder holds one valid cell file per cell and nothing half-written.
void expect_one_valid_file_per_cell(const fs::path& out, std::size_t cells) {
  std::set<std::string> hashes;
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(out / "cells")) {
    const std::string name = e.path().filename().string();
    EXPECT_EQ(name.find(".tmp-"), std::string::npos) << "left behind: " << name;
    if (e.path().extension() != ".h5") continue;
    ++files;
    const CellRecord record = read_cell(e.path().string(), true);
    EXPECT_FALSE(record.samples.empty()) << name;
    EXPECT_FALSE(record.metrics.empty()) << name;
    hashes.insert(record.hash);
  }
  EXPECT_EQ(files, cells);
  EXPECT_EQ(hashes.size(), cells);
}

TEST(ConcurrentCellsIntegration, EightSimultaneousCellProcessesTwoOnOneIndexLeaveOneValidFileEach) {
  const fs::path dir = fresh_dir("vdlab_concurrent_cells");
  const std::string exp = seven_cells(dir);
  const fs::path out = dir / "out";
  const std::string common = " --out " + out.string() + " --cache " + (dir / "cache").string() + " --threads 1";
  // Eight processes started together: indices 0..6, and index 3 twice.
  const std::vector<int> indices = {0, 1, 2, 3, 3, 4, 5, 6};
  std::vector<FILE*> pipes;
  for (std::size_t p = 0; p < indices.size(); ++p)
    pipes.push_back(popen((vdlab_binary() + " cell " + exp + " --index " + std::to_string(indices[p]) + common +
                           " > " + (dir / ("log" + std::to_string(p))).string() + " 2>&1; echo $?")
                              .c_str(),
                          "r"));
  for (std::size_t p = 0; p < pipes.size(); ++p) {
    char code[16] = {0};
    ASSERT_NE(fgets(code, sizeof code, pipes[p]), nullptr);
    pclose(pipes[p]);
    std::ifstream log(dir / ("log" + std::to_string(p)));
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    EXPECT_STREQ(code, "0\n") << "process " << p << ":\n" << text;
  }
  expect_one_valid_file_per_cell(out, 7);
  // Of the two processes on index 3, one generated the cell and the other found it finished.
  int generated = 0, skipped = 0;
  for (int p : {3, 4}) {
    std::ifstream log(dir / ("log" + std::to_string(p)));
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    generated += count_occurrences(text, ": done in");
    skipped += count_occurrences(text, "finished earlier, skipped");
  }
  EXPECT_EQ(generated, 1);
  EXPECT_EQ(skipped, 1);
  const auto status = run_command(vdlab_binary() + " status " + out.string());
  EXPECT_EQ(status.code, 0) << status.output;
  EXPECT_NE(status.output.find("7 of 7 cells done"), std::string::npos) << status.output;
  EXPECT_EQ(status.output.find("running"), std::string::npos) << "no process holds a cell now:\n" << status.output;
}

TEST(ConcurrentCellsIntegration, RunWithJobsSplitsThreadsAndMatchesTheSerialRun) {
  const fs::path dir = fresh_dir("vdlab_run_jobs");
  const std::string exp = seven_cells(dir);
  const std::string cache = " --cache " + (dir / "cache").string();
  const auto parallel = run_command(vdlab_binary() + " run " + exp + " --jobs 3 --threads 6 --out " +
                                    (dir / "jobs").string() + cache);
  ASSERT_EQ(parallel.code, 0) << parallel.output;
  EXPECT_NE(parallel.output.find("7 of 7 cells to run in up to 3 processes of 2 thread(s)"), std::string::npos)
      << parallel.output;
  expect_one_valid_file_per_cell(dir / "jobs", 7);
  EXPECT_TRUE(fs::exists(dir / "jobs" / "report.md"));
  const auto serial = run_command(vdlab_binary() + " run " + exp + " --threads 1 --out " + (dir / "serial").string() + cache);
  ASSERT_EQ(serial.code, 0) << serial.output;
  // Same cells, same files, same numbers (threads change no generated number beyond float tolerance).
  for (const auto& e : fs::directory_iterator(dir / "serial" / "cells")) {
    const CellRecord one = read_cell(e.path().string());
    const CellRecord other = read_cell((dir / "jobs" / "cells" / e.path().filename()).string());
    EXPECT_EQ(one.hash, other.hash);
    EXPECT_EQ(other.provenance.value("threads_generate", 0), 2) << e.path();
    ASSERT_EQ(one.metrics.size(), other.metrics.size());
    for (std::size_t m = 0; m < one.metrics.size(); ++m) EXPECT_NEAR(one.metrics[m].value, other.metrics[m].value, 1e-4);
  }
  // A second run finds everything finished and starts no process.
  const auto again = run_command(vdlab_binary() + " run " + exp + " --jobs 3 --out " + (dir / "jobs").string() + cache);
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_NE(again.output.find("0 of 7 cells to run"), std::string::npos) << again.output;
}

}  // namespace
}  // namespace vdlab
