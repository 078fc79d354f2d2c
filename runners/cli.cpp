#include "runners/cli.h"

#include <ATen/Parallel.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "core/suggest.h"
#include "datasets/clip_source.h"
#include "datasets/video_io.h"
#include "methods/backbone/backbone.h"
#include "methods/hooks/hook_registry.h"
#include "methods/method.h"
#include "methods/noise/noise_init.h"
#include "methods/samplers/sampler.h"
#include "metrics/metric.h"
#include "core/atomic_file.h"
#include "runners/cell_runner.h"
#include "runners/pinned_files.h"
#include "runners/cell_state.h"
#include "runners/collect_command.h"
#include "runners/command_line.h"
#include "runners/compare_command.h"
#include "runners/experiment.h"
#include "runners/metrics_command.h"
#include "runners/preview_command.h"
#include "runners/provenance.h"
#include "runners/paper_report_command.h"
#include "runners/local_jobs.h"
#include "runners/report.h"
#include "runners/submit_command.h"
#include "runners/sweep_state.h"
#include "runners/yaml_json.h"

namespace vdlab {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

// Options every command that runs cells shares.
struct CommonOptions {
  std::string out = "runs/out";
  std::string cache, weights, device = "cpu";
  int threads = 0;
  bool quiet = false, verbose = false;
};

void add_common(po::options_description& desc, CommonOptions& o) {
  desc.add_options()
      ("out,o", po::value(&o.out)->default_value(o.out), "output folder: cells/<id>.h5, report.md, samples/")
      ("device", po::value(&o.device)->default_value(o.device), "cpu or cuda (cuda needs a CUDA build of LibTorch)")
      ("threads", po::value(&o.threads)->default_value(0),
       "CPU threads for LibTorch (generation, training, metrics); 0 = every core of the machine")
      ("cache", po::value(&o.cache), "cache folder for backbone checkpoints and reference statistics "
                                     "(default $VDLAB_CACHE_DIR, else ~/.cache/vdlab)")
      ("weights", po::value(&o.weights), "folder of metric extractor files (default <cache>/weights)")
      ("quiet,q", po::bool_switch(&o.quiet), "only warnings and errors")
      ("verbose,v", po::bool_switch(&o.verbose), "debug messages");
}

// The one place the thread count is set: training and extractors keep what is set here.
void apply_common(const CommonOptions& o) {
  if (o.quiet) set_log_level(LogLevel::warn);
  if (o.verbose) set_log_level(LogLevel::debug);
  if (o.threads < 0) throw ConfigError("--threads: must be 0 (every core) or more, got " + std::to_string(o.threads));
  const int threads = o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  if (o.device != "cpu" && o.device != "cuda")
    throw ConfigError("--device: '" + o.device + "' is not a device (cpu or cuda)");
}

RunOptions run_options(const CommonOptions& o) {
  RunOptions r;
  r.out_dir = o.out;
  r.cache_dir = o.cache;
  r.weights_dir = o.weights;
  r.device = o.device;
  return r;
}

const char* kExperimentHelp =
    "An experiment file (YAML) names a backbone, an evaluation dataset split, method variants, seeds and\n"
    "metrics. A list where a single value is expected expands into a grid (`steps: [10, 20]` makes two\n"
    "variants); `zip: {sampler.steps: [10, 20], noise.rho: [0.4, 0.6]}` pairs lists instead. Each\n"
    "variant x seed is a cell with a content hash of its resolved config; a cell whose file exists with\n"
    "the same hash is not run again.\n\n"
    "Overrides `path=value` change any field: `sampler.steps=50` (every variant), `variants.0.noise.rho=0.4`,\n"
    "`dataset.clips=16`, `seeds=[0,1,2]`. Values are YAML.\n\n"
    "A TorchScript file is code: `backbone: {torchscript: PATH, sha256: HEX}` and an extractor metric's\n"
    "`sha256: HEX` (fid, fvd, clip_sim, fc) pin the file by all 64 hex digits of its SHA-256; a different\n"
    "file is refused in one line before any cell runs. `vdlab list backbones|metrics` lists every field.";

// What every experiment command shares: the file, `path=value` overrides, and the common options.
struct ExperimentArgs {
  std::string experiment;
  std::vector<std::string> overrides;
  CommonOptions common;
  po::options_description desc;
  po::positional_options_description pos;

