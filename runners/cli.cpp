#include "runners/cli.h"

#include <ATen/Parallel.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
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
#include "runners/experiment.h"
#include "runners/metrics_command.h"
#include "runners/provenance.h"
#include "runners/report.h"
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
      ("threads", po::value(&o.threads)->default_value(0), "CPU threads for LibTorch; 0 = every core of the machine")
      ("cache", po::value(&o.cache), "cache folder for backbone checkpoints and reference statistics "
                                     "(default $VDLAB_CACHE_DIR, else ~/.cache/vdlab)")
      ("weights", po::value(&o.weights), "folder of metric extractor files (default <cache>/weights)")
      ("quiet,q", po::bool_switch(&o.quiet), "only warnings and errors")
      ("verbose,v", po::bool_switch(&o.verbose), "debug messages");
}

void apply_common(const CommonOptions& o) {
  if (o.quiet) set_log_level(LogLevel::warn);
  if (o.verbose) set_log_level(LogLevel::debug);
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

struct Parsed {
  po::variables_map vm;
  bool help = false;
};

// Parses `args` for a command; prints usage for --help.
Parsed parse(const std::vector<std::string>& args, po::options_description& desc,
             const po::positional_options_description& pos, const std::string& usage, const std::string& teach) {
  Parsed p;
  desc.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(args).options(desc).positional(pos).run(), p.vm);
    if (p.vm.count("help")) {
      std::cout << "usage: " << usage << "\n\n" << teach << "\n\n" << desc << "\n";
      p.help = true;
      return p;
    }
    po::notify(p.vm);
  } catch (const po::error& e) {
    throw ConfigError(std::string(e.what()) + " (see --help)");
  }
  return p;
}

const char* kExperimentHelp =
    "An experiment file (YAML) names a backbone, an evaluation dataset split, method variants, seeds and\n"
    "metrics. A list where a single value is expected expands into a grid (`steps: [10, 20]` makes two\n"
    "variants); `zip: {sampler.steps: [10, 20], noise.rho: [0.4, 0.6]}` pairs lists instead. Each\n"
    "variant x seed is a cell with a content hash of its resolved config; a cell whose file exists with\n"
    "the same hash is not run again.\n\n"
    "Overrides `path=value` change any field: `sampler.steps=50` (every variant), `variants.0.noise.rho=0.4`,\n"
    "`dataset.clips=16`, `seeds=[0,1,2]`. Values are YAML.";

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
    if (args.empty()) {
      parse({"--help"}, desc, pos, usage, teach);
      return 2;
    }
    if (parse(args, desc, pos, usage, teach).help) return 0;
    return -1;
  }

  Experiment load() const { return load_experiment(experiment, overrides); }
};

void print_plan_line(const CellSpec& c, const std::string& status) {
  std::cout << std::setw(4) << c.index << "  " << std::left << std::setw(44) << c.id << " " << c.hash << "  " << status
            << std::right << "\n";
}

std::string cell_status(const RunOptions& ro, const CellSpec& c) {
  if (cell_finished(ro, c)) return "done";
  if (fs::exists(cell_error_path(ro, c))) return "failed";
  return "missing";
}

int cmd_plan(const std::vector<std::string>& args) {
  ExperimentArgs a("plan options");
  const int code = a.parse_or_help(
      args, "vdlab plan EXPERIMENT.yaml [path=value ...] [--out DIR]",
      "Lists the cells of an experiment: index, id, hash and status (done / missing / failed) in --out.\n"
      "The same file gives the same cells and hashes on every run and every machine.\n\n" +
          std::string(kExperimentHelp));
  if (code >= 0) return code;
  const Experiment e = a.load();
  const RunOptions ro = run_options(a.common);
  const auto cells = plan_cells(e);
  std::cout << "index  id" << std::string(42, ' ') << "hash              status\n";
  for (const auto& c : cells) print_plan_line(c, cell_status(ro, c));
  std::cout << cells.size() << " cells (" << e.variants.size() << " variants x " << e.seeds.size() << " seeds x "
            << e.datasets.size() << " dataset splits)\n";
  return 0;
}

void write_json_atomically(const std::string& path, const Json& j) {
  AtomicFile out(path);
  std::ofstream(out.temp_path()) << j.dump(2) << "\n";
  out.commit();
}

