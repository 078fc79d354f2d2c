#include "runners/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/file_name.h"
#include "core/hash.h"
#include "core/log.h"
#include "datasets/clip_source.h"
#include "datasets/video_io.h"
#include "metrics/metric.h"
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

// A column's identity: the metric key and the SHA-256 of the extractor file behind it (empty for metrics
// without one). The key already names the extractor and protocol; the file hash keeps values from two
// different files of the same name (a retrained tiny extractor) apart.
using ColumnId = std::pair<std::string, std::string>;

ColumnId column_of(const MetricValue& m) {
  std::string sha;
  if (m.protocol.is_object() && m.protocol.contains("extractor") && m.protocol["extractor"].is_object())
    sha = m.protocol["extractor"].value("sha256", std::string());
  return {m.key, sha};
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string split_display(const Json& dataset) {
  std::string s = dataset.value("name", std::string("dataset"));
  if (dataset.contains("split") && dataset["split"].is_string()) s += ":" + dataset["split"].get<std::string>();
  return s;
}

}  // namespace

std::vector<std::pair<Json, SplitName>> split_names(const std::vector<CellSpec>& cells) {
  std::vector<std::pair<Json, SplitName>> out;
  std::map<std::string, int> display_count;
  for (const auto& c : cells) {
    const Json& d = c.config.at("dataset");
    const std::string key = config_hash(d);
    if (std::any_of(out.begin(), out.end(), [&](const auto& p) { return p.second.key == key; })) continue;
    out.push_back({d, SplitName{key, split_display(d)}});
    ++display_count[split_display(d)];
  }
  for (auto& [cfg, name] : out)  // two configs of the same split (another size, clip count): tell them apart
    if (display_count[name.display] > 1) name.display += "#" + name.key.substr(0, 8);
  return out;
}