  explicit ExperimentArgs(const std::string& title) : desc(title) {
    desc.add_options()("experiment", po::value(&experiment)->required(), "experiment file (YAML)")(
        "set", po::value(&overrides)->multitoken(), "overrides path=value (also accepted after the file)");
    add_common(desc, common);
    pos.add("experiment", 1).add("set", -1);
  }

  // -1 to go on; otherwise the exit code (help shown: 0; no arguments: usage and 2).
  int parse_or_help(const std::vector<std::string>& args, const std::string& usage, const std::string& teach) {
    po::variables_map vm;
    return parse_command_line(args, command_help(usage, teach), desc, pos, vm);
  }

  // An experiment file, or the resolved experiment a run saved (OUT/experiment.json).
  Experiment load() const { return load_experiment_or_saved(experiment, overrides); }
};

void print_plan_line(const CellSpec& c, const std::string& status) {
  std::cout << std::setw(4) << c.index << "  " << std::left << std::setw(44) << c.id << " " << c.hash << "  " << status
            << std::right << "\n";
}

void write_json_atomically(const std::string& path, const Json& j) {
  write_file_atomically(path, j.dump(2) + "\n");
}

std::string saved_experiment_path(const std::string& out_dir) { return out_dir + "/experiment.json"; }

// The resolved experiment, overrides included, saved where its cells go: `vdlab status OUT` reads it.
void save_experiment(const Experiment& e, const RunOptions& ro) {
  fs::create_directories(ro.out_dir);
  write_json_atomically(saved_experiment_path(ro.out_dir), experiment_to_json(e));
}

// Said by plan and run before any cell runs: a trained backbone's training split, when it was left out.
void warn_default_train_split(const Experiment& e) {
  const auto backbones = distinct_backbones(e);
  if (e.train_dataset_defaulted &&
      std::any_of(backbones.begin(), backbones.end(), [](const auto& b) { return backbone_trains(b.first); }))
    log_warn("train_dataset not given: the backbone trains on " + e.train_dataset.dump() +
             " (`dataset` with split train)");
}

int cmd_plan(const std::vector<std::string>& args) {
  ExperimentArgs a("plan options");
  const int code = a.parse_or_help(
      args, "vdlab plan EXPERIMENT.yaml [path=value ...] [--out DIR]",
      "Checks every value and path of an experiment (no backbone is loaded), says whether the backbone is\n"
      "cached or will be trained, and lists the cells: index, id, hash and status in --out (done, missing,\n"
      "failed, stale and why, corrupt and why, made by another vdlab version, metrics to score). Cells with\n"
      "identical hashes are planned once. The same file gives the same cells and hashes on every run and machine.\n"
      "It saves the resolved experiment as --out/experiment.json (what `vdlab status OUT` reads).\n"
      "Exit status: 0, or 2 for bad input.\n\n" +
          std::string(kExperimentHelp));
  if (code >= 0) return code;
  apply_common(a.common);
  const Experiment e = a.load();
  validate_experiment(e);
  const RunOptions ro = run_options(a.common);
  check_pinned_files(e, ro);
  const auto cells = plan_cells(e);
  save_experiment(e, ro);
  warn_default_train_split(e);
  std::cout << backbone_plan_line(e, ro) << "\n";
  InputIdentities identities;
  std::cout << "index  id" << std::string(42, ' ') << "hash              status\n";
  for (const auto& c : cells) {
    print_plan_line(c, describe_judgement(judge_cell(ro, c, identities)));
    for (const auto& label : c.duplicate_labels)
      std::cout << "      (" << label << " is the same cell: identical config and hash, planned once)\n";
  }
  const std::size_t all = e.variants.size() * e.seeds.size() * e.datasets.size();
  std::cout << cells.size() << " cells (" << e.variants.size() << " variants x " << e.seeds.size() << " seeds x "
            << e.datasets.size() << " dataset splits";
  if (all != cells.size()) std::cout << " = " << all << ", of which " << all - cells.size() << " duplicates";
  std::cout << ")\n";
  return 0;
}

// A read-only or otherwise unwritable --out stops a command here, before any work, in one line naming
// it; temp files that interrupted writers left anywhere in it (cells, features, samples, the report)
// are removed.
void prepare_out_dir(const RunOptions& ro) {
  check_writable_dir(ro.out_dir);
  fs::create_directories(ro.out_dir + "/cells");
  const int stale = remove_stale_temp_files_below(ro.out_dir);
  if (stale) log_info("removed " + std::to_string(stale) + " partial file(s) left by an interrupted run");
}

int run_cells(const Experiment& e, const std::vector<CellSpec>& cells, const RunOptions& ro) {
  prepare_out_dir(ro);
  save_experiment(e, ro);
  CellRunner runner(e, ro);
  int done = 0, scored = 0, skipped = 0, failed = 0;
  Progress progress("cells", long(cells.size()));
  for (const auto& c : cells) {
    const CellOutcome r = runner.run(c);
    const std::string name = "cell " + std::to_string(c.index) + " " + c.id;
    switch (r.status) {
      case CellStatus::skipped:
        ++skipped;
        log_info(name + ": finished earlier (" + r.why + "), skipped");
        break;
      case CellStatus::scored:
        ++scored;
        log_info(name + ": scored from its stored videos (" + r.why + ") in " + format_duration(r.seconds));
        break;
      case CellStatus::done:
        ++done;
        log_info(name + ": done in " + format_duration(r.seconds) + (r.why == "missing" ? "" : " (was " + r.why + ")"));
        break;
      case CellStatus::failed:
        ++failed;
        log_error(name + ": " + r.error);
        break;
    }
    progress.update(done + scored + skipped + failed);
  }
  progress.finish(std::to_string(done) + " run, " + std::to_string(scored) + " scored again, " +
                  std::to_string(skipped) + " skipped, " + std::to_string(failed) + " failed");
  const ReportFiles report = write_report(e, cells, ro);
  if (!report.table_md.empty()) log_info("report: " + report.table_md + ", samples: " + report.grid_png);
  return failed ? 1 : 0;
}

// --rerun: which finished cells run again besides missing, failed and stale ones.
void apply_rerun(const std::string& rerun, bool force, RunOptions& ro) {
  if (rerun == "stale") ro.rerun_other_version = true;
  else if (rerun == "all") ro.force = true;
  else if (!rerun.empty())
    throw ConfigError("--rerun: '" + rerun + "' is not one of: stale, all" + suggestion_suffix(rerun, {"stale", "all"}));
  if (force) ro.force = true;
}

const char* kRerunHelp =
    "which finished cells run again: stale (also cells made by another vdlab version; cells whose "
    "inputs changed always run again), all (every cell)";

int cmd_run(const std::vector<std::string>& args) {
  ExperimentArgs a("run options");
  bool force = false;
  std::string rerun;
  int jobs = 1;
  a.desc.add_options()("rerun", po::value(&rerun), kRerunHelp)(
      "force", po::bool_switch(&force), "run every cell again, even finished ones (--rerun all)")(
      "jobs,j", po::value(&jobs)->default_value(1),
      "cells at once, each a `vdlab cell` process as on a cluster, with --threads split between them (1: one "
      "copy of the model in memory; on a CPU, small models sample faster with one cell per core)");
  const int code = a.parse_or_help(
      args, "vdlab run EXPERIMENT.yaml [path=value ...] [--out DIR] [--device cpu|cuda] [--threads N]",
      "Runs every cell of an experiment here, one after another, skipping cells already finished in --out.\n"
      "A cell whose inputs changed (the split's content, a TorchScript or checkpoint file) runs again; a\n"
      "metric the experiment adds, or whose extractor file changed, is scored from the stored videos.\n"
      "A trained backbone is trained once and cached (--cache); a killed run loses only the cell in flight.\n"
      "At the end it writes report.md (table), cells.csv, samples/*.mp4 and samples/grid.png in --out.\n"
      "Exit status: 0 when every cell is finished, 1 when any failed (see cells/<id>.error), 2 for bad input.\n\n" +
          std::string(kExperimentHelp) + "\n\nExample: vdlab run experiments/demo.yaml sampler.steps=20 --out runs/demo");
  if (code >= 0) return code;
  apply_common(a.common);
  const Experiment e = a.load();
  validate_experiment(e);
  RunOptions ro = run_options(a.common);
  check_pinned_files(e, ro);
  apply_rerun(rerun, force, ro);
  warn_default_train_split(e);
  log_info(backbone_plan_line(e, ro));
  if (jobs < 1) throw ConfigError("--jobs: must be at least 1, got " + std::to_string(jobs));
  if (jobs == 1) return run_cells(e, plan_cells(e), ro);
  const auto cells = plan_cells(e);
  prepare_out_dir(ro);
  save_experiment(e, ro);
  LocalJobs local;
  local.jobs = jobs;
  local.threads = at::get_num_threads();
  local.quiet = a.common.quiet;
  const int failed = run_cells_in_processes(e, saved_experiment_path(ro.out_dir), cells, ro, local);
  const ReportFiles report = write_report(e, cells, ro);
  if (!report.table_md.empty()) log_info("report: " + report.table_md + ", samples: " + report.grid_png);
  return failed ? 1 : 0;
}

int cmd_cell(const std::vector<std::string>& args) {
  ExperimentArgs a("cell options");
  long index = -1;
  std::string rerun;
  a.desc.add_options()("index,i", po::value(&index)->required(),
                       "cell index from `vdlab plan` (a Slurm array task passes $SLURM_ARRAY_TASK_ID)")(
      "rerun", po::value(&rerun), kRerunHelp);
  const int code = a.parse_or_help(
      args, "vdlab cell EXPERIMENT.yaml --index I [path=value ...] [--out DIR]",
      "Runs one cell (skipped when already finished and current). Cluster array jobs run one of these per\n"
      "task; the cell file appears complete or not at all, so a requeued task simply runs again.\n"
      "Exit status: 0 when the cell is finished, 1 when it failed, 2 for bad input.");
  if (code >= 0) return code;
  apply_common(a.common);
  const Experiment e = a.load();
  const auto cells = plan_cells(e);
  if (index < 0 || std::size_t(index) >= cells.size())
    throw ConfigError("--index " + std::to_string(index) + ": the experiment has cells 0 to " +
                      std::to_string(cells.size() - 1));
  validate_experiment(e);
  RunOptions ro = run_options(a.common);
  check_pinned_files(e, ro);
  apply_rerun(rerun, false, ro);
  check_writable_dir(ro.out_dir);
  fs::create_directories(ro.out_dir + "/cells");
  save_experiment(e, ro);  // every array task writes the same file, atomically
  CellRunner runner(e, ro);
  const auto& c = cells[std::size_t(index)];
  const CellOutcome r = runner.run(c);
  if (r.status == CellStatus::failed) {
    std::cerr << "vdlab cell: error: cell " << index << " " << c.id << ": " << r.error << "\n";
    return 1;
  }
  const std::string outcome = r.status == CellStatus::skipped ? ": finished earlier, skipped"
                              : r.status == CellStatus::scored ? ": scored from its stored videos in " + format_duration(r.seconds)
                                                               : ": done in " + format_duration(r.seconds);
  log_info("cell " + std::to_string(index) + " " + c.id + outcome);
  return 0;
}

int cmd_status(const std::vector<std::string>& args) {
  ExperimentArgs a("status options");
  const int code = a.parse_or_help(
      args, "vdlab status OUTDIR | EXPERIMENT.yaml [path=value ...] [--out DIR]",
      "Counts done / running / pending / missing / failed / stale / corrupt cells, prints each failure's error,\n"
      "why each stale cell is stale and why each corrupt cell file does not read (`vdlab run` moves it to\n"
      "cells/<id>.h5.corrupt and generates the cell again), and the index list to rerun (what is neither\n"
      "done, running nor waiting).\n"
      "A cell is running while a live process holds its lock (locks/<id>.lock). For a sweep sent with\n"
      "`vdlab submit` it also reads squeue: a queued task is pending (held, requeued and preempted tasks too:\n"
      "never done until its cell file is), a running one running. Given the output folder of a run, it reads the resolved\n"
      "experiment saved there (OUTDIR/experiment.json: the file as run, overrides included); given an\n"
      "experiment file, it plans that file with the overrides given here, against --out.\n"
      "Exit status: 0 when no cell failed, 1 when any did, 2 for bad input.");
  if (code >= 0) return code;
  apply_common(a.common);
  RunOptions ro = run_options(a.common);
  Experiment e;
  if (fs::is_directory(a.experiment)) {
    if (!a.overrides.empty())
      throw ConfigError("status " + a.experiment + ": overrides apply to an experiment file, not to an output folder");
    ro.out_dir = a.experiment;
    const std::string saved = saved_experiment_path(ro.out_dir);
    if (!fs::exists(saved))
      throw ConfigError(a.experiment + ": no experiment.json here (written by vdlab plan and vdlab run); "
                        "give the experiment file and --out instead");
    std::ifstream in(saved);
    Json j;
    try {
      j = Json::parse(in);
    } catch (const Json::exception& ex) {
      throw ConfigError(saved + ": not JSON (" + std::string(ex.what()) + ")");
    }
    e = experiment_from_json(j, saved);
  } else {
    e = a.load();
  }
  const auto cells = plan_cells(e);
  const SweepState sweep = judge_sweep(ro, cells);
  if (!sweep.jobs.empty() && !sweep.queue)
    std::cout << "Slurm: " << (sweep.queue_problem.empty() ? "squeue not found" : sweep.queue_problem)
              << "; judged from the files alone\n";
  if (sweep.queue)
    for (const auto& t : *sweep.queue)
      for (const auto& job : sweep.jobs)
        if (job.id == t.base && job.kind == "train")
          std::cout << "training " << t.job << " (backbone " << job.detail << "): " << t.state
                    << (t.running() || t.reason.empty() || t.reason == "None" ? "" : " (" + t.reason + ")") << "\n";
  std::map<CellState, int> counts;
  int need_metrics = 0, running = 0, pending = 0;
  for (const auto& sc : sweep.cells) {
    const CellSpec& c = *sc.cell;
    const CellJudgement& j = sc.judgement;
    if (!sc.done() && sc.activity != CellActivity::idle) {
      const bool runs = sc.activity == CellActivity::running;
      ++(runs ? running : pending);
      std::cout << std::left << std::setw(8) << (runs ? "running" : "pending") << std::right << c.index << " " << c.id;
      if (!sc.task.empty()) std::cout << " (Slurm task " << sc.task << ": " << sc.task_state << ")";
      if (j.state == CellState::failed) std::cout << "; last attempt failed: " << j.error;
      std::cout << "\n";
      continue;
    }
    ++counts[j.state];
    if (!j.metrics_to_score.empty()) ++need_metrics;
    if (j.state == CellState::failed) std::cout << "failed  " << c.index << " " << c.id << ": " << j.error << "\n";
    else if (j.state != CellState::missing && (j.state != CellState::done || !j.metrics_to_score.empty()))
      std::cout << std::left << std::setw(8)
                << (j.state == CellState::stale     ? "stale"
                    : j.state == CellState::corrupt ? "corrupt"
                    : j.state == CellState::done    ? "scores"
                                                    : "version")
                << std::right << c.index << " " << c.id << ": " << describe_judgement(j) << "\n";
  }
  const std::string todo = compact_index_list(sweep.to_run());
  std::cout << counts[CellState::done] + counts[CellState::other_version] << " of " << cells.size() << " cells done";
  if (counts[CellState::other_version]) std::cout << " (" << counts[CellState::other_version] << " by another vdlab version)";
  std::cout << ", " << counts[CellState::missing] << " missing, " << counts[CellState::failed] << " failed, "
            << counts[CellState::stale] << " stale";
  if (counts[CellState::corrupt]) std::cout << ", " << counts[CellState::corrupt] << " corrupt";
  if (running) std::cout << ", " << running << " running";
  if (pending) std::cout << ", " << pending << " pending";
  if (need_metrics) std::cout << ", " << need_metrics << " with metrics to score";
  if (!todo.empty()) std::cout << "; to run: --array=" << todo;
  std::cout << "\n";
  return counts[CellState::failed] ? 1 : 0;
}

std::vector<std::string> list_kinds() {
  return {"methods", "samplers", "noise", "hooks", "datasets", "metrics", "backbones"};
}

template <class R>
void list_registry(const R& registry) {
  std::cout << registry.kind() << "s:\n";
  for (const auto& kv : registry.entries()) {
    const auto& e = kv.second;
    std::cout << "  " << e.name << "  " << e.description << "\n";
    for (const auto& p : e.params) {
      std::cout << "      " << p.name << " = " << p.default_value.dump();
      if (!p.choices.empty()) {
        std::cout << "  {";
        for (std::size_t i = 0; i < p.choices.size(); ++i) std::cout << (i ? "|" : "") << p.choices[i];
        std::cout << "}";
      }
      std::cout << "  " << p.help << "\n";
    }
  }
}

int cmd_list(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << "usage: vdlab list KIND\n\nShows every registered entry of KIND with its parameters, defaults and a\n"
                 "one-line description. KIND is one of: methods, samplers, noise, hooks, datasets, metrics, backbones.\n";
    return args.empty() ? 2 : 0;
  }
  register_builtin_datasets();
  register_builtin_methods();
  register_builtin_metrics();
  const std::string& k = args[0];
  if (k == "methods") list_registry(method_registry());
  else if (k == "datasets") list_registry(dataset_registry());
  else if (k == "metrics") list_registry(metric_registry());
  else if (k == "backbones") list_registry(backbone_registry());
  else if (k == "noise") list_registry(noise_registry());
  else if (k == "samplers") list_registry(sampler_registry());
  else if (k == "hooks") list_registry(hook_registry());
  else throw ConfigError("unknown kind '" + k + "'" + suggestion_suffix(k, list_kinds()));
  return 0;
}

}  // namespace

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"run", "run every cell of an experiment here, skipping finished ones", cmd_run},
      {"plan", "list an experiment's cells: index, id, hash, status", cmd_plan},
      {"cell", "run one cell by index (what a cluster array task calls)", cmd_cell},
      {"status", "done / running / pending / missing / failed cells, and the indices to rerun", cmd_status},
      submit_command(),
      train_command(),
      {"list", "registered methods, samplers, noise, datasets, metrics, backbones", cmd_list},
      preview_command(),
      metrics_command(),
      paper_report_command(),
      collect_command(),
      compare_command(),
  };
  return list;
}

