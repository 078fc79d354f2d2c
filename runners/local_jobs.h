#pragma once
// `vdlab run --jobs N`: the cells of a sweep as N local `vdlab cell` processes at a time, the same
// commands, cell semantics and files as Slurm array tasks (runners/slurm.h), with the threads split
// between them. Backbones still to train are trained first, one `vdlab train` process at a time with
// every thread, so no cell process waits on another's training.
#include <string>
#include <vector>

#include "runners/cell_runner.h"
#include "runners/experiment.h"

namespace vdlab {

struct LocalJobs {
  int jobs = 2;
  int threads = 1;        // in all; each cell process gets max(1, threads / jobs)
  bool quiet = false;
};

// Runs `cells` of `experiment` (saved at `experiment_json`) in child processes; returns how many cells
// failed. Throws Error when a backbone's training fails (no cell could run).
int run_cells_in_processes(const Experiment& experiment, const std::string& experiment_json,
                           const std::vector<CellSpec>& cells, const RunOptions& options, const LocalJobs& jobs);

}  // namespace vdlab
