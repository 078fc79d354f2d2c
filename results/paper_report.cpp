#include "results/paper_report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/file_name.h"
#include "results/svg_plot.h"

namespace vdlab {

namespace {

std::string fmt(double v) {
  if (std::isnan(v)) return "n/a";
  std::ostringstream o;
  o.precision(4);
  o << v;
  return o.str();
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string text_of(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// ---- the shape of a `paper:` section ----

void expect_keys(const Json& obj, const std::string& where, const std::vector<std::string>& allowed) {
  if (!obj.is_object()) throw ConfigError(where + ": expected a mapping");
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      throw ConfigError(where + "." + it.key() + ": unknown field (one of: " + list + ")");
    }
}

void expect_list(const Json& obj, const std::string& key, const std::string& where) {
  if (obj.contains(key) && !obj.at(key).is_array()) throw ConfigError(where + "." + key + ": expected a list");
}

void expect_string(const Json& obj, const std::string& key, const std::string& where, bool required) {
  if (!obj.contains(key)) {
    if (required) throw ConfigError(where + "." + key + ": missing");
    return;
  }
  if (!obj.at(key).is_string()) throw ConfigError(where + "." + key + ": expected text");
}

void validate_column(const Json& c, const std::string& where) {
  expect_keys(c, where, {"title", "metric", "stat", "timing", "relative_to", "percent", "speedup"});
  expect_string(c, "title", where, true);
  const int sources = int(c.contains("metric")) + int(c.contains("stat")) + int(c.contains("timing"));
  if (sources != 1) throw ConfigError(where + ": give exactly one of metric, stat, timing");
  for (const char* k : {"metric", "stat", "timing", "relative_to"}) expect_string(c, k, where, false);
  if (c.contains("percent") && !c.at("percent").is_boolean()) throw ConfigError(where + ".percent: expected true or false");
  if (c.contains("speedup") && !c.at("speedup").is_boolean()) throw ConfigError(where + ".speedup: expected true or false");
  if (c.value("speedup", false) && !c.contains("relative_to"))
    throw ConfigError(where + ".speedup: needs relative_to (the variant whose value is divided by this one's)");
}

// ---- values ----

struct Summary {
  std::vector<std::pair<std::uint64_t, double>> per_seed;  // finite values only
  std::string why;                                          // why there are none, when there are none
  std::size_t n() const { return per_seed.size(); }
  double mean() const {
    if (per_seed.empty()) return NAN;
    double s = 0;
    for (const auto& p : per_seed) s += p.second;
    return s / double(per_seed.size());
  }
  double sd() const {
    if (per_seed.size() < 2) return 0;
    const double m = mean();
    double s = 0;
    for (const auto& p : per_seed) s += (p.second - m) * (p.second - m);
    return std::sqrt(s / double(per_seed.size() - 1));
  }
  double se() const { return per_seed.empty() ? NAN : sd() / std::sqrt(double(per_seed.size())); }
  std::string text() const {
    if (per_seed.empty()) return "n/a";
    if (per_seed.size() == 1) return fmt(mean()) + " (1 seed)";
    return fmt(mean()) + " ± " + fmt(sd());
  }
};

// One number of one cell for a column, with the extractor file behind it (for the CSV).
struct CellNumber {
  double value = NAN;
  std::string why, extractor_sha;
};

void flatten(const Json& j, std::vector<double>& out) {
  if (j.is_number()) out.push_back(j.get<double>());
  else if (j.is_array())
    for (const auto& e : j) flatten(e, out);
}

CellNumber cell_number(const Json& column, const CellRecord& r, const std::string& where) {
  CellNumber n;
  if (column.contains("metric")) {
    const std::string want = column.at("metric").get<std::string>();
    const MetricValue* hit = nullptr;
    std::vector<const MetricValue*> by_name;
    for (const auto& m : r.metrics) {
      if (m.key == want) hit = &m;
      else if (m.key.rfind(want + "[", 0) == 0) by_name.push_back(&m);
    }
    if (!hit && by_name.size() > 1) {
      std::string keys;
      for (const auto* m : by_name) keys += (keys.empty() ? "" : ", ") + m->key;
      throw ConfigError(where + ".metric: '" + want + "' names several keys (" + keys + "); give the whole key");
    }
    if (!hit && by_name.size() == 1) hit = by_name.front();
    if (!hit) {
      n.why = "cell " + r.id + " has no metric '" + want + "'";
      return n;
    }
    if (hit->skipped) {
      n.why = hit->key + " skipped: " + hit->skip_reason;
      return n;
    }
    n.value = hit->value;
    if (hit->protocol.is_object() && hit->protocol.contains("extractor") && hit->protocol["extractor"].is_object())
      n.extractor_sha = hit->protocol["extractor"].value("sha256", std::string());
    return n;
  }
  const bool stat = column.contains("stat");
  const std::string path = column.at(stat ? "stat" : "timing").get<std::string>();
  const Json* node = stat ? &r.stats : &r.timings;
  std::stringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '.')) {
    if (!node->is_object() || !node->contains(part)) {
      n.why = "cell " + r.id + " has no " + (stat ? "stat '" : "timing '") + path + "'";
      return n;
    }
    node = &node->at(part);
  }
  std::vector<double> values;
  flatten(*node, values);
  if (values.empty()) {
    n.why = "cell " + r.id + ": " + path + " holds no numbers";
    return n;
  }
  double s = 0;
  for (double v : values) s += v;
  n.value = s / double(values.size());
  return n;
}

// The numbers at a dotted stats path of a cell (an array for a curve), or empty.
std::vector<double> stat_array(const CellRecord& r, const std::string& path) {
  const Json* node = &r.stats;
  std::stringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '.')) {
    if (!node->is_object() || !node->contains(part)) return {};
    node = &node->at(part);
  }
  std::vector<double> values;
  flatten(*node, values);
  return values;
}

