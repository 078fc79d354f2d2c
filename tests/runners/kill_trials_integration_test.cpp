// SIGKILL at seeded random moments of `vdlab run` and `vdlab collect`, measured over many trials, in three
// scenarios: the cell writes of a fast analytic sweep (sampling, metrics, cell files, the report),
// backbone training with frequent checkpoints (then its cell), and `vdlab collect`. Each trial starts the
// command in a fresh folder, kills it after a delay drawn from a seeded splitmix64 stream (uniform over
// the uninterrupted command's duration), and counts
//   - lost finished files: a cell file (in training also a kept EMA snapshot) that existed complete
//     before the kill and is gone or changed after it, or after the rerun;
//   - partial files: files that are not complete, readable results (defined in fault_support.h; temp
//     files are allowed after the kill only if the rerun removes them);
// then reruns the command to completion and checks its results equal the uninterrupted run's.
//
// $VDLAB_KILL_TRIALS sets the trials per scenario (default 3, for CI), $VDLAB_KILL_SEED the seed, and
// $VDLAB_FAULTS_OUT a folder where each scenario writes its figures as <scenario>.json
// (scripts/fault-trials.sh N runs all three and gathers them into results/reliability/faults.json).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "results/sweep.h"
#include "runners/fault_support.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;
using namespace vdlab::testing;

// The figures of one scenario, as faults.json reports them.
struct Figures {
  std::string scenario, command;
  int trials = 0, kills_landed = 0, kills_during_file_write = 0, finished_before_kill = 0;
  int lost = 0, partial = 0, temp_files_after_kill = 0, reruns_completed = 0, reruns_equal = 0;
  std::uint64_t seed = 0;
  double uninterrupted_s = 0, min_delay_s = 1e9, max_delay_s = 0;
  Json extra = Json::object();
  std::vector<std::string> problems;  // every lost or partial file and mismatch, named

  Json to_json() const {
    Json j{{"scenario", scenario},
           {"command", command},
           {"trials", trials},
           {"seed", seed},
           {"kills_landed", kills_landed},
           {"kills_during_file_write", kills_during_file_write},
           {"finished_before_kill", finished_before_kill},
           {"lost_finished", lost},
           {"partial_files", partial},
           {"temp_files_after_kill", temp_files_after_kill},
           {"reruns_completed", reruns_completed},
           {"reruns_equal_to_uninterrupted", reruns_equal},
           {"uninterrupted_seconds", std::round(uninterrupted_s * 100) / 100},
           {"delay_seconds", {std::round(min_delay_s * 100) / 100, std::round(max_delay_s * 100) / 100}}};
    for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
    return j;
  }
};

void publish(const Figures& f) {
  std::cout << f.to_json().dump(2) << "\n";
  for (const auto& p : f.problems) std::cout << "  " << p << "\n";
  if (const char* dir = std::getenv("VDLAB_FAULTS_OUT"); dir && *dir) {
    fs::create_directories(dir);
    std::ofstream(fs::path(dir) / (f.scenario + ".json")) << f.to_json().dump(2) << "\n";
  }
}

void expect_clean(const Figures& f) {
  EXPECT_EQ(f.lost, 0);
  EXPECT_EQ(f.partial, 0);
  EXPECT_EQ(f.reruns_completed, f.trials);
  EXPECT_EQ(f.reruns_equal, f.trials);
  // Kills that all missed the work would prove nothing.
  EXPECT_GE(f.kills_landed * 2, f.trials) << "most kills landed after the command had finished";
  for (const auto& p : f.problems) ADD_FAILURE() << p;
}