// Opens every dataset split once before any cell runs, so a missing folder or a corrupt video is one
// clear error up front rather than the same failure in every cell.
void check_datasets(const Experiment& e) {
  for (const auto& d : e.datasets) make_dataset(d, "dataset");
  if (backbone_trains(e.backbone)) make_dataset(e.train_dataset, "train_dataset");
}

int run_cells(const Experiment& e, const std::vector<CellSpec>& cells, const RunOptions& ro) {
  check_datasets(e);
  fs::create_directories(ro.out_dir + "/cells");
  const int stale = remove_stale_temp_files(ro.out_dir + "/cells");
  if (stale) log_info("removed " + std::to_string(stale) + " partial file(s) left by an interrupted run");
  write_json_atomically(ro.out_dir + "/experiment.json",
                        {{"name", e.name}, {"origin", e.origin}, {"backbone", e.backbone}, {"datasets", e.datasets},
                         {"train_dataset", e.train_dataset}, {"variants", e.variants}, {"seeds", e.seeds},
                         {"metrics", e.metrics}, {"generate", e.generate}});
  CellRunner runner(e, ro);
  int done = 0, skipped = 0, failed = 0;
  Progress progress("cells", long(cells.size()));
  for (const auto& c : cells) {
    const CellOutcome r = runner.run(c);
    switch (r.status) {
      case CellStatus::skipped:
        ++skipped;
        log_info("cell " + std::to_string(c.index) + " " + c.id + ": finished earlier (same hash), skipped");
        break;
      case CellStatus::done:
        ++done;
        log_info("cell " + std::to_string(c.index) + " " + c.id + ": done in " + format_duration(r.seconds));
        break;
      case CellStatus::failed:
        ++failed;
        log_error("cell " + std::to_string(c.index) + " " + c.id + ": " + r.error);
        break;
    }
    progress.update(done + skipped + failed);
  }
  progress.finish(std::to_string(done) + " run, " + std::to_string(skipped) + " skipped, " + std::to_string(failed) +
                  " failed");
  const ReportFiles report = write_report(e, cells, ro);
  if (!report.table_md.empty()) log_info("report: " + report.table_md + ", samples: " + report.grid_png);
  return failed ? 1 : 0;
}

int cmd_run(const std::vector<std::string>& args) {
  ExperimentArgs a("run options");
  bool force = false;
  a.desc.add_options()("force", po::bool_switch(&force), "run every cell again, even finished ones");
  const int code = a.parse_or_help(
      args, "vdlab run EXPERIMENT.yaml [path=value ...] [--out DIR] [--device cpu|cuda] [--threads N]",
      "Runs every cell of an experiment here, one after another, skipping cells already finished in --out.\n"
      "A trained backbone is trained once and cached (--cache); a killed run loses only the cell in flight.\n"
      "At the end it writes report.md (table), cells.csv, samples/*.mp4 and samples/grid.png in --out.\n"
      "Exit status: 0 when every cell is finished, 1 when any failed (see cells/<id>.error), 2 for bad input.\n\n" +
          std::string(kExperimentHelp) + "\n\nExample: vdlab run experiments/demo.yaml sampler.steps=20 --out runs/demo");
  if (code >= 0) return code;
  apply_common(a.common);
  const Experiment e = a.load();
  RunOptions ro = run_options(a.common);
  ro.force = force;
  return run_cells(e, plan_cells(e), ro);
}

int cmd_cell(const std::vector<std::string>& args) {
  ExperimentArgs a("cell options");
  long index = -1;
  a.desc.add_options()("index,i", po::value(&index)->required(),
                       "cell index from `vdlab plan` (a Slurm array task passes $SLURM_ARRAY_TASK_ID)");
  const int code = a.parse_or_help(
      args, "vdlab cell EXPERIMENT.yaml --index I [path=value ...] [--out DIR]",
      "Runs one cell (skipped when already finished). Cluster array jobs run one of these per task; the\n"
      "cell file appears complete or not at all, so a requeued task simply runs again.");
  if (code >= 0) return code;
  apply_common(a.common);
  const Experiment e = a.load();
  const auto cells = plan_cells(e);
  if (index < 0 || std::size_t(index) >= cells.size())
    throw ConfigError("--index " + std::to_string(index) + ": the experiment has cells 0 to " +
                      std::to_string(cells.size() - 1));
  RunOptions ro = run_options(a.common);
  check_datasets(e);
  fs::create_directories(ro.out_dir + "/cells");
  CellRunner runner(e, ro);
  const auto& c = cells[std::size_t(index)];
  const CellOutcome r = runner.run(c);
  if (r.status == CellStatus::failed) {
    std::cerr << "vdlab cell: error: cell " << index << " " << c.id << ": " << r.error << "\n";
    return 1;
  }
  log_info("cell " + std::to_string(index) + " " + c.id +
           (r.status == CellStatus::skipped ? ": finished earlier, skipped" : ": done in " + format_duration(r.seconds)));
  return 0;
}