struct CsvLine {
  std::string table, row, column, variant, cell_id, cell_hash, code, extractor;
  std::uint64_t seed = 0;
  double value = NAN;
};

class Builder {
 public:
  explicit Builder(const PaperReportInput& in) {
    for (const auto& c : in.cells) by_label_[c.label].push_back(&c);
  }

  bool has_variant(const std::string& label) const { return by_label_.count(label) > 0; }

  // A column's value for the cells of `variant`, per seed; CSV lines recorded under (table, row).
  Summary summarise(const Json& column, const std::string& variant, const std::string& where, const std::string& table,
                    const std::string& row) {
    Summary s;
    auto it = by_label_.find(variant);
    if (it == by_label_.end()) {
      s.why = "no finished cell of variant '" + variant + "'";
      return s;
    }
    const std::string base = column.value("relative_to", std::string());
    std::map<std::uint64_t, double> baseline;
    if (!base.empty()) {
      auto b = by_label_.find(base);
      if (b == by_label_.end()) {
        s.why = "no finished cell of the baseline variant '" + base + "'";
        return s;
      }
      for (const auto* c : b->second) {
        const CellNumber n = cell_number(column, c->record, where);
        if (std::isfinite(n.value)) baseline[c->seed] = n.value;
      }
    }
    const double scale = column.value("percent", false) ? 100.0 : 1.0;
    for (const auto* c : it->second) {
      const CellNumber n = cell_number(column, c->record, where);
      double v = n.value;
      if (!base.empty()) {
        auto b = baseline.find(c->seed);
        if (b == baseline.end() || b->second == 0) {
          if (s.why.empty()) s.why = "no baseline value of '" + base + "' for seed " + std::to_string(c->seed);
          continue;
        }
        v = column.value("speedup", false) ? (v != 0 ? b->second / v : NAN) : (v - b->second) / b->second;
      }
      v *= scale;
      if (!std::isfinite(v)) {
        if (s.why.empty()) s.why = n.why.empty() ? "not a finite number in cell " + c->record.id : n.why;
        continue;
      }
      s.per_seed.emplace_back(c->seed, v);
      csv_.push_back({table, row, column.at("title").get<std::string>(), variant, c->record.id, c->record.hash,
                      c->record.provenance.value("git_commit", std::string()), n.extractor_sha, c->seed, v});
    }
    std::sort(s.per_seed.begin(), s.per_seed.end());
    return s;
  }