// The metric values and samples of two finished cell folders agree, cell for cell; "" or the difference.
std::string compare_cells(const fs::path& reference, const fs::path& other) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(reference))
    if (e.path().extension() == ".h5") names.insert(e.path().filename().string());
  for (const auto& e : fs::directory_iterator(other))
    if (e.path().extension() == ".h5" && !names.count(e.path().filename().string()))
      return e.path().string() + ": not a cell of the uninterrupted run";
  for (const auto& name : names) {
    if (!fs::exists(other / name)) return (other / name).string() + ": missing";
    const CellRecord a = read_cell((reference / name).string(), true);
    const CellRecord b = read_cell((other / name).string(), true);
    if (a.hash != b.hash) return name + ": hash differs";
    if (a.metrics.size() != b.metrics.size()) return name + ": another set of metrics";
    for (std::size_t m = 0; m < a.metrics.size(); ++m)
      // The same program, inputs and thread count: the same numbers (no batch shape differs).
      if (a.metrics[m].key != b.metrics[m].key || std::abs(a.metrics[m].value - b.metrics[m].value) > 1e-9 ||
          a.metrics[m].per_sample != b.metrics[m].per_sample)
        return name + ": " + a.metrics[m].key + " differs";
    if (a.samples.size() != b.samples.size()) return name + ": another number of samples";
    for (std::size_t i = 0; i < a.samples.size(); ++i)
      if (a.samples[i].data != b.samples[i].data) return name + ": sample " + std::to_string(i) + " differs";
  }
  return "";
}

// One trial of a scenario: kill `args` after `delay` seconds, judge the folders, rerun, compare.
struct Trial {
  std::vector<std::string> args;
  std::vector<fs::path> folders;     // judged for partial files
  std::vector<fs::path> finished_roots;  // where finished files are looked for before the kill
  std::function<bool(const fs::path&)> finished;  // which files there count as finished results
  std::function<std::string()> compare;           // after the rerun: "" when equal to the uninterrupted run
  std::function<void()> at_kill;                  // optional: looks at the folders right after the kill
};

// The killed command's output goes to <log>.killed, the rerun's to <log>.
void run_trial(const Trial& t, double delay, const fs::path& log, Figures& f) {
  ++f.trials;
  f.min_delay_s = std::min(f.min_delay_s, delay);
  f.max_delay_s = std::max(f.max_delay_s, delay);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = spawn_vdlab(t.args, log.string() + ".killed");
  std::this_thread::sleep_until(start + std::chrono::duration<double>(delay));
  std::map<std::string, std::string> before;
  for (const auto& root : t.finished_roots) before.merge(snapshot(root, t.finished));
  ::kill(pid, SIGKILL);
  const int status = wait_status(pid);
  if (t.at_kill) t.at_kill();
  const bool landed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  f.kills_landed += landed;
  f.finished_before_kill += int(before.size());

  std::vector<std::string> lost;
  f.lost += count_lost(before, lost);
  const FolderCheck after_kill = check_folders(t.folders);
  f.temp_files_after_kill += after_kill.temp_files;
  f.kills_during_file_write += landed && after_kill.temp_files > 0;
  f.partial += int(after_kill.partial.size());
  for (const auto& p : after_kill.partial) f.problems.push_back("after the kill: " + p);

  const Finished rerun = run_vdlab(t.args, log);
  if (rerun.code != 0) {
    f.problems.push_back("rerun exit status " + std::to_string(rerun.code) + ", see " + log.string());
    return;
  }
  ++f.reruns_completed;
  f.lost += count_lost(before, lost);  // a finished cell generated again by the rerun is lost work too
  for (const auto& l : lost) f.problems.push_back(l);
  const FolderCheck after_rerun = check_folders(t.folders);
  f.partial += int(after_rerun.partial.size()) + after_rerun.temp_files;
  for (const auto& p : after_rerun.partial) f.problems.push_back("after the rerun: " + p);
  if (after_rerun.temp_files) f.problems.push_back(std::to_string(after_rerun.temp_files) + " temp files outlived the rerun");
  const std::string difference = t.compare();
  if (difference.empty()) ++f.reruns_equal;
  else f.problems.push_back("rerun differs from the uninterrupted run: " + difference);
}

std::vector<std::string> run_args(const std::string& exp, const fs::path& out, const fs::path& cache) {
  return {"run", exp, "--out", out.string(), "--cache", cache.string(), "--threads", "1"};
}

