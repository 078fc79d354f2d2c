#include "runners/submit_command.h"

#include <ATen/Parallel.h>

#include <boost/program_options.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "runners/cell_runner.h"
#include "runners/command_line.h"
#include "runners/pinned_files.h"
#include "runners/slurm.h"
#include "runners/sweep_state.h"

namespace vdlab {

namespace po = boost::program_options;
namespace fs = std::filesystem;

Experiment load_experiment_or_saved(const std::string& path, const std::vector<std::string>& overrides) {
  if (fs::path(path).extension() == ".json") {
    std::ifstream in(path);
    if (!in) throw ConfigError(path + ": cannot read");
    Json saved;
    try {
      saved = Json::parse(in);
    } catch (const Json::exception& e) {
      throw ConfigError(path + ": not JSON (" + std::string(e.what()) + ")");
    }
    if (saved.is_object() && saved.contains("format")) {
      if (!overrides.empty())
        throw ConfigError(path + ": a resolved experiment takes no overrides; give the experiment file instead");
      return experiment_from_json(saved, path);
    }
  }
  return load_experiment(path, overrides);
}

std::string this_executable() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("cannot find the vdlab executable (/proc/self/exe): " + ec.message());
  return self.string();
}

namespace {

// The options submit and train share with the other experiment commands.
struct Options {
  std::string experiment, out = "runs/out", cache, weights, device = "cpu";
  std::vector<std::string> overrides;
  int threads = 0;
  bool quiet = false;
  po::options_description desc;
  po::positional_options_description pos;

  explicit Options(const std::string& title) : desc(title) {
    desc.add_options()("experiment", po::value(&experiment)->required(), "experiment file (YAML)")(
        "set", po::value(&overrides)->multitoken(), "overrides path=value (also accepted after the file)")(
        "out,o", po::value(&out)->default_value(out), "output folder of the sweep")(
        "cache", po::value(&cache), "backbone checkpoint cache (default $VDLAB_CACHE_DIR, else ~/.cache/vdlab)")(
        "weights", po::value(&weights), "folder of metric extractor files (default <cache>/weights)")(
        "device", po::value(&device)->default_value(device), "cpu or cuda")(
        "quiet,q", po::bool_switch(&quiet), "only warnings and errors");
    pos.add("experiment", 1).add("set", -1);
  }

  // -1 to go on, else the exit code.
  int parse(const std::vector<std::string>& args, const std::string& usage, const std::string& teach) {
    po::variables_map vm;
    if (const int code = parse_command_line(args, command_help(usage, teach), desc, pos, vm); code >= 0) return code;
    if (quiet) set_log_level(LogLevel::warn);
    if (threads < 0) throw ConfigError("--threads: must be 0 or more, got " + std::to_string(threads));
    if (device != "cpu" && device != "cuda") throw ConfigError("--device: '" + device + "' is not a device (cpu or cuda)");
    return -1;
  }