ReportTables build_report_tables(const std::string& title, std::size_t seeds,
                                 const std::vector<std::pair<CellSpec, CellRecord>>& cells,
                                 const std::map<std::string, std::vector<MetricValue>>& references) {
  ReportTables t;
  std::vector<CellSpec> specs;
  for (const auto& c : cells) specs.push_back(c.first);
  const auto splits = split_names(specs);
  auto split_of = [&](const CellSpec& c) {
    const std::string key = config_hash(c.config.at("dataset"));
    for (const auto& s : splits)
      if (s.second.key == key) return s.second;
    return SplitName{key, key};
  };

  using RowId = std::pair<std::string, std::string>;  // (label, split key)
  std::vector<RowId> rows;
  std::map<RowId, std::map<ColumnId, Stat>> values;
  std::map<RowId, Stat> nfe, seconds;
  std::vector<ColumnId> columns;
  std::map<ColumnId, bool> higher_better;
  std::map<ColumnId, std::string> skipped;
  std::ostringstream csv;
  csv << "id,label,split,seed,hash,metric,extractor_sha256,value\n";
  for (const auto& [cell, record] : cells) {
    const SplitName split = split_of(cell);
    const RowId row{cell.label, split.key};
    if (std::find(rows.begin(), rows.end(), row) == rows.end()) rows.push_back(row);
    for (const auto& m : record.metrics) {
      const ColumnId col = column_of(m);
      if (std::find(columns.begin(), columns.end(), col) == columns.end()) columns.push_back(col);
      higher_better[col] = m.higher_is_better;
      if (m.skipped) {
        skipped[col] = m.skip_reason;
        continue;
      }
      values[row][col].values.push_back(m.value);
      csv << csv_field(cell.id) << "," << csv_field(cell.label) << "," << csv_field(split.display) << "," << cell.seed
          << "," << cell.hash << "," << csv_field(m.key) << "," << col.second << "," << m.value << "\n";
    }
    nfe[row].values.push_back(record.stats.value("nfe", NAN));
    seconds[row].values.push_back(record.timings.value("generate_s", NAN));
  }
  // Rows grouped by split in plan order, variants in plan order within each.
  std::vector<RowId> ordered;
  for (const auto& s : splits)
    for (const auto& r : rows)
      if (r.second == s.second.key) ordered.push_back(r);

  // Columns of one key side by side (keys in first-seen order, then files in first-seen order).
  std::vector<std::string> key_order;
  for (const auto& c : columns)
    if (std::find(key_order.begin(), key_order.end(), c.first) == key_order.end()) key_order.push_back(c.first);
  std::stable_sort(columns.begin(), columns.end(), [&](const ColumnId& a, const ColumnId& b) {
    return std::find(key_order.begin(), key_order.end(), a.first) < std::find(key_order.begin(), key_order.end(), b.first);
  });
  // Columns: a key shown once when one extractor file stands behind it, else once per file.
  std::map<std::string, int> files_per_key;
  for (const auto& c : columns) ++files_per_key[c.first];
  auto header = [&](const ColumnId& c) {
    std::string h = c.first;
    if (files_per_key[c.first] > 1 && !c.second.empty()) h += " (extractor " + c.second.substr(0, 8) + ")";
    return h + (higher_better[c] ? " ↑" : " ↓");
  };
  std::vector<ColumnId> shown;
  for (const auto& c : columns) {
    bool any = false;
    for (const auto& r : ordered) any = any || (values.count(r) && values[r].count(c));
    if (any || !skipped.count(c)) shown.push_back(c);
  }

  std::ostringstream md;
  md << "# " << (title.empty() ? "vdlab run" : title) << "\n\n";
  md << "Mean ± standard deviation over " << seeds << " seed(s), per variant and split; each split's reference "
     << "row is the noise floor: real clips of its training split (same size and protocol) scored against it, "
     << "or against itself when it has no training split. Cells: " << cells.size()
     << ". Arrows: ↑ higher is better, ↓ lower is better.\n\n";
  md << "| variant | split |";
  for (const auto& c : shown) md << " " << header(c) << " |";
  md << " NFE | generate s |\n|---|---|";
  for (std::size_t i = 0; i < shown.size() + 2; ++i) md << "---|";
  md << "\n";
  auto cell_text = [](const Stat* s) -> std::string {
    if (!s || s->values.empty()) return "n/a";
    if (s->values.size() == 1) return fmt(s->mean());
    return fmt(s->mean()) + " ± " + fmt(s->stdev());
  };
  for (const auto& s : splits) {
    bool has_rows = false;
    for (const auto& r : ordered) has_rows = has_rows || r.second == s.second.key;
    if (!has_rows) continue;
    md << "| real train split (noise floor) | " << s.second.display << " |";
    const auto ref = references.find(s.second.key);
    for (const auto& c : shown) {
      std::string text;
      if (ref != references.end())
        for (const auto& m : ref->second)
          if (!m.skipped && column_of(m) == c) text = fmt(m.value);
      md << " " << text << " |";
    }
    md << "  |  |\n";
    for (const auto& r : ordered) {
      if (r.second != s.second.key) continue;
      md << "| " << r.first << " | " << s.second.display << " |";
      for (const auto& c : shown) {
        const auto it = values.find(r);
        const Stat* stat = it != values.end() && it->second.count(c) ? &it->second.at(c) : nullptr;
        md << " " << cell_text(stat) << " |";
      }
      md << " " << cell_text(&nfe[r]) << " | " << cell_text(&seconds[r]) << " |\n";
      t.rows.push_back({r.first, s.second});
    }
  }
  if (!skipped.empty()) {
    md << "\nSkipped metrics:\n";
    for (const auto& kv : skipped) md << "- `" << kv.first.first << "`: " << kv.second << "\n";
  }
  t.markdown = md.str();
  t.csv = csv.str();
  return t;
}

Json noise_floor_split(const Json& dataset) {
  if (!dataset.contains("split") || !dataset.at("split").is_string() || dataset.at("split") == "train") return dataset;
  Json train = dataset;
  train["split"] = "train";
  return train;
}