  // A per-step curve stored in the cells of `variant`: x from the first cell that has it, y element-wise
  // mean and standard deviation over seeds. CSV lines per element and seed.
  PlotSeries curve(const std::string& label, const std::string& variant, const std::string& x_path,
                   const std::string& y_path, const std::string& figure, std::string& why) {
    PlotSeries ps;
    ps.label = label;
    auto it = by_label_.find(variant);
    if (it == by_label_.end()) {
      why = "no finished cell of variant '" + variant + "'";
      return ps;
    }
    std::vector<std::vector<double>> ys;
    for (const auto* c : it->second) {
      const std::vector<double> y = stat_array(c->record, y_path);
      if (y.empty()) continue;
      if (ps.x.empty()) ps.x = stat_array(c->record, x_path);
      if (!ys.empty() && y.size() != ys.front().size()) continue;
      ys.push_back(y);
      for (std::size_t i = 0; i < y.size(); ++i)
        csv_.push_back({figure, label, y_path + "[" + std::to_string(i) + "]", variant, c->record.id, c->record.hash,
                        c->record.provenance.value("git_commit", std::string()), "", c->seed, y[i]});
    }
    if (ys.empty()) {
      why = "no cell of variant '" + variant + "' has the stat '" + y_path + "'";
      ps.x.clear();
      return ps;
    }
    const std::size_t n = ys.front().size();
    if (ps.x.size() != n) {
      why = "'" + x_path + "' has " + std::to_string(ps.x.size()) + " values for " + std::to_string(n) + " of '" + y_path + "'";
      ps.x.clear();
      return ps;
    }
    for (std::size_t i = 0; i < n; ++i) {
      double m = 0, ss = 0;
      for (const auto& y : ys) m += y[i];
      m /= double(ys.size());
      for (const auto& y : ys) ss += (y[i] - m) * (y[i] - m);
      ps.y.push_back(m);
      ps.error.push_back(ys.size() > 1 ? std::sqrt(ss / double(ys.size() - 1)) : 0.0);
    }
    return ps;
  }

  std::string csv() const {
    std::ostringstream o;
    o << "table,row,column,variant,seed,value,cell_id,cell_hash,git_commit,extractor_sha256\n";
    for (const auto& l : csv_)
      o << csv_field(l.table) << "," << csv_field(l.row) << "," << csv_field(l.column) << "," << csv_field(l.variant)
        << "," << l.seed << "," << (std::isfinite(l.value) ? fmt_full(l.value) : "nan") << "," << csv_field(l.cell_id)
        << "," << l.cell_hash << "," << l.code << "," << l.extractor << "\n";
    return o.str();
  }

 private:
  static std::string fmt_full(double v) {
    std::ostringstream o;
    o.precision(10);
    o << v;
    return o.str();
  }
  std::map<std::string, std::vector<const PaperCell*>> by_label_;
  std::vector<CsvLine> csv_;
};

struct TableValues {
  std::string name;
  std::vector<std::string> rows;                      // row labels
  std::vector<std::string> columns;                   // column titles
  std::map<std::pair<std::string, std::string>, Summary> values;  // (row, column) -> summary
};

std::string published_text(const Json& table, const std::string& row, const std::string& column) {
  if (!table.contains("published")) return "";
  const Json& p = table.at("published");
  if (!p.contains(row) || !p.at(row).is_object() || !p.at(row).contains(column)) return "";
  const Json& v = p.at(row).at(column);
  return v.is_number() ? fmt(v.get<double>()) : text_of(v);
}

// ---- claims ----

struct Verdict {
  std::string ours, verdict;
};

const Summary* find_value(const std::vector<TableValues>& tables, const Json& claim, const std::string& row,
                          const std::string& where) {
  const std::string table = claim.value("table", std::string());
  const std::string column = claim.value("column", std::string());
  for (const auto& t : tables) {
    if (t.name != table) continue;
    if (std::find(t.columns.begin(), t.columns.end(), column) == t.columns.end())
      throw ConfigError(where + ".column: '" + column + "' is not a column of table '" + table + "'");
    auto it = t.values.find({row, column});
    if (it == t.values.end()) throw ConfigError(where + ": '" + row + "' is not a row of table '" + table + "'");
    return &it->second;
  }
  throw ConfigError(where + ".table: no table named '" + table + "'");
}

