// `vdlab submit` and `vdlab status` against a real single-node Slurm (scripts/slurm-local-up.sh brings
// it up; the tests skip only when sbatch is not installed). A sweep of eight cells and its backbone
// training job; then the faults a cluster deals out: a task killed with SIGKILL and resubmitted from
// status's list, `scontrol requeue` in the middle of backbone training, and the USR2 that comes before a
// time limit. After each, every cell file exists once and reads, and no cell ran twice to completion.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <regex>
#include <thread>

#include "results/cell_file.h"
#include "runners/cli_support.h"
#include "runners/slurm.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;
using testing::count_occurrences;
using testing::fresh_dir;
using testing::run_command;
using testing::vdlab_binary;
using testing::write_file;

// Brings up the cluster (idempotent) and points the Slurm tools at it; false when Slurm is absent.
bool slurm_up() {
  if (!command_on_path("sbatch")) return false;
  const std::string dir = std::getenv("VDLAB_SLURM_DIR") ? std::getenv("VDLAB_SLURM_DIR") : "/tmp/vdlab-slurm";
  const auto up = run_command(std::string(VDLAB_SOURCE_DIR) + "/scripts/slurm-local-up.sh");
  EXPECT_EQ(up.code, 0) << up.output;
  ::setenv("SLURM_CONF", (dir + "/etc/slurm.conf").c_str(), 1);
  return up.code == 0;
}

// slurmd (Slurm 22.05) will not start without a cgroup file system, whatever the plugins ask for.
bool cgroup_fs_mounted() {
  std::error_code ec;
  return fs::is_directory("/sys/fs/cgroup", ec) && !fs::is_empty("/sys/fs/cgroup", ec);
}

#define REQUIRE_SLURM()                                                                                       \
  if (!command_on_path("sbatch"))                                                                             \
    GTEST_SKIP() << "sbatch not found: the Slurm tests need slurm-wlm and munge (scripts/install-deps.sh)";   \
  if (!cgroup_fs_mounted())                                                                                   \
    GTEST_SKIP() << "no cgroup file system at /sys/fs/cgroup: slurmd cannot start on this machine";           \
  if (!slurm_up()) FAIL() << "scripts/slurm-local-up.sh failed";

// Eight cells (two sampler settings x four seeds) on a micro UNet trained for `steps` steps.
std::string sweep(const fs::path& dir, int steps) {
  return write_file(dir / "sweep.yaml",
                    "name: slurm-sweep\n"
                    "backbone:\n"
                    "  name: unet\n"
                    "  preset: tiny\n"
                    "  unet: {base_channels: 8, channel_mult: [1, 2], groups: 4, heads: 2, emb_dim: 32}\n"
                    "  train: {steps: " + std::to_string(steps) + ", batch_size: 2, checkpoint_every: 10}\n"
                    "dataset: {name: moving-shapes, split: test, clips: 4, frames: 4, size: 16}\n"
                    "train_dataset: {name: moving-shapes, split: train, clips: 8, frames: 4, size: 16}\n"
                    "variants:\n"
                    "  - {method: uniform, sampler: {name: ddim, steps: [3, 5]}}\n"
                    "seeds: [0, 1, 2, 3]\n"
                    "metrics: [mm]\n");
}

std::string job_id(const std::string& submit_output, const std::string& kind) {
  std::smatch m;
  const std::regex pattern(kind + " job (\\d+)");
  return std::regex_search(submit_output, m, pattern) ? std::string(m[1]) : std::string();
}

template <class Predicate>
bool wait_for(Predicate done, double seconds, double poll = 0.3) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::duration<double>(poll));
  }
  return done();
}

// Whether any of the jobs (array tasks included) is still in the queue.
bool queued(const std::vector<std::string>& ids) {
  const auto r = run_command("squeue --noheader --array --me --format=%F");
  for (const auto& id : ids)
    if (std::regex_search(r.output, std::regex("(^|\\n)" + id + "(\\n|$)"))) return true;
  return false;
}