int cli_main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return cli_main(args);
}

int cli_main(const std::vector<std::string>& args) {
  std::vector<std::string> names;
  for (const auto& c : commands()) names.push_back(c.name);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::ostream& out = args.empty() ? std::cerr : std::cout;
    out << "vdlab " << vdlab_version() << " (" << git_commit() << "): a research harness for video diffusion\n\n"
        << "usage: vdlab COMMAND [options]      (vdlab COMMAND --help for each)\n\ncommands:\n";
    for (const auto& c : commands()) out << "  " << std::left << std::setw(13) << c.name << c.summary << "\n";
    out << "\nExit status: 0 success, 1 a failure while running (a failed cell), 2 bad input (usage, experiment\n"
           "file, a value or a path), for every command.\n";
    out << "\nStart with: vdlab plan experiments/demo.yaml, then vdlab run experiments/demo.yaml --out runs/demo\n";
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::cout << "vdlab " << vdlab_version() << " (" << git_commit() << ")\n";
    return 0;
  }
  for (const auto& c : commands())
    if (c.name == args[0]) {
      try {
        return c.run(std::vector<std::string>(args.begin() + 1, args.end()));
      } catch (const ConfigError& e) {
        std::cerr << "vdlab " << c.name << ": error: " << e.what() << "\n";
        return 2;
      } catch (const std::exception& e) {
        std::cerr << "vdlab " << c.name << ": error: " << e.what() << "\n";
        return 1;
      }
    }
  std::cerr << "vdlab: unknown command '" << args[0] << "'" << suggestion_suffix(args[0], names) << "\n";
  return 2;
}

}  // namespace vdlab
