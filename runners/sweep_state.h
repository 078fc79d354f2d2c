#pragma once
// Where every cell of a sweep stands, from its files and, when the sweep was submitted to Slurm, from
// the queue: done (a current cell file), running (a live process holds the cell's lock, or its Slurm
// task runs), pending (its task waits in the queue: submitted, held, requeued or preempted; never done
// until its file is), failed, stale or missing. `vdlab status` prints it; `vdlab submit` submits what
// is left.
#include <optional>
#include <string>
#include <vector>

#include "runners/cell_state.h"
#include "runners/slurm.h"

namespace vdlab {

struct RunOptions;

enum class CellActivity { idle, running, pending };

struct CellProgress {
  const CellSpec* cell = nullptr;
  CellJudgement judgement;
  CellActivity activity = CellActivity::idle;  // only for cells that are not done
  std::string task;                            // its Slurm task ("124_3"), when queued
  std::string task_state;                      // RUNNING, PENDING (reason), ...
  bool done() const { return judgement.state == CellState::done || judgement.state == CellState::other_version; }
  // Not done and nothing runs or waits for it: what a resubmission runs.
  bool to_run() const { return !done() && activity == CellActivity::idle; }
};

struct SweepState {
  std::vector<CellProgress> cells;
  std::vector<SubmittedJob> jobs;          // recorded by `vdlab submit` in the output folder
  std::optional<std::vector<QueuedTask>> queue;  // squeue's view of them (none: squeue absent or failed)
  std::string queue_problem;
  std::vector<std::size_t> to_run() const;
};

SweepState judge_sweep(const RunOptions& options, const std::vector<CellSpec>& cells);

}  // namespace vdlab