Verdict judge_order(const std::vector<TableValues>& tables, const Json& claim, const std::string& where) {
  const bool increasing = claim.contains("increasing");
  const Json& order = claim.at(increasing ? "increasing" : "decreasing");
  std::vector<std::pair<std::string, const Summary*>> rows;
  // With `across: ROW` the order runs over columns of that one row (a per-step curve's phases).
  const bool across = claim.contains("across");
  for (const auto& r : order) {
    if (!across) {
      rows.emplace_back(text_of(r), find_value(tables, claim, text_of(r), where));
      continue;
    }
    Json by_column = claim;
    by_column["column"] = text_of(r);
    rows.emplace_back(text_of(r), find_value(tables, by_column, text_of(claim.at("across")), where));
  }
  Verdict v;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i) v.ours += increasing ? " < " : " > ";
    v.ours += rows[i].first + " " + fmt(rows[i].second->mean());
  }
  for (const auto& r : rows)
    if (r.second->n() == 0) {
      v.verdict = "cannot be tested here: " + r.first + " has no value (" + r.second->why + ")";
      return v;
    }
  std::vector<std::string> broken, unresolved;
  for (std::size_t i = 0; i + 1 < rows.size(); ++i) {
    const double a = rows[i].second->mean(), b = rows[i + 1].second->mean();
    if (!(increasing ? a < b : a > b)) broken.push_back(rows[i].first + " vs " + rows[i + 1].first);
    const double se = std::hypot(rows[i].second->se(), rows[i + 1].second->se());
    if (std::abs(b - a) <= se) unresolved.push_back(rows[i].first + " vs " + rows[i + 1].first);
  }
  v.verdict = broken.empty() ? "holds" : "does not hold (" + [&] {
    std::string s;
    for (const auto& b : broken) s += (s.empty() ? "" : "; ") + b;
    return s;
  }() + " out of order)";
  if (!unresolved.empty()) {
    std::string s;
    for (const auto& u : unresolved) s += (s.empty() ? "" : "; ") + u;
    v.verdict += "; within one standard error over seeds: " + s;
  }
  return v;
}

Verdict judge_best(const std::vector<TableValues>& tables, const Json& claim, const std::string& where) {
  const Json& best = claim.at("best");
  expect_keys(best, where + ".best", {"among", "expected", "better"});
  if (!best.contains("among") || !best.at("among").is_array() || !best.contains("expected"))
    throw ConfigError(where + ".best: needs among: [ROW...] and expected: [ROW...]");
  const std::string better = best.value("better", std::string("lower"));
  if (better != "lower" && better != "higher") throw ConfigError(where + ".best.better: lower or higher, got " + better);
  std::set<std::string> expected;
  if (best.at("expected").is_array())
    for (const auto& e : best.at("expected")) expected.insert(text_of(e));
  else
    expected.insert(text_of(best.at("expected")));
  Verdict v;
  std::string winner;
  const Summary* winner_value = nullptr;
  for (const auto& r : best.at("among")) {
    const std::string row = text_of(r);
    const Summary* s = find_value(tables, claim, row, where);
    v.ours += (v.ours.empty() ? "" : ", ") + row + " " + fmt(s->mean());
    if (s->n() == 0) {
      v.verdict = "cannot be tested here: " + row + " has no value (" + s->why + ")";
      return v;
    }
    if (!winner_value || (better == "lower" ? s->mean() < winner_value->mean() : s->mean() > winner_value->mean()))
      winner = row, winner_value = s;
  }
  v.ours += "; best: " + winner;
  v.verdict = expected.count(winner) ? "holds" : "does not hold (best is " + winner + ")";
  return v;
}

}  // namespace