  RunOptions run_options() const {
    RunOptions r;
    r.out_dir = fs::absolute(out).lexically_normal().string();
    r.cache_dir = cache.empty() ? "" : fs::absolute(cache).lexically_normal().string();
    r.weights_dir = weights.empty() ? "" : fs::absolute(weights).lexically_normal().string();
    r.device = device;
    return with_defaults(r);
  }
};

void save_resolved_experiment(const Experiment& e, const std::string& path) {
  fs::create_directories(fs::path(path).parent_path());
  write_file_atomically(path, experiment_to_json(e).dump(2) + "\n");
}

void write_script(const std::string& path, const std::string& text) {
  write_file_atomically(path, text);
  fs::permissions(path, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
}

int cmd_submit(const std::vector<std::string>& all_args) {
  // Everything after `--` goes to sbatch untouched.
  const auto dashes = std::find(all_args.begin(), all_args.end(), "--");
  const std::vector<std::string> args(all_args.begin(), dashes);
  const std::vector<std::string> sbatch_options(dashes == all_args.end() ? dashes : dashes + 1, all_args.end());
  Options o("submit options");
  int max_concurrent = 0, signal_seconds = 120;
  std::string array, job_name;
  bool dry_run = false;
  o.desc.add_options()("max-concurrent", po::value(&max_concurrent)->default_value(0),
                       "most array tasks running at once (--array=...%K); 0: as many as Slurm allows")(
      "array", po::value(&array), "cell indices to submit, as `vdlab status` lists them (default: every cell "
                                  "that is not done, running or waiting in the queue)")(
      "threads", po::value(&o.threads)->default_value(0), "threads per task; 0: $SLURM_CPUS_PER_TASK, else 1")(
      "signal-before", po::value(&signal_seconds)->default_value(120),
      "seconds before the time limit at which tasks get USR2 (checkpoint, requeue)")(
      "job-name", po::value(&job_name), "prefix of the job names (default vdlab-<experiment name>)")(
      "dry-run", po::bool_switch(&dry_run), "write the sbatch scripts and print the sbatch commands, submit nothing");
  const int code = o.parse(
      args, "vdlab submit EXPERIMENT.yaml [path=value ...] [--out DIR] [--max-concurrent K] [-- sbatch options]",
      "Submits a sweep to Slurm and returns at once, printing the job ids. It writes the sbatch scripts into\n"
      "--out/slurm/ and submits one job per backbone that is still to be trained (`vdlab train`), then one\n"
      "array job of the cells (`vdlab cell --index $SLURM_ARRAY_TASK_ID`, task id = cell index) that starts\n"
      "after those jobs succeed (--dependency=afterok), at most K at once (--array=...%K), logging to\n"
      "--out/slurm/logs/cells-%A_%a.log. Tasks are requeueable (--requeue) and get USR2 two minutes before\n"
      "their time limit (--signal=B:USR2@120): backbone training checkpoints and stops, the task requeues\n"
      "itself and resumes from the checkpoint. A cell file appears complete or not at all, under a per-cell\n"
      "lock, so requeued or resubmitted tasks never finish a cell twice. The tasks read --out/experiment.json,\n"
      "the experiment resolved now (overrides included), so editing the file later changes nothing queued.\n"
      "Options after `--` go to sbatch (partition, time, memory, GPUs: -- -p gpu --time=2:00:00 --mem=16G\n"
      "--gres=gpu:1 --cpus-per-task=4). `vdlab status --out DIR` follows the sweep and lists what to\n"
      "resubmit (`vdlab submit ... --array LIST`).\n"
      "Exit status: 0 when submitted (or nothing left to run), 1 when sbatch refused, 2 for bad input.");
  if (code >= 0) return code;
  if (max_concurrent < 0) throw ConfigError("--max-concurrent: must be 0 or more, got " + std::to_string(max_concurrent));
  if (signal_seconds < 1) throw ConfigError("--signal-before: must be at least 1 second");
  const Experiment e = load_experiment_or_saved(o.experiment, o.overrides);
  validate_experiment(e);
  const RunOptions ro = o.run_options();
  check_pinned_files(e, ro);
  const auto cells = plan_cells(e);

  std::vector<std::size_t> indices;
  if (!array.empty()) {
    indices = parse_index_list(array, "--array");
    if (indices.back() >= cells.size())
      throw ConfigError("--array: cell " + std::to_string(indices.back()) + " does not exist (the experiment has cells 0 to " +
                        std::to_string(cells.size() - 1) + ")");
  } else {
    indices = judge_sweep(ro, cells).to_run();
  }
  if (indices.empty()) {
    std::cout << "nothing to submit: every one of the " << cells.size()
              << " cells is done, running or waiting in the queue (see vdlab status " << ro.out_dir << ")\n";
    return 0;
  }
  if (!dry_run && !command_on_path("sbatch")) throw ConfigError("sbatch not found on PATH: submit needs a Slurm cluster");

  const std::string experiment_json = ro.out_dir + "/experiment.json";
  save_resolved_experiment(e, experiment_json);
  const std::string dir = slurm_dir(ro.out_dir);
  fs::create_directories(dir + "/logs");
  SbatchSettings s;
  s.vdlab = this_executable();
  s.experiment = experiment_json;
  s.out_dir = ro.out_dir;
  s.cache_dir = ro.cache_dir;
  s.weights_dir = o.weights.empty() ? "" : ro.weights_dir;
  s.device = ro.device;
  s.job_name = job_name.empty() ? "vdlab-" + e.name : job_name;
  s.threads = o.threads;
  s.signal_seconds = signal_seconds;
  s.sbatch_options = sbatch_options;

  // Training jobs for the backbones the submitted cells use and the cache lacks; a training job of this
  // folder that is still queued is waited for rather than submitted again.
  std::vector<SubmittedJob> submitted;
  std::vector<std::string> waits;
  std::string problem;
  const auto recorded = read_submitted_jobs(ro.out_dir);
  std::optional<std::vector<QueuedTask>> queue;
  if (!recorded.empty()) queue = query_queue(recorded, problem);
  const auto backbones = distinct_backbones(e);
  for (std::size_t k = 0; k < backbones.size(); ++k) {
    const Json& backbone = backbones[k].first;
    const bool used = std::any_of(indices.begin(), indices.end(),
                                  [&](std::size_t i) { return cells[i].config.at("backbone") == backbone; });
    if (!used || !backbone_needs_training(backbone, e.train_dataset, ro)) continue;
    std::string queued;
    if (queue)
      for (const auto& t : *queue)
        for (const auto& j : recorded)
          if (j.id == t.base && j.kind == "train" && j.detail == std::to_string(k)) queued = t.base;
    if (!queued.empty()) {
      std::cout << "backbone " << k << ": training job " << queued << " is already queued; the cells wait for it\n";
      waits.push_back(queued);
      continue;
    }
    const std::string script = dir + "/train" + std::to_string(k) + ".sbatch";
    write_script(script, train_script(s, k));
    if (dry_run) {
      std::cout << "sbatch --parsable ... " << script << "\n";
      continue;
    }
    const std::string id = sbatch_submit(sbatch_options, script);
    submitted.push_back({id, "train", script, std::to_string(k)});
    waits.push_back(id);
    std::string users;
    for (const auto& l : backbones[k].second) users += (users.empty() ? "" : ", ") + l;
    std::cout << "train job " << id << ": backbone " << k << " " << backbone.value("name", std::string()) << " "
              << backbone.value("preset", std::string()) << " [variants: " << users << "]\n";
  }

  const std::string script = dir + "/cells.sbatch";
  write_script(script, cells_script(s));
  std::vector<std::string> cell_args = sbatch_options;
  const std::string list = compact_index_list(indices);
  cell_args.push_back("--array=" + list + (max_concurrent > 0 ? "%" + std::to_string(max_concurrent) : ""));
  if (!waits.empty()) {
    // A training job that fails cancels the cells rather than leaving them pending for ever.
    cell_args.push_back("--kill-on-invalid-dep=yes");
    std::string dependency = "--dependency=afterok";
    for (const auto& id : waits) dependency += ":" + id;
    cell_args.push_back(dependency);
  }
  if (dry_run) {
    std::cout << "sbatch --parsable";
    for (const auto& a : cell_args) std::cout << " " << shell_quote(a);
    std::cout << " " << script << "\n";
    return 0;
  }
  std::string id;
  try {
    id = sbatch_submit(cell_args, script);
  } catch (const Error&) {
    record_submitted_jobs(ro.out_dir, submitted);  // the training jobs are in the queue all the same
    throw;
  }
  submitted.push_back({id, "cells", script, list});
  record_submitted_jobs(ro.out_dir, submitted);
  std::cout << "cells job " << id << ": --array=" << cell_args[sbatch_options.size()].substr(8) << " (" << indices.size()
            << " of " << cells.size() << " cells)";
  if (!waits.empty()) std::cout << " after " << cell_args.back().substr(21);
  std::cout << "\nlogs: " << dir << "/logs/; follow with: vdlab status " << ro.out_dir << "\n";
  return 0;
}

int cmd_train(const std::vector<std::string>& args) {
  Options o("train options");
  int backbone = -1;
  o.desc.add_options()("backbone,b", po::value(&backbone), "which distinct backbone (0, 1, ... in `vdlab plan` order); "
                                                           "default: every one")(
      "threads", po::value(&o.threads)->default_value(0), "CPU threads; 0 = every core");
  const int code = o.parse(
      args, "vdlab train EXPERIMENT.yaml [path=value ...] [--backbone K] [--cache DIR] [--threads N]",
      "Trains the experiment's backbones into the cache (or finds them there) and generates nothing: what\n"
      "`vdlab submit`'s training jobs run before the cells. Training resumes from its checkpoint; SIGTERM or\n"
      "SIGUSR2 checkpoints and stops it (exit status 1, the same command resumes).\n"
      "Exit status: 0 when trained or cached, 1 on a failure or a stop, 2 for bad input.");
  if (code >= 0) return code;
  at::set_num_threads(o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency())));
  const Experiment e = load_experiment_or_saved(o.experiment, o.overrides);
  validate_experiment(e);
  const RunOptions ro = o.run_options();
  const auto backbones = distinct_backbones(e);
  if (backbone >= int(backbones.size()) || backbone < -1)
    throw ConfigError("--backbone " + std::to_string(backbone) + ": the experiment has backbones 0 to " +
                      std::to_string(backbones.size() - 1));
  const auto cells = plan_cells(e);
  CellRunner runner(e, ro);
  for (std::size_t k = 0; k < backbones.size(); ++k) {
    if (backbone >= 0 && std::size_t(backbone) != k) continue;
    const auto user = std::find_if(cells.begin(), cells.end(),
                                   [&](const CellSpec& c) { return c.config.at("backbone") == backbones[k].first; });
    if (user == cells.end()) continue;
    const bool trains = backbone_needs_training(backbones[k].first, e.train_dataset, ro);
    runner.prepare_backbone(*user);
    log_info("backbone " + std::to_string(k) + ": " + (trains ? "trained" : "cached"));
  }
  return 0;
}

}  // namespace

Command submit_command() {
  return {"submit", "submit a sweep to Slurm: training jobs, then an array job of the cells", cmd_submit};
}

Command train_command() { return {"train", "train an experiment's backbones into the cache, nothing else", cmd_train}; }

}  // namespace vdlab
