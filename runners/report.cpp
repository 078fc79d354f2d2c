#include "runners/report.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/log.h"
#include "datasets/clip_source.h"
#include "metrics/metric.h"
#include "datasets/video_io.h"
#include "core/atomic_file.h"
#include "results/cell_file.h"
#include "runners/provenance.h"

namespace vdlab {

namespace {

struct Stat {
  std::vector<double> values;
  double mean() const {
    double s = 0;
    for (double v : values) s += v;
    return values.empty() ? NAN : s / double(values.size());
  }
  double stdev() const {
    if (values.size() < 2) return 0;
    const double m = mean();
    double s = 0;
    for (double v : values) s += (v - m) * (v - m);
    return std::sqrt(s / double(values.size() - 1));
  }
};

std::string fmt(double v) {
  if (std::isnan(v)) return "n/a";
  if (std::abs(v) < 1e-9) return "0";  // a distance of a set to itself, up to rounding
  std::ostringstream o;
  o.precision(4);
  o << v;
  return o.str();
}

// Cells made by another vdlab version are reported with the rest but named, so a table that mixes
// versions says so.
std::string other_version_note(const std::vector<std::pair<std::string, std::string>>& cells) {
  if (cells.empty()) return "";
  std::ostringstream md;
  md << "\nCells made by another vdlab version than this one (" << vdlab_version()
     << "; `vdlab run --rerun stale` runs them again):\n";
  for (const auto& c : cells) md << "- `" << c.first << "`: vdlab " << c.second << "\n";
  return md.str();
}

}  // namespace

ReportFiles write_report(const Experiment& experiment, const std::vector<CellSpec>& cells, const RunOptions& options) {
  ReportFiles files;
  std::vector<std::string> labels;                       // variant order of the plan
  std::map<std::string, std::map<std::string, Stat>> by_label;  // label -> column -> values over seeds
  std::vector<std::string> columns;                      // metric keys in first-seen order
  std::map<std::string, std::string> skipped;            // key -> reason
  std::map<std::string, bool> higher_better;
  std::map<std::string, std::vector<Video>> first_samples;
  std::vector<std::pair<std::string, std::string>> other_version;  // cell id, vdlab version
  std::ostringstream csv;
  csv << "id,label,seed,hash,metric,value\n";

  for (const auto& cell : cells) {
    if (!cell_finished(options, cell)) continue;
    CellRecord r = read_cell(cell_path(options, cell), !first_samples.count(cell.label));
    const std::string version = r.provenance.value("vdlab_version", std::string("unknown"));
    if (version != vdlab_version()) other_version.emplace_back(cell.id, version);
    if (std::find(labels.begin(), labels.end(), cell.label) == labels.end()) labels.push_back(cell.label);
    auto& row = by_label[cell.label];
    for (const auto& m : r.metrics) {
      if (std::find(columns.begin(), columns.end(), m.key) == columns.end()) columns.push_back(m.key);
      higher_better[m.key] = m.higher_is_better;
      if (m.skipped) {
        skipped[m.key] = m.skip_reason;
        continue;
      }
      row[m.key].values.push_back(m.value);
      csv << cell.id << "," << cell.label << "," << cell.seed << "," << cell.hash << "," << m.key << "," << m.value << "\n";
    }
    row["NFE"].values.push_back(r.stats.value("nfe", NAN));
    row["generate s"].values.push_back(r.timings.value("generate_s", NAN));
    if (!r.samples.empty() && !first_samples.count(cell.label)) first_samples[cell.label] = std::move(r.samples);
  }
  if (labels.empty()) return files;

  // The real split scored against itself: the reference each column should be read against (the
  // motion and stability of real clips; 0 for the distances).
  std::map<std::string, double> reference;
  VideoSet real;  // kept for the grid below
  {
    auto source = make_dataset(experiment.datasets.front(), "dataset");
    for (std::size_t i = 0; i < source->size(); ++i) {
      Clip c = source->get(i);
      real.videos.push_back(std::move(c.video));
      real.captions.push_back(c.caption);
    }
    real.content_hash = source->content_hash();
    real.source = experiment.datasets.front();
    MetricContext ctx = metric_context(options, 0);
    for (std::size_t i = 0; i < experiment.metrics.size(); ++i)
      for (const auto& m : metric_registry()
                               .make_resolved(experiment.metrics[i], "metrics[" + std::to_string(i) + "]")
                               ->compute(real, real, ctx))
        if (!m.skipped) reference[m.key] = m.value;
  }

  std::vector<std::string> shown;
  for (const auto& c : columns)
    if (!skipped.count(c) || by_label.begin()->second.count(c)) shown.push_back(c);
  shown.push_back("NFE");
  shown.push_back("generate s");

  std::ostringstream md;
  md << "# " << (experiment.name.empty() ? "vdlab run" : experiment.name) << "\n\n";
  md << "Mean ± standard deviation over " << experiment.seeds.size() << " seed(s). ";
  md << "Cells: " << cells.size() << ". Arrows: ↑ higher is better, ↓ lower is better.\n\n";
  md << "| variant |";
  for (const auto& c : shown) md << " " << c << (higher_better.count(c) ? (higher_better[c] ? " ↑" : " ↓") : "") << " |";
  md << "\n|---|";
  for (std::size_t i = 0; i < shown.size(); ++i) md << "---|";
  md << "\n";
  md << "| real split (reference) |";
  for (const auto& c : shown) md << " " << (reference.count(c) ? fmt(reference[c]) : "") << " |";
  md << "\n";
  for (const auto& label : labels) {
    md << "| " << label << " |";
    for (const auto& c : shown) {
      auto it = by_label[label].find(c);
      if (it == by_label[label].end() || it->second.values.empty()) md << " n/a |";
      else if (it->second.values.size() == 1) md << " " << fmt(it->second.mean()) << " |";
      else md << " " << fmt(it->second.mean()) << " ± " << fmt(it->second.stdev()) << " |";
    }
    md << "\n";
  }
  if (!skipped.empty()) {
    md << "\nSkipped metrics:\n";
    for (const auto& kv : skipped) md << "- `" << kv.first << "`: " << kv.second << "\n";
  }

  md << other_version_note(other_version);

  namespace fs = std::filesystem;
  fs::create_directories(options.out_dir + "/samples");
  files.table_md = options.out_dir + "/report.md";
  files.table_csv = options.out_dir + "/cells.csv";
  {
    AtomicFile out(files.table_md);
    std::ofstream(out.temp_path()) << md.str();
    out.commit();
  }
  {
    AtomicFile out(files.table_csv);
    std::ofstream(out.temp_path()) << csv.str();
    out.commit();
  }
  // One grid: four real clips of the split first, then four samples of each variant, one row each; and
  // the first sample of each variant as a video.
  std::vector<Video> grid;
  for (std::size_t i = 0; i < std::min<std::size_t>(4, real.videos.size()); ++i) grid.push_back(real.videos[i]);
  const std::size_t real_rows = grid.size();
  for (const auto& label : labels) {
    auto it = first_samples.find(label);
    if (it == first_samples.end()) continue;
    for (std::size_t i = 0; i < std::min<std::size_t>(4, it->second.size()); ++i) grid.push_back(it->second[i]);
    const std::string video = options.out_dir + "/samples/" + label + ".mp4";
    write_video(it->second[0], video);
    files.videos.push_back(video);
  }
  if (grid.size() > real_rows) {
    files.grid_png = options.out_dir + "/samples/grid.png";
    write_contact_sheet(grid, files.grid_png, 16, 2);
  }
  return files;
}

}  // namespace vdlab