void validate_paper_section(const Json& paper, const std::string& where) {
  expect_keys(paper, where, {"title", "source", "setup", "tables", "figures", "claims"});
  for (const char* k : {"title", "source", "setup"}) expect_string(paper, k, where, false);
  for (const char* k : {"tables", "figures", "claims"}) expect_list(paper, k, where);
  if (!paper.contains("tables")) throw ConfigError(where + ".tables: missing (the paper's tables to reproduce)");
  const Json& tables = paper.at("tables");
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const std::string w = where + ".tables[" + std::to_string(i) + "]";
    const Json& t = tables[i];
    expect_keys(t, w, {"name", "rows", "columns", "published", "published_note"});
    expect_string(t, "name", w, true);
    if (!t.contains("rows") || !t.at("rows").is_array()) throw ConfigError(w + ".rows: expected a list of {label, variant}");
    if (!t.contains("columns") || !t.at("columns").is_array()) throw ConfigError(w + ".columns: expected a list");
    for (std::size_t r = 0; r < t.at("rows").size(); ++r) {
      const std::string wr = w + ".rows[" + std::to_string(r) + "]";
      expect_keys(t.at("rows")[r], wr, {"label", "variant"});
      expect_string(t.at("rows")[r], "label", wr, true);
      expect_string(t.at("rows")[r], "variant", wr, true);
    }
    for (std::size_t c = 0; c < t.at("columns").size(); ++c)
      validate_column(t.at("columns")[c], w + ".columns[" + std::to_string(c) + "]");
    if (t.contains("published") && !t.at("published").is_object())
      throw ConfigError(w + ".published: expected a mapping ROW: {COLUMN: value}");
  }
  if (paper.contains("figures"))
    for (std::size_t i = 0; i < paper.at("figures").size(); ++i) {
      const std::string w = where + ".figures[" + std::to_string(i) + "]";
      const Json& f = paper.at("figures")[i];
      expect_keys(f, w, {"name", "column", "x_label", "y_label", "series"});
      expect_string(f, "name", w, true);
      expect_string(f, "y_label", w, false);
      if (!f.contains("series") || !f.at("series").is_array()) throw ConfigError(w + ".series: expected a list");
      bool all_curves = true;
      for (const auto& series : f.at("series")) all_curves = all_curves && series.is_object() && series.contains("y");
      if (!f.contains("column") && !all_curves) throw ConfigError(w + ".column: missing");
      if (f.contains("column")) validate_column(f.at("column"), w + ".column");
      for (std::size_t s = 0; s < f.at("series").size(); ++s) {
        const std::string ws = w + ".series[" + std::to_string(s) + "]";
        const Json& series = f.at("series")[s];
        expect_keys(series, ws, {"label", "points", "variant", "x", "y"});
        if (series.contains("y")) {
          // A curve: arrays stored in the cells' stats (x and y dotted paths) of one variant.
          for (const char* k : {"variant", "x", "y"}) expect_string(series, k, ws, true);
          continue;
        }
        if (!series.contains("points") || !series.at("points").is_array())
          throw ConfigError(ws + ".points: expected a list of {x, variant}, or variant, x and y stat paths for a curve");
        for (const auto& p : series.at("points"))
          if (!p.is_object() || !p.contains("x") || !p.at("x").is_number() || !p.contains("variant"))
            throw ConfigError(ws + ".points: each point is {x: NUMBER, variant: LABEL}");
      }
    }
  if (paper.contains("claims"))
    for (std::size_t i = 0; i < paper.at("claims").size(); ++i) {
      const std::string w = where + ".claims[" + std::to_string(i) + "]";
      const Json& c = paper.at("claims")[i];
      expect_keys(c, w, {"claim", "table", "column", "across", "increasing", "decreasing", "best", "untestable", "theirs", "note"});
      expect_string(c, "claim", w, true);
      const int kinds = int(c.contains("increasing")) + int(c.contains("decreasing")) + int(c.contains("best")) +
                        int(c.contains("untestable"));
      if (kinds != 1) throw ConfigError(w + ": give exactly one of increasing, decreasing, best, untestable");
      if (c.contains("across")) {
        // An order over the columns of one row: increasing or decreasing lists column titles.
        expect_string(c, "across", w, true);
        expect_string(c, "table", w, true);
        if (!c.contains("increasing") && !c.contains("decreasing"))
          throw ConfigError(w + ".across: goes with increasing or decreasing (a list of column titles)");
      } else if (!c.contains("untestable")) {
        expect_string(c, "table", w, true);
        expect_string(c, "column", w, true);
      }
      for (const char* k : {"increasing", "decreasing"})
        if (c.contains(k) && (!c.at(k).is_array() || c.at(k).size() < 2))
          throw ConfigError(w + "." + k + ": expected a list of two or more row labels");
    }
}

