#pragma once
// Running a whole experiment file through `vdlab run` in a fresh folder and reading back what it made:
// the paper experiments' CI miniatures and the method integration tests all check their cells this way.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "results/cell_file.h"
#include "runners/cli_support.h"

namespace vdlab::testing {

// An experiment file in the source tree, e.g. "experiments/smoke/drmo.yaml".
inline std::string source_file(const std::string& relative) { return std::string(VDLAB_SOURCE_DIR) + "/" + relative; }

struct ExperimentRun {
  std::filesystem::path dir;  // out/ (the run) and cache/ (its backbones) inside
  CommandResult run;          // `vdlab run`'s exit code and output
  std::vector<CellRecord> cells;  // every finished cell, in file name order
  std::vector<std::string> failed;  // cells/<id>.error files, each with its first line

  std::string out() const { return (dir / "out").string(); }
  // No failure anywhere: the exit code, then each failed cell's message.
  ::testing::AssertionResult ok() const {
    if (run.code != 0) return ::testing::AssertionFailure() << "vdlab run exited " << run.code << "\n" << run.output;
    if (!failed.empty()) return ::testing::AssertionFailure() << failed.front();
    return ::testing::AssertionSuccess();
  }
};

// `vdlab run FILE --out DIR/out --cache DIR/cache --threads 1` in a fresh DIR (temp folder `name`), then
// reads every cell file (with its sample videos when `with_samples`).
inline ExperimentRun run_experiment(const std::string& file, const std::string& name, bool with_samples = false) {
  ExperimentRun r;
  r.dir = fresh_dir(name);
  r.run = run_command("OMP_WAIT_POLICY=passive " + vdlab_binary() + " run " + file + " --out " + r.out() + " --cache " +
                      (r.dir / "cache").string() + " --threads 1");
  if (!std::filesystem::is_directory(r.dir / "out" / "cells")) return r;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(r.dir / "out" / "cells")) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    if (path.extension() == ".error") {
      std::ifstream in(path);
      std::string line;
      std::getline(in, line);
      r.failed.push_back(path.string() + ": " + line);
    } else if (path.extension() == ".h5") {
      r.cells.push_back(read_cell(path.string(), with_samples));
    }
  }
  return r;
}

// `vdlab plan FILE` into a fresh folder: its exit code and output (the cell list).
inline CommandResult plan_experiment(const std::string& file, const std::string& name) {
  const std::filesystem::path dir = fresh_dir(name);
  return run_command(vdlab_binary() + " plan " + file + " --out " + (dir / "out").string() + " --cache " +
                     (dir / "cache").string());
}

}  // namespace vdlab::testing
