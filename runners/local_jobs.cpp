#include "runners/local_jobs.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "core/error.h"
#include "core/log.h"
#include "runners/cell_state.h"
#include "runners/submit_command.h"

extern char** environ;

namespace vdlab {

namespace {

pid_t spawn(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int err = ::posix_spawn(&pid, argv.front().c_str(), nullptr, nullptr, args.data(), environ);
  if (err != 0) throw Error("cannot start " + argv.front() + ": error " + std::to_string(err));
  return pid;
}

// The exit code of a finished child (128 + signal when a signal ended it).
int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

std::vector<std::string> common_arguments(const RunOptions& o, int threads, bool quiet) {
  std::vector<std::string> a = {"--out", o.out_dir, "--cache", o.cache_dir, "--weights", o.weights_dir,
                                "--device", o.device, "--threads", std::to_string(threads)};
  if (quiet) a.push_back("--quiet");
  return a;
}

// Whether a `vdlab cell` process would do anything for this cell (finished cells are not started).
bool cell_has_work(const CellJudgement& j, const RunOptions& o) {
  if (o.force) return true;
  const bool current = j.state == CellState::done || (j.state == CellState::other_version && !o.rerun_other_version);
  return !current || !j.metrics_to_score.empty();
}

}  // namespace

int run_cells_in_processes(const Experiment& e, const std::string& experiment_json, const std::vector<CellSpec>& cells,
                           const RunOptions& options, const LocalJobs& jobs) {
  const RunOptions o = with_defaults(options);
  const std::string self = this_executable();
  const auto backbones = distinct_backbones(e);
  for (std::size_t k = 0; k < backbones.size(); ++k) {
    if (!backbone_needs_training(backbones[k].first, e.train_dataset, o)) continue;
    std::vector<std::string> argv = {self, "train", experiment_json, "--backbone", std::to_string(k)};
    for (const auto& a : common_arguments(o, jobs.threads, jobs.quiet)) argv.push_back(a);
    const pid_t pid = spawn(argv);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
    }
    if (exit_code(status) != 0)
      throw Error("training backbone " + std::to_string(k) + " failed (vdlab train exit status " +
                  std::to_string(exit_code(status)) + "); no cell can run without it");
  }

  const int per_process = std::max(1, jobs.threads / std::max(1, jobs.jobs));
  std::vector<const CellSpec*> queue;
  InputIdentities identities;
  for (const auto& c : cells)
    if (cell_has_work(judge_cell(o, c, identities), o)) queue.push_back(&c);
  log_info(std::to_string(queue.size()) + " of " + std::to_string(cells.size()) + " cells to run in up to " +
           std::to_string(jobs.jobs) + " processes of " + std::to_string(per_process) + " thread(s)");
  std::map<pid_t, const CellSpec*> running;
  std::size_t next = 0;
  int failed = 0;
  while (next < queue.size() || !running.empty()) {
    while (next < queue.size() && int(running.size()) < jobs.jobs) {
      const CellSpec* c = queue[next++];
      std::vector<std::string> argv = {self, "cell", experiment_json, "--index", std::to_string(c->index)};
      for (const auto& a : common_arguments(o, per_process, jobs.quiet)) argv.push_back(a);
      if (o.force) argv.insert(argv.end(), {"--rerun", "all"});
      else if (o.rerun_other_version) argv.insert(argv.end(), {"--rerun", "stale"});
      running[spawn(argv)] = c;
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) continue;
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    if (exit_code(status) != 0) {
      ++failed;
      log_error("cell " + std::to_string(it->second->index) + " " + it->second->id + ": vdlab cell exit status " +
                std::to_string(exit_code(status)));
    }
    running.erase(it);
  }
  return failed;
}

}  // namespace vdlab