ReportFiles write_report(const Experiment& experiment, const std::vector<CellSpec>& cells, const RunOptions& options) {
  ReportFiles files;
  std::vector<std::pair<CellSpec, CellRecord>> finished;
  std::map<std::pair<std::string, std::string>, std::vector<Video>> first_samples;  // (label, split key)
  std::vector<std::pair<std::string, std::string>> other_version;                  // cell id, vdlab version
  for (const auto& cell : cells) {
    if (!cell_finished(options, cell)) continue;
    const std::pair<std::string, std::string> row{cell.label, config_hash(cell.config.at("dataset"))};
    CellRecord r = read_cell(cell_path(options, cell), !first_samples.count(row));
    const std::string version = r.provenance.value("vdlab_version", std::string("unknown"));
    if (version != vdlab_version()) other_version.emplace_back(cell.id, version);
    if (!r.samples.empty() && !first_samples.count(row)) {
      r.samples.resize(std::min<std::size_t>(4, r.samples.size()));
      first_samples[row] = std::move(r.samples);
    }
    r.samples.clear();
    finished.push_back({cell, std::move(r)});
  }
  if (finished.empty()) return files;

  std::vector<CellSpec> specs;
  for (const auto& f : finished) specs.push_back(f.first);
  const auto splits = split_names(specs);

  // Each split's reference row is the noise floor: the clips of its training split (the same dataset
  // config with split train: same size, frames and protocol) scored against it, so a reader sees how far a
  // variant is from "as good as real data" (a split against itself is 0 for every distance). A split
  // with no training split is scored against itself. Streamed, clip by clip.
  std::map<std::string, std::vector<MetricValue>> references;
  std::map<std::string, std::vector<Clip>> real_examples;
  for (const auto& [dataset, name] : splits) {
    ClipSourcePtr source = make_dataset(dataset, "dataset");
    VideoSet real = VideoSet::streamed(source->size(), [source](std::size_t i) { return source->get(i).video; });
    real.content_hash = source->content_hash();
    real.source = dataset;
    VideoSet floor = real;
    const Json train = noise_floor_split(dataset);
    ClipSourcePtr train_source;
    if (train != dataset) {
      // A split whose training split cannot be read (a video folder with a test list only) keeps the
      // split itself as its reference, and says so once.
      try {
        train_source = make_dataset(train, "dataset (its training split, for the noise floor)");
        if (train_source->size() == 0) train_source.reset();
      } catch (const std::exception& e) {
        log_warn("report: " + name.display + " has no readable training split for the noise floor (" +
                      std::string(e.what()) + "); its reference row is the split against itself");
      }
    }
    if (train_source) {
      floor = VideoSet::streamed(train_source->size(), [train_source](std::size_t i) { return train_source->get(i).video; });
      floor.content_hash = train_source->content_hash();
      floor.source = train;
      // The captions the real training clips carry, so that text alignment has a floor too.
      for (std::size_t i = 0; i < train_source->size(); ++i) floor.captions.push_back(train_source->get(i).caption);
    }
    MetricContext ctx = metric_context(options, 0);
    for (std::size_t i = 0; i < experiment.metrics.size(); ++i)
      for (auto& m : metric_registry()
                         .make_resolved(experiment.metrics[i], "metrics[" + std::to_string(i) + "]")
                         ->compute(real, floor, ctx))
        references[name.key].push_back(std::move(m));
    for (std::size_t i = 0; i < std::min<std::size_t>(4, source->size()); ++i)
      real_examples[name.key].push_back(source->get(i));
  }

  ReportTables tables = build_report_tables(experiment.name, experiment.seeds.size(), finished, references);
  tables.markdown += other_version_note(other_version);
  namespace fs = std::filesystem;
  fs::create_directories(options.out_dir + "/samples");
  files.table_md = options.out_dir + "/report.md";
  files.table_csv = options.out_dir + "/cells.csv";
  for (const auto& [path, text] : {std::pair{files.table_md, tables.markdown}, std::pair{files.table_csv, tables.csv}}) {
    write_file_atomically(path, text);
  }

  // One grid, a label on every row: four real clips of each split, then four samples of each variant on
  // it; and the first sample of each variant as a video.
  std::vector<Video> grid;
  std::vector<std::string> labels;
  bool any_sample = false;
  for (const auto& [dataset, split] : splits) {
    const auto& examples = real_examples[split.key];
    for (std::size_t i = 0; i < examples.size(); ++i) {
      grid.push_back(examples[i].video);
      labels.push_back("real " + split.display + " #" + std::to_string(i));
    }
    for (const auto& [label, row_split] : tables.rows) {
      if (row_split.key != split.key) continue;
      auto it = first_samples.find({label, split.key});
      if (it == first_samples.end()) continue;
      any_sample = true;
      for (std::size_t i = 0; i < it->second.size(); ++i) {
        grid.push_back(it->second[i]);
        labels.push_back(label + (splits.size() > 1 ? " " + split.display : "") + " #" + std::to_string(i));
      }
      const std::string video = options.out_dir + "/samples/" + file_safe(label) +
                                (splits.size() > 1 ? "-" + file_safe(split.display) : "") + ".mp4";
      write_video(it->second[0], video);
      files.videos.push_back(video);
    }
  }
  if (any_sample) {
    files.grid_png = options.out_dir + "/samples/grid.png";
    write_contact_sheet(grid, files.grid_png, 16, 2, labels);
  }
  return files;
}

}  // namespace vdlab
