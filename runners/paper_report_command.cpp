#include "runners/paper_report_command.h"

#include <boost/program_options.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "results/cell_file.h"
#include "results/paper_report.h"
#include "runners/command_line.h"
#include "runners/provenance.h"

namespace vdlab {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

const char* kHelp = R"(usage: vdlab paper-report EXPERIMENT.yaml [path=value ...] --out RUN_DIR --to DIR

Writes a seed paper's reproduction report from the experiment file's `paper:` section and the finished
cells of a run of that file (`vdlab run EXPERIMENT.yaml --out RUN_DIR`, with the same overrides):
  DIR/report.md    the paper's tables with our values (mean ± sd over seeds) and the published ones beside
                   them, figures, a verdict per claim (holds / does not hold / cannot be tested here),
                   provenance and the command that regenerates it
  DIR/tables.csv   every cell value behind the tables, with its config hash, seed, commit, extractor hash
  DIR/*.svg        the figures
The files are written together or not at all. Unfinished cells are named in the report and their
values left out. The `paper:` format is described in results/paper_report.h and the README.

Example: vdlab paper-report experiments/paper/fvdm.yaml --out runs/paper/fvdm --to results/paper/fvdm)";

const CommandHelp kCommand{"paper-report", kHelp};

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

double number_or_zero(const Json& obj, const char* key) {
  return obj.is_object() && obj.contains(key) && obj.at(key).is_number() ? obj.at(key).get<double>() : 0.0;
}

std::string libraries_of(const Json& provenance) {
  std::string out;
  for (const char* k : {"libtorch", "opencv", "hdf5", "eigen", "boost", "compiler", "device", "threads"})
    if (provenance.contains(k)) out += (out.empty() ? "" : ", ") + std::string(k) + " " + (provenance.at(k).is_string() ? provenance.at(k).get<std::string>() : provenance.at(k).dump());
  return out;
}

int run_paper_report(const std::vector<std::string>& args) {
  std::string experiment, out, to;
  std::vector<std::string> overrides;
  po::options_description desc("options");
  desc.add_options()("experiment", po::value(&experiment), "experiment file (YAML) with a `paper:` section")(
      "set", po::value(&overrides)->multitoken(), "overrides path=value, as given to vdlab run")(
      "out,o", po::value(&out), "the run's output folder (cells/<id>.h5)")("to", po::value(&to), "folder the report is written to");
  po::positional_options_description pos;
  pos.add("experiment", 1).add("set", -1);
  po::variables_map vm;
  if (const int code = parse_command_line(args, kCommand, desc, pos, vm); code >= 0) return code;
  if (experiment.empty() || out.empty() || to.empty())
    throw ConfigError(see_help(kCommand, "an experiment file, --out RUN_DIR and --to DIR are all needed"));
  const Experiment e = load_experiment(experiment, overrides);
  if (e.paper.is_null()) throw ConfigError(experiment + ": has no `paper:` section to report");
  if (!fs::is_directory(out + "/cells")) throw ConfigError("--out " + out + ": no cells/ folder (is it the run's output folder?)");

  PaperReportInput input = read_paper_report_input(e, out);
  std::string set;
  for (const auto& o : overrides) set += " '" + o + "'";
  input.provenance["command"] = "vdlab run " + experiment + set + " --out " + out + " && vdlab paper-report " + experiment +
                                set + " --out " + out + " --to " + to;
  const PaperReport report = build_paper_report(input);

  fs::create_directories(to);
  std::vector<std::unique_ptr<AtomicFile>> files;
  auto write = [&](const std::string& name, const std::string& text) {
    files.push_back(std::make_unique<AtomicFile>((fs::path(to) / name).string()));
    std::ofstream f(files.back()->temp_path());
    f << text;
    f.close();  // a full disk shows when the buffer is flushed
    if (!f) throw IoError(files.back()->final_path() + ": cannot write");
  };
  write("report.md", report.markdown);
  write("tables.csv", report.csv);
  for (const auto& fig : report.figures) write(fig.file, fig.svg);
  for (auto& f : files) f->commit();
  if (!input.missing.empty())
    log_warn(std::to_string(input.missing.size()) + " planned cells are not finished in " + out +
             "; the report names them and leaves their values out");
  log_info("paper report: " + (fs::path(to) / "report.md").string() + " (" + std::to_string(input.cells.size()) +
           " cell values, " + std::to_string(report.figures.size()) + " figures)");
  return 0;
}

}  // namespace

PaperReportInput read_paper_report_input(const Experiment& e, const std::string& run_dir) {
  PaperReportInput input;
  input.paper = e.paper;
  double wall = 0, backbone = 0;
  std::string libraries;
  for (const auto& c : plan_cells(e)) {
    const std::string path = run_dir + "/cells/" + c.id + ".h5";
    if (read_cell_hash(path) != c.hash) {
      input.missing.push_back(c.id);
      continue;
    }
    CellRecord record = read_cell(path);
    wall += number_or_zero(record.timings, "total_s") + number_or_zero(record.timings, "metrics_added_s");
    backbone += number_or_zero(record.timings, "backbone_s");
    if (libraries.empty()) libraries = libraries_of(record.provenance);
    std::vector<std::string> labels = {c.label};
    labels.insert(labels.end(), c.duplicate_labels.begin(), c.duplicate_labels.end());
    for (const auto& l : labels) input.cells.push_back({l, c.seed, record});
  }
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  input.provenance = {{"vdlab_version", vdlab_version()},
                      {"git_commit", git_commit()},
                      {"host", host},
                      {"cores", std::thread::hardware_concurrency()},
                      {"date", utc_now()},
                      {"experiment", e.origin},
                      {"run_dir", run_dir},
                      {"wall_seconds", wall},
                      {"backbone_seconds", backbone}};
  if (!libraries.empty()) input.provenance["libraries"] = libraries;
  return input;
}

Command paper_report_command() {
  return {"paper-report", "a seed paper's reproduction report (tables, figures, claims) from a finished run", run_paper_report};
}

}  // namespace vdlab