int cmd_status(const std::vector<std::string>& args) {
  ExperimentArgs a("status options");
  const int code = a.parse_or_help(
      args, "vdlab status EXPERIMENT.yaml [--out DIR]",
      "Counts done / missing / failed cells in --out, prints each failure's error, and the index list to rerun.");
  if (code >= 0) return code;
  const Experiment e = a.load();
  const RunOptions ro = run_options(a.common);
  int done = 0;
  std::string todo;
  for (const auto& c : plan_cells(e)) {
    const std::string s = cell_status(ro, c);
    if (s == "done") ++done;
    else {
      todo += (todo.empty() ? "" : ",") + std::to_string(c.index);
      if (s == "failed") {
        std::ifstream in(cell_error_path(ro, c));
        std::string line;
        std::getline(in, line);
        std::cout << "failed  " << c.index << " " << c.id << ": " << line << "\n";
      }
    }
  }
  std::cout << done << " of " << plan_cells(e).size() << " cells done";
  if (!todo.empty()) std::cout << "; to run: --array=" << todo;
  std::cout << "\n";
  return 0;
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

int cmd_preview(const std::vector<std::string>& args) {
  std::string dataset_yaml, out = "preview";
  int clips = 8;
  po::options_description desc("preview options");
  desc.add_options()("dataset", po::value(&dataset_yaml)->required(),
                     "a dataset config in YAML flow form, e.g. '{name: moving-shapes, split: test}'")(
      "out,o", po::value(&out)->default_value(out), "output folder")(
      "clips,n", po::value(&clips)->default_value(clips), "clips to show");
  po::positional_options_description pos;
  pos.add("dataset", 1);
  const std::string usage = "vdlab preview '{name: DATASET, ...}' [--out DIR] [--clips N]";
  const std::string teach = "Writes the first clips of a dataset split as mp4 files and one PNG contact sheet\n"
                            "(one row per clip), and prints their captions and labels.";
  if (args.empty()) {
    parse({"--help"}, desc, pos, usage, teach);
    return 2;
  }
  auto p = parse(args, desc, pos, usage, teach);
  if (p.help) return 0;
  const Json cfg = parse_yaml(dataset_yaml, "dataset");
  auto source = make_dataset(cfg, "dataset");
  fs::create_directories(out);
  std::vector<Video> videos;
  for (std::size_t i = 0; i < std::min<std::size_t>(std::size_t(clips), source->size()); ++i) {
    Clip c = source->get(i);
    const std::string file = out + "/clip_" + std::to_string(i) + ".mp4";
    write_video(c.video, file);
    std::cout << file << "  label " << c.label << "  \"" << c.caption << "\"\n";
    videos.push_back(std::move(c.video));
  }
  write_contact_sheet(videos, out + "/contact_sheet.png");
  std::cout << out << "/contact_sheet.png  (split content hash " << source->content_hash().substr(0, 16) << ")\n";
  return 0;
}

}  // namespace

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"run", "run every cell of an experiment here, skipping finished ones", cmd_run},
      {"plan", "list an experiment's cells: index, id, hash, status", cmd_plan},
      {"cell", "run one cell by index (what a cluster array task calls)", cmd_cell},
      {"status", "done / missing / failed cells, and the indices to rerun", cmd_status},
      {"list", "registered methods, samplers, noise, datasets, metrics, backbones", cmd_list},
      {"preview", "write a dataset split's first clips as mp4 and a PNG contact sheet", cmd_preview},
      metrics_command(),
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
    for (const auto& c : commands()) out << "  " << std::left << std::setw(9) << c.name << c.summary << "\n";
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