PaperReport build_paper_report(const PaperReportInput& in) {
  validate_paper_section(in.paper);
  const Json& paper = in.paper;
  Builder builder(in);
  std::ostringstream md;
  const Json& p = in.provenance;
  md << "# " << paper.value("title", std::string("Reproduction report")) << "\n\n";
  if (p.contains("command")) md << "Regenerate: `" << text_of(p.at("command")) << "`\n\n";
  if (paper.contains("source")) md << "Source: " << text_of(paper.at("source")) << "\n\n";
  md << "Produced by vdlab " << p.value("vdlab_version", std::string("?")) << " (commit "
     << p.value("git_commit", std::string("?")) << ") on " << p.value("host", std::string("?")) << " ("
     << text_of(p.value("cores", Json("?"))) << " cores) at " << p.value("date", std::string("?")) << "; "
     << in.cells.size() << " finished cells";
  if (p.contains("wall_seconds")) md << ", " << fmt(p.at("wall_seconds").get<double>()) << " s of cell wall time";
  if (p.contains("backbone_seconds") && p.at("backbone_seconds").get<double>() > 0)
    md << " (of which " << fmt(p.at("backbone_seconds").get<double>()) << " s training or loading backbones)";
  md << ". Experiment: `" << p.value("experiment", std::string("?")) << "`, cells in `" << p.value("run_dir", std::string("?"))
     << "`. Every number below is a mean ± standard deviation over seeds; `tables.csv` lists each cell value behind it "
        "with the cell's config hash, seed, commit and extractor file hash, and each cell file holds its full "
        "provenance (library versions, device, metric protocol).\n\n";
  if (p.contains("libraries")) md << "Libraries: " << text_of(p.at("libraries")) << "\n\n";
  if (paper.contains("setup")) md << "## Our setup\n\n" << text_of(paper.at("setup")) << "\n\n";
  if (!in.missing.empty()) {
    md << "**Unfinished cells** (their values are missing below): ";
    for (std::size_t i = 0; i < in.missing.size(); ++i) md << (i ? ", " : "") << "`" << in.missing[i] << "`";
    md << "\n\n";
  }

  std::vector<TableValues> tables;
  const Json& ptables = paper.at("tables");
  for (std::size_t ti = 0; ti < ptables.size(); ++ti) {
    const Json& t = ptables[ti];
    TableValues tv;
    tv.name = t.at("name").get<std::string>();
    // A "theirs" column stands beside each column the source published values for.
    std::set<std::string> published_columns;
    if (t.contains("published"))
      for (const auto& row : t.at("published"))
        if (row.is_object())
          for (auto it = row.begin(); it != row.end(); ++it) published_columns.insert(it.key());
    const bool has_published = !published_columns.empty();
    md << "## " << tv.name << "\n\n";
    md << "| |";
    std::string rule = "|---|";
    for (const auto& c : t.at("columns")) {
      const std::string title = c.at("title").get<std::string>();
      tv.columns.push_back(title);
      md << " " << title << (has_published ? " (ours)" : "") << " |";
      rule += "---|";
      if (published_columns.count(title)) md << " " << title << " (theirs) |", rule += "---|";
    }
    md << "\n" << rule << "\n";
    for (const auto& r : t.at("rows")) {
      const std::string label = r.at("label").get<std::string>(), variant = r.at("variant").get<std::string>();
      tv.rows.push_back(label);
      md << "| " << label << " |";
      const Json& columns = t.at("columns");
      for (std::size_t ci = 0; ci < columns.size(); ++ci) {
        const std::string where = "paper.tables[" + std::to_string(ti) + "].columns[" + std::to_string(ci) + "]";
        const Summary s = builder.summarise(columns[ci], variant, where, tv.name, label);
        md << " " << s.text() << " |";
        if (published_columns.count(tv.columns[ci])) md << " " << published_text(t, label, tv.columns[ci]) << " |";
        tv.values[{label, tv.columns[ci]}] = s;
      }
      md << "\n";
    }
    std::vector<std::string> notes;
    for (const auto& [key, s] : tv.values)
      if (s.n() == 0 && !s.why.empty()) notes.push_back(key.first + " / " + key.second + ": " + s.why);
    md << "\n";
    if (has_published) {
      // The experiment's note says whose setup the values come from; without one, a plain warning.
      std::string note = t.value("published_note", std::string());
      if (note.empty())
        note = "the source's published values, on their own setup (backbone, data, metric implementations); "
               "compare directions, not magnitudes";
      while (!note.empty() && (note.back() == '.' || note.back() == ' ')) note.pop_back();
      md << "*Theirs:* " << note << ".\n\n";
    }
    for (const auto& c : t.at("columns"))
      if (c.contains("relative_to"))
        md << "*" << c.at("title").get<std::string>() << "*: per seed, "
           << (c.value("speedup", false) ? "value of `" + text_of(c.at("relative_to")) + "` / value"
                                          : "(value - value of `" + text_of(c.at("relative_to")) + "`) / value of `" +
                                                text_of(c.at("relative_to")) + "`")
           << " on the same seed" << (c.value("percent", false) ? ", in percent" : "") << ".\n\n";
    if (!notes.empty()) {
      md << "Missing values:\n";
      for (const auto& n : notes) md << "- " << n << "\n";
      md << "\n";
    }
    tables.push_back(std::move(tv));
  }

  PaperReport out;
  if (paper.contains("figures"))
    for (std::size_t fi = 0; fi < paper.at("figures").size(); ++fi) {
      const Json& f = paper.at("figures")[fi];
      const std::string name = f.at("name").get<std::string>();
      const std::string where = "paper.figures[" + std::to_string(fi) + "].column";
      std::vector<PlotSeries> series;
      md << "## " << name << "\n\n";
      std::ostringstream data;
      const std::string y_label = f.contains("y_label")  ? f.at("y_label").get<std::string>()
                                  : f.contains("column") ? f.at("column").at("title").get<std::string>()
                                                         : std::string("y");
      data << "| series | " << f.value("x_label", std::string("x")) << " | " << y_label << " |\n|---|---|---|\n";
      for (const auto& s : f.at("series")) {
        if (s.contains("y")) {
          std::string why;
          PlotSeries ps = builder.curve(s.value("label", std::string()), s.at("variant").get<std::string>(),
                                        s.at("x").get<std::string>(), s.at("y").get<std::string>(), name, why);
          if (ps.x.empty()) data << "| " << ps.label << " | | n/a (" << why << ") |\n";
          for (std::size_t i = 0; i < ps.x.size(); ++i)
            data << "| " << ps.label << " | " << fmt(ps.x[i]) << " | " << fmt(ps.y[i])
                 << (ps.error[i] > 0 ? " ± " + fmt(ps.error[i]) : std::string()) << " |\n";
          series.push_back(std::move(ps));
          continue;
        }
        PlotSeries ps;
        ps.label = s.value("label", std::string());
        for (const auto& pt : s.at("points")) {
          const Summary v = builder.summarise(f.at("column"), text_of(pt.at("variant")), where, name, ps.label);
          ps.x.push_back(pt.at("x").get<double>());
          ps.y.push_back(v.mean());
          ps.error.push_back(v.sd());
          data << "| " << ps.label << " | " << fmt(pt.at("x").get<double>()) << " | " << v.text() << " |\n";
        }
        series.push_back(std::move(ps));
      }
      PaperFigure fig;
      fig.file = file_safe(name) + ".svg";
      fig.svg = svg_line_plot(name, f.value("x_label", std::string("x")), y_label, series);
      md << "![" << name << "](" << fig.file << ")\n\n" << data.str() << "\n";
      out.figures.push_back(std::move(fig));
    }

  if (paper.contains("claims") && !paper.at("claims").empty()) {
    md << "## Claims\n\n| Claim | Theirs | Ours | Verdict on our backbone |\n|---|---|---|---|\n";
    const Json& claims = paper.at("claims");
    for (std::size_t i = 0; i < claims.size(); ++i) {
      const Json& c = claims[i];
      const std::string where = "paper.claims[" + std::to_string(i) + "]";
      Verdict v;
      if (c.contains("untestable")) v = {"", "cannot be tested here: " + text_of(c.at("untestable"))};
      else if (c.contains("best")) v = judge_best(tables, c, where);
      else v = judge_order(tables, c, where);
      if (c.contains("across")) v.ours = text_of(c.at("across")) + ": " + v.ours;
      else if (!c.contains("untestable")) v.ours = text_of(c.at("column")) + ": " + v.ours;
      md << "| " << text_of(c.at("claim")) << " | " << (c.contains("theirs") ? text_of(c.at("theirs")) : "") << " | "
         << v.ours << " | " << v.verdict << (c.contains("note") ? " (" + text_of(c.at("note")) + ")" : "") << " |\n";
    }
    md << "\nA stated order holds when the means over seeds follow it; \"within one standard error\" names "
          "neighbours whose difference the seeds do not resolve.\n";
  }
  out.markdown = md.str();
  out.csv = builder.csv();
  return out;
}

}  // namespace vdlab