bool wait_until_gone(const std::vector<std::string>& ids, double seconds = 420) {
  return wait_for([&] { return !queued(ids); }, seconds, 1.0);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string all_logs(const fs::path& out, const std::string& prefix) {
  std::string text;
  if (!fs::exists(out / "slurm" / "logs")) return text;
  for (const auto& e : fs::directory_iterator(out / "slurm" / "logs"))
    if (e.path().filename().string().rfind(prefix, 0) == 0) text += read_text(e.path());
  return text;
}

// How often each cell index was generated to completion, over every task log (requeued tasks append).
std::map<int, int> completions(const fs::path& out) {
  std::map<int, int> n;
  const std::string logs = all_logs(out, "cells-");
  const std::regex done("cell (\\d+) \\S+: done in");
  for (auto it = std::sregex_iterator(logs.begin(), logs.end(), done); it != std::sregex_iterator(); ++it)
    ++n[std::stoi((*it)[1])];
  return n;
}

// Every cell file exists once and reads, and each cell was generated to completion exactly once.
void expect_every_cell_once(const fs::path& out) {
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(out / "cells")) {
    if (e.path().extension() != ".h5") continue;
    ++files;
    const CellRecord record = read_cell(e.path().string(), true);
    EXPECT_EQ(record.samples.size(), 4u) << e.path();
    EXPECT_FALSE(record.metrics.empty()) << e.path();
  }
  EXPECT_EQ(files, 8u);
  const auto n = completions(out);
  EXPECT_EQ(n.size(), 8u) << all_logs(out, "cells-");
  for (const auto& [index, count] : n) EXPECT_EQ(count, 1) << "cell " << index << " ran to completion " << count << " times";
  const auto status = run_command(vdlab_binary() + " status " + out.string());
  EXPECT_EQ(status.code, 0) << status.output;
  EXPECT_NE(status.output.find("8 of 8 cells done, 0 missing, 0 failed, 0 stale\n"), std::string::npos) << status.output;
}

// The folder of the backbone the training job trains (the one with a runs.log).
fs::path training_folder(const fs::path& cache) {
  if (fs::exists(cache / "backbones"))
    for (const auto& e : fs::directory_iterator(cache / "backbones"))
      if (fs::exists(e.path() / "checkpoint.pt")) return e.path();
  return {};
}

std::vector<int> runs_from_steps(const fs::path& folder) {
  std::vector<int> from;
  std::ifstream in(folder / "runs.log");
  const std::regex pattern("\"from_step\": (\\d+)");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, pattern)) from.push_back(std::stoi(m[1]));
  }
  return from;
}

