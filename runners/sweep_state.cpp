#include "runners/sweep_state.h"

#include "runners/cell_runner.h"

namespace vdlab {

std::vector<std::size_t> SweepState::to_run() const {
  std::vector<std::size_t> out;
  for (const auto& c : cells)
    if (c.to_run()) out.push_back(c.cell->index);
  return out;
}

SweepState judge_sweep(const RunOptions& options, const std::vector<CellSpec>& cells) {
  SweepState s;
  s.jobs = read_submitted_jobs(options.out_dir);
  if (!s.jobs.empty()) s.queue = query_queue(s.jobs, s.queue_problem);
  InputIdentities identities;
  for (const auto& c : cells) {
    CellProgress sc;
    sc.cell = &c;
    sc.judgement = judge_cell(options, c, identities);
    if (!sc.done()) {
      if (s.queue)
        for (const auto& t : *s.queue) {
          if (t.array_task != long(c.index)) continue;
          bool cells_job = false;
          for (const auto& j : s.jobs) cells_job = cells_job || (j.id == t.base && j.kind == "cells");
          if (!cells_job) continue;
          // A running copy wins over a waiting one (a resubmission while the first still runs).
          if (sc.activity == CellActivity::running) continue;
          sc.activity = t.running() ? CellActivity::running : CellActivity::pending;
          sc.task = t.job;
          sc.task_state = t.state + (t.running() || t.reason.empty() || t.reason == "None" ? "" : " (" + t.reason + ")");
        }
      if (sc.activity != CellActivity::running && cell_running(options, c)) sc.activity = CellActivity::running;
    }
    s.cells.push_back(std::move(sc));
  }
  return s;
}

}  // namespace vdlab
