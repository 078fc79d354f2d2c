#include "runners/compare_command.h"

#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "results/comparison.h"
#include "runners/collect_command.h"
#include "runners/command_line.h"

#ifndef VDLAB_SOURCE_TREE
#define VDLAB_SOURCE_TREE "."
#endif

namespace vdlab {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

const char* kHelp = R"(usage: vdlab compare CANDIDATE --baseline BASELINE [--to DIR] [--baseline-variant LABEL] [--metrics K,...]

Compares a candidate sweep with a baseline: values matched on (dataset split, metric key, seed), per
variant and metric the delta candidate - baseline with a paired bootstrap confidence interval over seeds
and, for metrics with per-sample values, over the per-sample pairs of each seed (sample i of a seed was
generated for the same caption in both); the metric's direction (higher or lower is better, as recorded
with each value by its registered metric) gives the verdict: better, worse, or no significant difference
when the interval holds 0. Unmatched seeds and small n are warned about. Values of different protocols
or extractor files are never compared: each such metric is refused in one line naming both, and nothing
is written (restrict the comparison with --metrics).
CANDIDATE and BASELINE are each a run's output folder (cells/ or sweep.h5), a sweep.h5 file, or the name
of a shipped baseline (results/baselines/NAME.h5, e.g. `demo`).
A candidate variant is compared with --baseline-variant, else with the baseline's only variant, else with
the baseline variant of the same label.
Resampling: splitmix64 from --seed, drawing indices as next() % n (results/bootstrap.h; reproduced by
scripts/reference/compare_bootstrap.py).
Prints the Markdown table; with --to DIR also writes comparison.md, comparison.csv and comparison.tex.
Exit status: 0, or 2 for bad input or a refusal.)";

const CommandHelp kCommand{"compare", kHelp};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;  // commas inside a key's brackets belong to the key: fvd[tiny-i3d,f8]
  for (char c : s) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (c == ',' && depth == 0) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

int run_compare(const std::vector<std::string>& args) {
  std::string candidate, baseline, to, metrics;
  CompareOptions options;
  bool quiet = false;
  po::options_description desc("options");
  desc.add_options()("candidate", po::value(&candidate), "the candidate sweep")(
      "baseline,b", po::value(&baseline), "the baseline sweep, or a shipped baseline's name")(
      "to", po::value(&to), "also write comparison.md, .csv and .tex here")(
      "variant", po::value(&options.candidate_variant), "compare only this candidate variant")(
      "baseline-variant", po::value(&options.baseline_variant), "the baseline variant every candidate variant is compared with")(
      "metrics", po::value(&metrics), "only these metric keys (comma-separated)")(
      "replicates", po::value(&options.replicates)->default_value(options.replicates), "bootstrap replicates")(
      "confidence", po::value(&options.confidence)->default_value(options.confidence), "confidence level of the intervals")(
      "seed", po::value(&options.seed)->default_value(options.seed), "seed of the resampling stream")(
      "min-seeds", po::value(&options.min_seeds)->default_value(options.min_seeds), "fewer matched seeds than this: a warning")(
      "quiet,q", po::bool_switch(&quiet), "only warnings and errors");
  po::positional_options_description pos;
  pos.add("candidate", 1);
  po::variables_map vm;
  if (const int code = parse_command_line(args, kCommand, desc, pos, vm); code >= 0) return code;
  if (quiet) set_log_level(LogLevel::warn);
  if (candidate.empty() || baseline.empty())
    throw ConfigError(see_help(kCommand, "give a candidate and --baseline"));
  if (!(options.confidence > 0 && options.confidence < 1))
    throw ConfigError("--confidence: must be between 0 and 1, got " + std::to_string(options.confidence));
  if (options.replicates < 100) throw ConfigError("--replicates: at least 100, got " + std::to_string(options.replicates));
  options.metrics = split_list(metrics);

  std::string candidate_path, baseline_path;
  const Sweep c = load_sweep_source(candidate, candidate_path);
  const Sweep b = load_sweep_source(baseline, baseline_path);
  const Comparison comparison = compare_sweeps(c, b, options);
  if (!comparison.refusals.empty()) {
    for (const auto& r : comparison.refusals) std::cerr << "vdlab compare: " << r << "\n";
    std::cerr << "vdlab compare: nothing written (" << comparison.refusals.size()
              << " refused; compare the others with --metrics)\n";
    return 2;
  }
  if (comparison.rows.empty()) throw ConfigError("no metric of " + candidate + " matches one of " + baseline);
  for (const auto& w : comparison.warnings) log_warn(w);
  const ComparisonTables tables = comparison_tables(comparison, options, candidate_path, baseline_path);
  if (!to.empty()) {
    fs::create_directories(to);
    std::vector<std::unique_ptr<AtomicFile>> files;
    const std::vector<std::pair<std::string, const std::string*>> outputs = {
        {"comparison.md", &tables.markdown}, {"comparison.csv", &tables.csv}, {"comparison.tex", &tables.latex}};
    for (const auto& [name, text] : outputs) {
      files.push_back(std::make_unique<AtomicFile>((fs::path(to) / name).string()));
      std::ofstream f(files.back()->temp_path());
      f << *text;
      f.close();  // a full disk shows when the buffer is flushed
      if (!f) throw IoError(files.back()->final_path() + ": cannot write");
    }
    for (auto& f : files) f->commit();
  }
  std::cout << tables.markdown;
  return 0;
}

}  // namespace

Sweep load_sweep_source(const std::string& what, std::string& resolved) {
  if (fs::is_directory(what)) {
    resolved = what;
    if (fs::is_directory(what + "/cells")) {
      std::vector<std::string> warnings;
      Sweep s = collect_sweep(what, warnings);
      for (const auto& w : warnings) log_warn(w);
      return s;
    }
    if (fs::exists(what + "/sweep.h5")) return read_sweep_h5(resolved = what + "/sweep.h5");
    throw ConfigError(what + ": neither a run's output folder (cells/) nor a folder with sweep.h5");
  }
  if (fs::is_regular_file(what)) {
    resolved = what;
    try {
      return read_sweep_h5(what);
    } catch (const IoError& e) {
      throw ConfigError(e.what());
    }
  }
  if (what.find('/') == std::string::npos) {
    for (const std::string& root : {std::string("."), std::string(VDLAB_SOURCE_TREE)}) {
      const std::string path = root + "/results/baselines/" + what + ".h5";
      if (fs::exists(path)) {
        resolved = "baseline " + what + " (" + fs::path(path).lexically_normal().string() + ")";
        return read_sweep_h5(path);
      }
    }
  }
  throw ConfigError(what + ": not a run's output folder, a sweep.h5 file or a baseline in results/baselines/");
}

Command compare_command() {
  return {"compare", "candidate vs baseline: deltas with paired bootstrap intervals and verdicts", run_compare};
}

}  // namespace vdlab