// Four cells of an analytic backbone, each well under a second, with the report at the end.
const char* kCells =
    "name: kill-cells\n"
    "backbone: {name: gaussian}\n"
    "dataset: {name: moving-shapes, split: test, clips: 6, frames: 4, size: 16}\n"
    "variants:\n"
    "  - {method: uniform, label: ddim, sampler: {name: ddim, steps: [8, 12]}}\n"
    "  - {method: uniform, label: euler, sampler: {name: euler, steps: [8, 12]}}\n"
    "seeds: [0]\n"
    "metrics: [mm, stability]\n";

TEST(KillTrialsIntegration, CellWritesLoseNoFinishedCellAndLeaveNoPartialFile) {
  const fs::path dir = fresh_dir("vdlab_kill_cells");
  const std::string exp = write_file(dir / "exp.yaml", kCells);
  const fs::path cache = dir / "cache";
  const Finished reference = run_vdlab(run_args(exp, dir / "reference", cache), dir / "reference.log");
  ASSERT_EQ(reference.code, 0) << read_text(dir / "reference.log");
  const FolderCheck uninterrupted = check_folders({dir / "reference"});
  ASSERT_TRUE(uninterrupted.partial.empty()) << "the file check rejects an uninterrupted run's file: "
                                             << uninterrupted.partial.front();

  Figures f;
  f.scenario = "cell-writes";
  f.command = "vdlab run kill-cells.yaml --threads 1 (4 cells of the gaussian backbone: sampling, mm and "
              "stability, cell files, report)";
  f.seed = kill_seed();
  f.uninterrupted_s = reference.seconds;
  SplitMix rng(f.seed);
  const int trials = kill_trials(3);
  for (int i = 0; i < trials; ++i) {
    const fs::path out = dir / ("trial" + std::to_string(i));
    Trial t;
    t.args = run_args(exp, out, cache);
    t.folders = {out};
    t.finished_roots = {out / "cells"};
    t.finished = [](const fs::path& p) { return p.extension() == ".h5"; };
    t.compare = [&] { return compare_cells(dir / "reference" / "cells", out / "cells"); };
    run_trial(t, rng.uniform() * reference.seconds, dir / ("trial" + std::to_string(i) + ".log"), f);
    fs::remove_all(out);
  }
  publish(f);
  expect_clean(f);
}

// A micro UNet trained 24 steps with a checkpoint every 2 (and an EMA snapshot each time), then one
// cell sampled with it. Each trial trains into a fresh cache.
const char* kTraining =
    "name: kill-training\n"
    "backbone:\n"
    "  name: unet\n"
    "  preset: tiny\n"
    "  unet: {base_channels: 8, channel_mult: [1, 2], groups: 4, heads: 2, emb_dim: 32}\n"
    "  train: {image_pretrain_steps: 6, steps: 18, batch_size: 2, checkpoint_every: 2, trainable: [all]}\n"
    "dataset: {name: moving-shapes, split: test, clips: 4, frames: 4, size: 16}\n"
    "train_dataset: {name: moving-shapes, split: train, clips: 8, frames: 4, size: 16}\n"
    "variants:\n"
    "  - {method: uniform, sampler: {name: ddim, steps: 4}}\n"
    "seeds: [0]\n"
    "metrics: [mm]\n";

// Every tensor of archive `x` is in `y`, bitwise equal (nested archives: a module's children).
std::string compare_archives(torch::serialize::InputArchive& x, torch::serialize::InputArchive& y,
                             const std::string& where, int& compared) {
  for (const auto& key : x.keys()) {
    torch::Tensor tx, ty;
    torch::serialize::InputArchive nx, ny;
    if (x.try_read(key, tx)) {
      if (!y.try_read(key, ty)) return where + key + ": missing";
      if (!torch::equal(tx, ty)) return where + key + ": differs";
      ++compared;
    } else if (x.try_read(key, nx)) {
      if (!y.try_read(key, ny)) return where + key + ": missing";
      const std::string d = compare_archives(nx, ny, where + key + ".", compared);
      if (!d.empty()) return d;
    }
  }
  return "";
}

