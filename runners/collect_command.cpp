#include "runners/collect_command.h"

#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file_name.h"
#include "core/log.h"
#include "datasets/video_io.h"
#include "results/cairo_plot.h"
#include "results/cell_file.h"
#include "results/html_report.h"
#include "results/sweep.h"
#include "results/sweep_summary.h"
#include "results/svg_plot.h"
#include "runners/command_line.h"
#include "runners/experiment.h"
#include "runners/provenance.h"

namespace vdlab {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

const char* kHelp = R"(usage: vdlab collect DIR [--to OUT] [--relative-to VARIANT] [--samples K]

Gathers the finished cells of a run or a cluster sweep (DIR/cells/<id>.h5) and writes, in OUT (default DIR):
  sweep.h5           one long table: a row per cell and metric key, with every resolved parameter flattened
                     into a column, the seed, protocol, extractor SHA-256 and value; the per-sample values
                     behind each row (h5py, no vdlab; layout in results/sweep.h)
  cells.csv          the same table (pandas.read_csv reads it in one call)
  tables/summary.md|csv|tex   per dataset split a row per variant, a column per metric key (a key computed
                     with two protocols or extractor files is two columns): mean ± confidence interval over seeds
  plots/*.png|pdf|svg   each metric against each swept numeric parameter, a line per combination of the
                     other swept parameters, error bars the confidence interval over seeds
  report.html        the tables, the plots, and each variant's sample videos side by side, one row per
                     split, seed and sample (same caption along a row); media in html/
With --relative-to VARIANT, every metric with per-sample values gains a relative version against that
variant on the same split and seed, (mean - baseline mean) / baseline mean from the per-sample values
(flow_motion gives motion_dynamics[vs-VARIANT]).
Cells are labelled by DIR/experiment.json's plan (cells not in it are left out, and named); without it,
by their file names. Exit status: 0, or 2 for bad input (no cells, an unknown variant).)";

const CommandHelp kCommand{"collect", kHelp};

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

void write_text(const std::string& path, const std::string& text) { write_file_atomically(path, text); }

// "<label>-s<seed>-<hash8>" -> label, for cell files without a plan to name them.
std::string label_from_id(const std::string& id) {
  static const std::regex tail("-s[0-9]+-[0-9a-f]{8}$");
  return std::regex_replace(id, tail, "");
}

// The samples of a cell: in its file, or in features/<id>/samples.h5 when they were kept out of it.
void read_cell_samples(const std::string& dir, const std::string& id, std::vector<Video>& samples,
                       std::vector<std::string>& captions) {
  const std::string cell = dir + "/cells/" + id + ".h5";
  CellRecord r = read_cell(cell, true);
  samples = std::move(r.samples);
  captions = std::move(r.captions);
  const std::string kept = dir + "/features/" + id + "/samples.h5";
  if (samples.empty() && fs::exists(kept)) read_samples_file(kept, samples, captions);
}

struct HtmlOutputs {
  std::vector<HtmlSampleRow> rows;
  std::string grid;
};

// Sample videos for the page: for each split, seed and sample index below `per_cell`, every variant's
// video; and a labelled grid of the first sample of every variant on the first seed of each split.
HtmlOutputs write_sample_media(const std::string& dir, const std::string& out, const Sweep& sweep, std::size_t per_cell,
                               std::vector<std::string>& notes) {
  HtmlOutputs h;
  if (per_cell == 0) return h;
  const std::string media = out + "/html";
  fs::create_directories(media + "/videos");
  const auto labels = sweep.labels();
  std::vector<std::string> splits;
  std::set<std::uint64_t> seed_set;
  for (const auto& c : sweep.cells) {
    if (std::find(splits.begin(), splits.end(), c.split_hash) == splits.end()) splits.push_back(c.split_hash);
    seed_set.insert(c.seed);
  }
  std::vector<Video> grid;
  std::vector<std::string> grid_labels;
  for (const auto& split_hash : splits) {
    bool first_seed = true;
    for (const auto seed : seed_set) {
      std::vector<HtmlSampleRow> rows;
      for (const auto& label : labels) {
        const SweepCell* cell = nullptr;
        for (const auto& c : sweep.cells)
          if (c.split_hash == split_hash && c.seed == seed && c.label == label) cell = &c;
        if (!cell) continue;
        std::vector<Video> samples;
        std::vector<std::string> captions;
        try {
          read_cell_samples(dir, cell->id, samples, captions);
        } catch (const IoError& e) {
          notes.push_back(std::string("samples of ") + cell->id + " unreadable: " + e.what());
          continue;
        }
        if (samples.empty()) continue;
        const std::size_t n = std::min(per_cell, samples.size());
        if (rows.size() < n) rows.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
          HtmlSampleRow& row = rows[i];
          row.split = cell->split;
          row.seed = seed;
          row.index = i;
          if (row.caption.empty() && i < captions.size()) row.caption = captions[i];
          const std::string file = "html/videos/" + file_safe(label) + "-" + file_safe(cell->split) + "-s" +
                                   std::to_string(seed) + "-" + std::to_string(i) + ".mp4";
          write_video(samples[i], out + "/" + file);
          row.videos.push_back({label, file});
        }
        if (first_seed) {
          grid.push_back(samples[0]);
          grid_labels.push_back(label + " " + cell->split + " s" + std::to_string(seed) + " #0");
        }
      }
      for (auto& r : rows)
        if (!r.videos.empty()) h.rows.push_back(std::move(r));
      first_seed = false;
    }
  }
  if (!grid.empty()) {
    h.grid = "html/grid.png";
    write_contact_sheet(grid, out + "/" + h.grid, 16, 3, grid_labels);
  }
  return h;
}

int run_collect(const std::vector<std::string>& args) {
  std::string dir, to, relative_to;
  double confidence = 0.95;
  std::size_t samples = 2;
  bool quiet = false;
  po::options_description desc("options");
  desc.add_options()("dir", po::value(&dir), "the run's output folder (with cells/)")(
      "to", po::value(&to), "where to write (default: DIR)")(
      "relative-to", po::value(&relative_to), "a variant label: add relative metrics against it from per-sample values")(
      "confidence", po::value(&confidence)->default_value(confidence), "confidence level of the intervals over seeds")(
      "samples", po::value(&samples)->default_value(samples), "sample videos per cell in report.html (0: none)")(
      "quiet,q", po::bool_switch(&quiet), "only warnings and errors");
  po::positional_options_description pos;
  pos.add("dir", 1);
  po::variables_map vm;
  if (const int code = parse_command_line(args, kCommand, desc, pos, vm); code >= 0) return code;
  if (quiet) set_log_level(LogLevel::warn);
  if (dir.empty()) throw ConfigError(see_help(kCommand, "give the run's output folder"));
  if (!(confidence > 0 && confidence < 1)) throw ConfigError("--confidence: must be between 0 and 1, got " + std::to_string(confidence));
  const std::string out = to.empty() ? dir : to;
  check_writable_dir(out);  // a read-only OUT stops here, before any work and with nothing written
  if (const int stale = remove_stale_temp_files_below(out))
    log_info("removed " + std::to_string(stale) + " partial file(s) left in " + out + " by an interrupted run");

  std::vector<std::string> warnings;
  Sweep sweep = collect_sweep(dir, warnings);
  for (const auto& w : warnings) log_warn(w);
  if (!relative_to.empty()) add_relative_metrics(sweep, relative_to);
  std::string command = "vdlab collect " + dir;
  if (!to.empty()) command += " --to " + to;
  if (!relative_to.empty()) command += " --relative-to " + relative_to;
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  sweep.provenance = {{"collected_from", fs::absolute(dir).lexically_normal().string()},
                      {"cells", sweep.cells.size()},
                      {"vdlab_version", vdlab_version()},
                      {"git_commit", git_commit()},
                      {"date", utc_now()},
                      {"host", host},
                      {"command", command},
                      {"confidence", confidence}};
  if (!relative_to.empty()) sweep.provenance["relative_to"] = relative_to;
  std::string title = "sweep " + fs::path(dir).lexically_normal().filename().string();
  if (fs::exists(dir + "/experiment.json")) {
    try {
      std::ifstream in(dir + "/experiment.json");
      const Json e = Json::parse(in);
      sweep.provenance["experiment"] = e.value("name", std::string());
      sweep.provenance["experiment_file"] = e.value("origin", std::string());
      if (!e.value("name", std::string()).empty()) title = e.value("name", std::string()) + " (" + dir + ")";
    } catch (const Json::exception&) {
    }
  }

  fs::create_directories(out + "/tables");
  fs::create_directories(out + "/plots");
  write_sweep_h5(sweep, out + "/sweep.h5");
  write_text(out + "/cells.csv", sweep_csv(sweep));
  const auto summary = summarise_sweep(sweep, confidence);
  const SweepTables tables = sweep_tables(summary, title, confidence);
  std::string md = tables.markdown;
  if (!sweep.skipped.empty()) {
    md += "\nSkipped metrics (left out of the tables):\n";
    for (const auto& s : sweep.skipped) md += "- " + s + "\n";
  }
  write_text(out + "/tables/summary.md", md);
  write_text(out + "/tables/summary.csv", tables.csv);
  write_text(out + "/tables/summary.tex", tables.latex);

  HtmlReportInput page;
  page.title = title;
  page.summary = summary;
  page.confidence = confidence;
  page.variants = sweep.labels();
  page.provenance = sweep.provenance;
  for (const auto& plot : sweep_plots(sweep, confidence)) {
    const std::string stem = "plots/" + plot.file_stem;
    write_line_plot(out + "/" + stem + ".png", plot.title, plot.x_label, plot.y_label, plot.series);
    write_line_plot(out + "/" + stem + ".pdf", plot.title, plot.x_label, plot.y_label, plot.series);
    write_text(out + "/" + stem + ".svg", svg_line_plot(plot.title, plot.x_label, plot.y_label, plot.series));
    page.plots.push_back({plot.title, stem + ".png", stem + ".pdf"});
  }
  page.notes = warnings;
  for (const auto& s : sweep.skipped) page.notes.push_back("skipped: " + s);
  const HtmlOutputs media = write_sample_media(dir, out, sweep, samples, page.notes);
  page.samples = media.rows;
  page.grid_png = media.grid;
  page.files = {{"sweep.h5", "sweep.h5"},
                {"cells.csv", "cells.csv"},
                {"summary.md", "tables/summary.md"},
                {"summary.csv", "tables/summary.csv"},
                {"summary.tex", "tables/summary.tex"}};
  write_text(out + "/report.html", html_report(page));
  log_info("collected " + std::to_string(sweep.cells.size()) + " cells, " + std::to_string(sweep.values.size()) +
           " values: " + out + "/sweep.h5, cells.csv, tables/summary.{md,csv,tex}, " + std::to_string(page.plots.size()) +
           " plots, report.html");
  std::cout << tables.markdown;
  return 0;
}

}  // namespace

Sweep collect_sweep(const std::string& dir, std::vector<std::string>& warnings) {
  const std::string cells_dir = dir + "/cells";
  if (!fs::is_directory(cells_dir)) throw ConfigError(dir + ": no cells/ folder (is it a run's output folder?)");
  std::map<std::string, std::vector<std::string>> labels_by_id;  // planned cells: id -> labels
  std::map<std::string, std::string> hash_by_id;
  std::vector<std::string> plan_order;
  bool planned = false;
  const std::string saved = dir + "/experiment.json";
  if (fs::exists(saved)) {
    try {
      std::ifstream in(saved);
      const Experiment e = experiment_from_json(Json::parse(in), saved);
      for (const auto& c : plan_cells(e)) {
        std::vector<std::string> labels = {c.label};
        labels.insert(labels.end(), c.duplicate_labels.begin(), c.duplicate_labels.end());
        labels_by_id[c.id] = labels;
        hash_by_id[c.id] = c.hash;
        plan_order.push_back(c.id);
      }
      planned = true;
    } catch (const std::exception& e) {
      warnings.push_back(saved + ": unreadable (" + std::string(e.what()) + "); cells labelled by their file names");
    }
  }
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(cells_dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".h5" || name.find(temp_marker()) != std::string::npos) continue;
    files.push_back(entry.path().stem().string());
  }
  std::sort(files.begin(), files.end());
  if (planned) {  // plan order, then anything else (named and left out below)
    std::vector<std::string> ordered;
    for (const auto& id : plan_order)
      if (std::find(files.begin(), files.end(), id) != files.end()) ordered.push_back(id);
    for (const auto& id : files)
      if (!labels_by_id.count(id)) ordered.push_back(id);
    files = ordered;
  }
  std::vector<LabelledCell> cells;
  for (const auto& id : files) {
    const std::string path = cells_dir + "/" + id + ".h5";
    if (planned && !labels_by_id.count(id)) {
      warnings.push_back(path + ": not a cell of the run's plan (experiment.json), left out");
      continue;
    }
    CellRecord record;
    try {
      record = read_cell(path);
    } catch (const IoError& e) {
      warnings.push_back(std::string(e.what()) + ", left out");
      continue;
    }
    if (planned && record.hash != hash_by_id[id]) {
      warnings.push_back(path + ": hash " + record.hash + " is not the planned " + hash_by_id[id] + ", left out");
      continue;
    }
    const std::vector<std::string> labels = planned ? labels_by_id[id] : std::vector<std::string>{label_from_id(id)};
    for (const auto& l : labels) cells.push_back({l, record});
  }
  if (cells.empty()) throw ConfigError(dir + ": no finished cell to collect in " + cells_dir);
  return sweep_from_cells(cells);
}

Command collect_command() {
  return {"collect", "gather a sweep's cells: sweep.h5, cells.csv, tables, plots, report.html", run_collect};
}

}  // namespace vdlab