TEST(SubmitSlurm, SweepOfEightCellsAndItsTrainingJobWithStatusBeforeDuringAfter) {
  REQUIRE_SLURM();
  const fs::path dir = fresh_dir("vdlab_slurm_sweep");
  const fs::path out = dir / "out";
  const std::string exp = sweep(dir, 150);
  const std::string where = " --out " + out.string() + " --cache " + (dir / "cache").string();
  const auto before = run_command(vdlab_binary() + " status " + exp + where);
  EXPECT_EQ(before.code, 0) << before.output;
  EXPECT_NE(before.output.find("0 of 8 cells done, 8 missing, 0 failed, 0 stale; to run: --array=0-7\n"), std::string::npos)
      << before.output;

  const auto t0 = std::chrono::steady_clock::now();
  const auto submit = run_command(vdlab_binary() + " submit " + exp + where + " --max-concurrent 2 -- --time=20");
  const double submit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(submit.code, 0) << submit.output;
  EXPECT_LT(submit_seconds, 20.0) << "submit returns at once";
  const std::string train = job_id(submit.output, "train"), cells = job_id(submit.output, "cells");
  ASSERT_FALSE(train.empty()) << submit.output;
  ASSERT_FALSE(cells.empty()) << submit.output;
  EXPECT_NE(submit.output.find("--array=0-7%2 (8 of 8 cells) after " + train), std::string::npos) << submit.output;
  for (const char* file : {"experiment.json", "slurm/cells.sbatch", "slurm/train0.sbatch", "slurm/jobs.json"})
    EXPECT_TRUE(fs::exists(out / file)) << file;

  // During: every cell is done, running or waiting in the queue; nothing is left to run. While the
  // training job is queued, the cells wait for it.
  const auto during = run_command(vdlab_binary() + " status " + out.string());
  EXPECT_EQ(during.code, 0) << during.output;
  std::smatch counts;
  ASSERT_TRUE(std::regex_search(during.output, counts,
                                std::regex("(\\d) of 8 cells done, 0 missing, 0 failed, 0 stale(, \\d running)?(, \\d pending)?\n")))
      << during.output;
  EXPECT_LT(std::stoi(counts[1]), 8) << during.output;
  EXPECT_EQ(during.output.find("to run"), std::string::npos) << during.output;
  if (during.output.find("training " + train + " (backbone 0)") != std::string::npos) {
    EXPECT_NE(during.output.find("0 of 8 cells done, 0 missing, 0 failed, 0 stale, 8 pending\n"), std::string::npos)
        << during.output;
    // The reason reads "(Dependency)" once the scheduler has looked at the job; right after submit it may be blank.
    EXPECT_NE(during.output.find("(Slurm task " + cells + "_0: PENDING"), std::string::npos) << during.output;
  }
  // Later, a cell runs as an array task; on a fast machine the sweep may finish between two looks, so
  // the look stops there too, and a RUNNING line, when seen, must leave nothing "to run".
  std::string running;
  bool seen_running = false;
  EXPECT_TRUE(wait_for([&] {
    running = run_command(vdlab_binary() + " status " + out.string()).output;
    seen_running = std::regex_search(running, std::regex("running \\d+ \\S+ \\(Slurm task " + cells + "_\\d+: RUNNING\\)"));
    return seen_running || !queued({train, cells});
  }, 300)) << running;
  if (seen_running) {
    EXPECT_EQ(running.find("to run"), std::string::npos) << running;
  }

  ASSERT_TRUE(wait_until_gone({train, cells})) << run_command("squeue").output;
  expect_every_cell_once(out);
  // Collected: one long table of the eight cells.
  const auto collect = run_command(vdlab_binary() + " collect " + out.string() + " --to " + (dir / "collected").string());
  ASSERT_EQ(collect.code, 0) << collect.output;
  ASSERT_TRUE(fs::exists(dir / "collected" / "sweep.h5")) << collect.output;
  const std::string csv = read_text(dir / "collected" / "cells.csv");
  std::set<std::string> collected_cells;
  std::istringstream rows(csv);
  std::string row;
  std::getline(rows, row);  // header
  while (std::getline(rows, row))
    if (!row.empty()) collected_cells.insert(row.substr(0, row.find(',')));
  EXPECT_EQ(collected_cells.size(), 8u) << csv.substr(0, 2000);
  EXPECT_NE(all_logs(out, "train0-").find("backbone 0: trained"), std::string::npos) << all_logs(out, "train0-");
  EXPECT_EQ(count_occurrences(all_logs(out, "cells-"), "training"), 0) << "the cells found the backbone trained";
  // Submitting again finds nothing to do.
  const auto again = run_command(vdlab_binary() + " submit " + exp + where);
  EXPECT_EQ(again.code, 0) << again.output;
  EXPECT_NE(again.output.find("nothing to submit"), std::string::npos) << again.output;
}

TEST(FaultsSlurm, TaskKilledWithSigkillIsResubmittedFromStatusList) {
  REQUIRE_SLURM();
  const fs::path dir = fresh_dir("vdlab_slurm_sigkill");
  const fs::path out = dir / "out";
  const std::string exp = sweep(dir, 10);
  const std::string where = " --out " + out.string() + " --cache " + (dir / "cache").string();
  const auto submit = run_command(vdlab_binary() + " submit " + exp + where + " --max-concurrent 1");
  ASSERT_EQ(submit.code, 0) << submit.output;
  const std::string train = job_id(submit.output, "train"), cells = job_id(submit.output, "cells");
  // The first cell task to run is killed outright: no handler runs, no error file is written.
  std::string task;
  ASSERT_TRUE(wait_for([&] {
    const auto r = run_command("squeue --noheader --array --me --states=RUNNING --format=%i --jobs=" + cells);
    std::smatch m;
    if (std::regex_search(r.output, m, std::regex(cells + "_(\\d+)"))) task = m[0];
    return !task.empty();
  }, 300, 0.1));
  const auto kill = run_command("scancel --signal=KILL --full " + task);
  ASSERT_EQ(kill.code, 0) << kill.output;
  ASSERT_TRUE(wait_until_gone({train, cells}));

  const auto status = run_command(vdlab_binary() + " status " + out.string());
  EXPECT_NE(status.output.find("7 of 8 cells done, 1 missing"), std::string::npos) << status.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(status.output, m, std::regex("to run: --array=(\\S+)\\n"))) << status.output;
  const std::string list = m[1];
  EXPECT_EQ(list, task.substr(task.find('_') + 1));
  const auto resubmit = run_command(vdlab_binary() + " submit " + exp + where + " --array " + list);
  ASSERT_EQ(resubmit.code, 0) << resubmit.output;
  EXPECT_EQ(job_id(resubmit.output, "train"), "") << "the backbone is cached: " << resubmit.output;
  const std::string again = job_id(resubmit.output, "cells");
  ASSERT_FALSE(again.empty()) << resubmit.output;
  ASSERT_TRUE(wait_until_gone({again}));
  expect_every_cell_once(out);
}