// The weights in two files are bitwise equal; "" or the difference.
std::string compare_weights(const fs::path& a, const fs::path& b) {
  torch::serialize::InputArchive x, y;
  x.load_from(a.string());
  y.load_from(b.string());
  int compared = 0;
  const std::string d = compare_archives(x, y, b.string() + ": ", compared);
  if (!d.empty()) return d + " (against " + a.string() + ")";
  return compared > 0 ? "" : a.string() + ": no tensor to compare";
}

fs::path only_backbone_dir(const fs::path& cache) {
  // The video stage's folder (the one with final.pt and snapshots of its steps past the image stage).
  fs::path found;
  for (const auto& e : fs::directory_iterator(cache / "backbones"))
    if (fs::exists(e.path() / "ema-step24.pt")) found = e.path();
  return found;
}

TEST(KillTrialsIntegration, BackboneTrainingResumesBitwiseAndLeavesNoPartialCheckpoint) {
  const fs::path dir = fresh_dir("vdlab_kill_training");
  const std::string exp = write_file(dir / "exp.yaml", kTraining);
  const Finished reference =
      run_vdlab(run_args(exp, dir / "reference", dir / "reference-cache"), dir / "reference.log");
  ASSERT_EQ(reference.code, 0) << read_text(dir / "reference.log");
  const fs::path reference_backbone = only_backbone_dir(dir / "reference-cache");
  ASSERT_FALSE(reference_backbone.empty()) << "no trained backbone in " << dir / "reference-cache";
  const FolderCheck uninterrupted = check_folders({dir / "reference", dir / "reference-cache"});
  ASSERT_TRUE(uninterrupted.partial.empty()) << "the file check rejects an uninterrupted run's file: "
                                             << uninterrupted.partial.front();

  Figures f;
  f.scenario = "backbone-training";
  f.command = "vdlab run kill-training.yaml --threads 1 (a micro UNet: 6 image + 18 video steps, a "
              "checkpoint and EMA snapshot every 2 steps, then one cell)";
  f.seed = kill_seed() + 1;
  f.uninterrupted_s = reference.seconds;
  SplitMix rng(f.seed);
  int during_training = 0, resumed = 0;
  const int trials = kill_trials(3);
  for (int i = 0; i < trials; ++i) {
    const fs::path out = dir / ("trial" + std::to_string(i)), cache = dir / ("cache" + std::to_string(i));
    const fs::path log = dir / ("trial" + std::to_string(i) + ".log");
    Trial t;
    t.args = run_args(exp, out, cache);
    t.folders = {out, cache};
    t.finished_roots = {out, cache};
    // Finished results: cell files, the EMA snapshots and final weights (never rewritten once there).
    t.finished = [](const fs::path& p) {
      const std::string name = p.filename().string();
      return (p.extension() == ".h5" && p.parent_path().filename() == "cells") || name.rfind("ema-step", 0) == 0 ||
             name == "final.pt";
    };
    t.at_kill = [&, cache] {
      const fs::path trained = fs::exists(cache / "backbones") ? only_backbone_dir(cache) : fs::path();
      during_training += trained.empty() || !fs::exists(trained / "final.pt");
    };
    t.compare = [&, cache, out] {
      const fs::path trained = only_backbone_dir(cache);
      if (trained.empty()) return std::string("no trained backbone");
      for (const char* file : {"final.pt", "ema-step12.pt"}) {
        const std::string d = compare_weights(reference_backbone / file, trained / file);
        if (!d.empty()) return d;
      }
      return compare_cells(dir / "reference" / "cells", out / "cells");
    };
    // Training is where the time goes: kills are drawn over the whole run, most land in it.
    run_trial(t, rng.uniform() * reference.seconds, log, f);
    resumed += read_text(log).find("resuming from") != std::string::npos;
    fs::remove_all(out);
    fs::remove_all(cache);
  }
  f.extra["kills_during_training"] = during_training;
  f.extra["reruns_resumed_from_a_checkpoint"] = resumed;
  publish(f);
  expect_clean(f);
}