// Submits a sweep whose training takes a while and waits for its first checkpoint; returns the job ids.
std::pair<std::string, std::string> submit_and_wait_for_a_checkpoint(const std::string& exp, const std::string& where,
                                                                      const fs::path& cache) {
  const auto submit = run_command(vdlab_binary() + " submit " + exp + where);
  EXPECT_EQ(submit.code, 0) << submit.output;
  const std::string train = job_id(submit.output, "train"), cells = job_id(submit.output, "cells");
  EXPECT_TRUE(wait_for([&] { return !training_folder(cache).empty(); }, 300, 0.1)) << "no checkpoint was written";
  return {train, cells};
}

// After an interruption of the training job: two training runs in its folder, the second resumed from a
// checkpoint in the middle, and the sweep finished with every cell once.
void expect_resumed_training(const fs::path& out, const fs::path& cache, int total) {
  const fs::path folder = training_folder(cache);
  ASSERT_FALSE(folder.empty());
  EXPECT_TRUE(fs::exists(folder / "final.pt"));
  const auto from = runs_from_steps(folder);
  ASSERT_EQ(from.size(), 2u) << read_text(folder / "runs.log");
  EXPECT_EQ(from[0], 0);
  EXPECT_GT(from[1], 0) << "the requeued job started over";
  EXPECT_LT(from[1], total) << "training finished before the interruption: make it longer";
  EXPECT_NE(all_logs(out, "train0-").find("resuming from"), std::string::npos) << all_logs(out, "train0-");
  expect_every_cell_once(out);
}

TEST(FaultsSlurm, ScontrolRequeueInTheMiddleOfTrainingResumesFromTheCheckpoint) {
  REQUIRE_SLURM();
  const fs::path dir = fresh_dir("vdlab_slurm_requeue");
  const fs::path out = dir / "out", cache = dir / "cache";
  const int steps = 300;
  const std::string exp = sweep(dir, steps);
  const auto [train, cells] = submit_and_wait_for_a_checkpoint(exp, " --out " + out.string() + " --cache " + cache.string(), cache);
  const auto requeue = run_command("scontrol requeue " + train);
  ASSERT_EQ(requeue.code, 0) << requeue.output;
  // Requeued: waiting in the queue again, the cells still behind it.
  const auto status = run_command(vdlab_binary() + " status " + out.string());
  EXPECT_NE(status.output.find("8 pending"), std::string::npos) << status.output;
  ASSERT_TRUE(wait_until_gone({train, cells})) << run_command("squeue").output;
  expect_resumed_training(out, cache, steps);
  EXPECT_NE(all_logs(out, "train0-").find("stopped by SIGTERM"), std::string::npos) << all_logs(out, "train0-");
}

TEST(FaultsSlurm, Usr2BeforeTheTimeLimitCheckpointsAndRequeues) {
  REQUIRE_SLURM();
  const fs::path dir = fresh_dir("vdlab_slurm_usr2");
  const fs::path out = dir / "out", cache = dir / "cache";
  const int steps = 300;
  const std::string exp = sweep(dir, steps);
  const auto [train, cells] = submit_and_wait_for_a_checkpoint(exp, " --out " + out.string() + " --cache " + cache.string(), cache);
  // What --signal=B:USR2@120 does two minutes before the time limit: USR2 to the batch shell only.
  const auto signal = run_command("scancel --signal=USR2 --batch " + train);
  ASSERT_EQ(signal.code, 0) << signal.output;
  ASSERT_TRUE(wait_until_gone({train, cells})) << run_command("squeue").output;
  const std::string log = all_logs(out, "train0-");
  EXPECT_NE(log.find("stopped by SIGUSR2"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped before the time limit (exit 1); requeued"), std::string::npos) << log;
  EXPECT_NE(log.find("attempt 2"), std::string::npos) << log;
  expect_resumed_training(out, cache, steps);
}

}  // namespace
}  // namespace vdlab