// `vdlab collect` of a finished four-cell run, into the run's folder (its default).
TEST(KillTrialsIntegration, CollectLeavesNoPartialFileAndTouchesNoCell) {
  const fs::path dir = fresh_dir("vdlab_kill_collect");
  const std::string exp = write_file(dir / "exp.yaml", kCells);
  const Finished run = run_vdlab(run_args(exp, dir / "run", dir / "cache"), dir / "run.log");
  ASSERT_EQ(run.code, 0) << read_text(dir / "run.log");
  fs::copy(dir / "run", dir / "reference", fs::copy_options::recursive);
  const Finished reference = run_vdlab({"collect", (dir / "reference").string()}, dir / "reference.log");
  ASSERT_EQ(reference.code, 0) << read_text(dir / "reference.log");
  const FolderCheck uninterrupted = check_folders({dir / "reference"});
  ASSERT_TRUE(uninterrupted.partial.empty()) << "the file check rejects an uninterrupted collect's file: "
                                             << uninterrupted.partial.front();
  std::set<std::string> reference_files;
  for (const auto& e : fs::recursive_directory_iterator(dir / "reference"))
    if (e.is_regular_file()) reference_files.insert(fs::relative(e.path(), dir / "reference").string());

  // The kills are spread over a warm collect's duration: the first collect may also fill caches (fonts
  // for the plots); under a sanitizer one took 5.1 s where the trials' finished within 2.9 s, so that
  // every kill came too late.
  fs::copy(dir / "run", dir / "warm", fs::copy_options::recursive);
  const Finished warm = run_vdlab({"collect", (dir / "warm").string()}, dir / "warm.log");
  ASSERT_EQ(warm.code, 0) << read_text(dir / "warm.log");
  fs::remove_all(dir / "warm");
  const double uninterrupted_s = std::min(reference.seconds, warm.seconds);

  Figures f;
  f.scenario = "collect";
  f.command = "vdlab collect RUN (4 cells: sweep.h5, cells.csv, tables, plots, report.html with videos)";
  f.seed = kill_seed() + 2;
  f.uninterrupted_s = uninterrupted_s;
  SplitMix rng(f.seed);
  const int trials = kill_trials(3);
  for (int i = 0; i < trials; ++i) {
    const fs::path out = dir / ("trial" + std::to_string(i));
    fs::copy(dir / "run", out, fs::copy_options::recursive);
    Trial t;
    t.args = {"collect", out.string()};
    t.folders = {out};
    t.finished_roots = {out / "cells"};
    t.finished = [](const fs::path& p) { return p.extension() == ".h5"; };
    t.compare = [&, out]() -> std::string {
      std::set<std::string> files;
      for (const auto& e : fs::recursive_directory_iterator(out))
        if (e.is_regular_file()) files.insert(fs::relative(e.path(), out).string());
      if (files != reference_files) return "another set of files than the uninterrupted collect's";
      // Tables and their numbers, byte for byte (the .md and .tex titles name the folder; sweep.h5 and
      // report.html also record the date).
      for (const char* file : {"cells.csv", "tables/summary.csv"})
        if (read_text(out / file) != read_text(dir / "reference" / file)) return std::string(file) + " differs";
      const Sweep a = read_sweep_h5((dir / "reference" / "sweep.h5").string());
      const Sweep b = read_sweep_h5((out / "sweep.h5").string());
      if (a.values.size() != b.values.size()) return std::string("sweep.h5: another number of rows");
      for (std::size_t v = 0; v < a.values.size(); ++v)
        if (a.values[v].value != b.values[v].value || a.values[v].per_sample != b.values[v].per_sample)
          return "sweep.h5: row " + std::to_string(v) + " differs";
      return "";
    };
    run_trial(t, rng.uniform() * uninterrupted_s, dir / ("trial" + std::to_string(i) + ".log"), f);
    fs::remove_all(out);
  }
  publish(f);
  expect_clean(f);
}

}  // namespace
}  // namespace vdlab
