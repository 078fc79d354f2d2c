#include "results/sweep_summary.h"

#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "core/file_name.h"

namespace vdlab {

namespace {

using ColumnId = std::tuple<std::string, std::string, std::string>;  // metric, protocol, extractor sha

ColumnId column_of(const SummaryRow& r) { return {r.metric, r.protocol, r.extractor_sha256}; }

// Columns in first-seen order; a key shown with its protocol and extractor only when several stand
// behind the same key (they are separate columns, never pooled).
struct Columns {
  std::vector<ColumnId> order;
  std::map<ColumnId, bool> higher;
  std::map<std::string, int> per_key;

  explicit Columns(const std::vector<SummaryRow>& rows) {
    for (const auto& r : rows) {
      const ColumnId c = column_of(r);
      if (std::find(order.begin(), order.end(), c) == order.end()) {
        order.push_back(c);
        ++per_key[r.metric];
      }
      higher[c] = r.higher_is_better;
    }
  }
  std::string title(const ColumnId& c) const {
    std::string t = std::get<0>(c);
    if (per_key.at(std::get<0>(c)) > 1) {
      std::string detail;
      if (!std::get<1>(c).empty()) detail += "protocol " + std::get<1>(c);
      if (!std::get<2>(c).empty()) detail += (detail.empty() ? "" : ", ") + std::string("extractor ") + std::get<2>(c).substr(0, 8);
      if (!detail.empty()) t += " (" + detail + ")";
    }
    return t;
  }
};

std::string value_text(const SummaryRow& r) {
  if (r.values.empty()) return "n/a";
  if (r.values.size() < 2) return format_number(r.mean) + " (1 seed)";
  return format_number(r.mean) + " ± " + format_number((r.ci_high - r.ci_low) / 2);
}

std::string fmt_confidence(double c) { return format_number(c * 100, 3) + " %"; }

}  // namespace

void t_interval(const std::vector<double>& values, double confidence, double& mean, double& sd, double& low, double& high) {
  const std::size_t n = values.size();
  mean = sd = 0;
  low = high = NAN;
  if (n == 0) {
    mean = NAN;
    return;
  }
  for (double v : values) mean += v;
  mean /= double(n);
  if (n < 2) return;
  for (double v : values) sd += (v - mean) * (v - mean);
  sd = std::sqrt(sd / double(n - 1));
  const boost::math::students_t dist(double(n - 1));
  const double t = boost::math::quantile(dist, (1 + confidence) / 2);
  const double half = t * sd / std::sqrt(double(n));
  low = mean - half;
  high = mean + half;
}

std::vector<SummaryRow> summarise_sweep(const Sweep& sweep, double confidence) {
  using GroupId = std::tuple<std::string, std::string, std::string, std::string, std::string>;
  std::vector<GroupId> order;
  std::map<GroupId, SummaryRow> groups;
  std::map<GroupId, std::set<std::string>> cells_seen;  // a cell planned under one label counts once
  for (const auto& v : sweep.values) {
    const SweepCell& c = sweep.cells[v.cell];
    const GroupId id{c.split_hash, c.label, v.metric, v.protocol, v.extractor_sha256};
    auto it = groups.find(id);
    if (it == groups.end()) {
      SummaryRow r;
      r.label = c.label;
      r.split = c.split;
      r.split_hash = c.split_hash;
      r.metric = v.metric;
      r.protocol = v.protocol;
      r.extractor_sha256 = v.extractor_sha256;
      r.higher_is_better = v.higher_is_better;
      r.derived = !v.derived_from.empty();
      it = groups.emplace(id, std::move(r)).first;
      order.push_back(id);
    }
    if (!cells_seen[id].insert(c.id).second) continue;
    if (std::isfinite(v.value)) it->second.values.push_back(v.value);
  }
  // Splits in first-seen order, then labels in first-seen order, then columns in first-seen order.
  std::vector<std::string> splits, labels;
  std::vector<std::tuple<std::string, std::string, std::string>> metrics;
  for (const auto& g : order) {
    if (std::find(splits.begin(), splits.end(), std::get<0>(g)) == splits.end()) splits.push_back(std::get<0>(g));
    if (std::find(labels.begin(), labels.end(), std::get<1>(g)) == labels.end()) labels.push_back(std::get<1>(g));
    const auto m = std::make_tuple(std::get<2>(g), std::get<3>(g), std::get<4>(g));
    if (std::find(metrics.begin(), metrics.end(), m) == metrics.end()) metrics.push_back(m);
  }
  auto rank = [](const auto& list, const auto& x) { return std::find(list.begin(), list.end(), x) - list.begin(); };
  std::stable_sort(order.begin(), order.end(), [&](const GroupId& a, const GroupId& b) {
    const auto ka = std::make_tuple(rank(splits, std::get<0>(a)), rank(labels, std::get<1>(a)),
                                    rank(metrics, std::make_tuple(std::get<2>(a), std::get<3>(a), std::get<4>(a))));
    const auto kb = std::make_tuple(rank(splits, std::get<0>(b)), rank(labels, std::get<1>(b)),
                                    rank(metrics, std::make_tuple(std::get<2>(b), std::get<3>(b), std::get<4>(b))));
    return ka < kb;
  });
  std::vector<SummaryRow> out;
  for (const auto& g : order) {
    SummaryRow r = groups.at(g);
    t_interval(r.values, confidence, r.mean, r.sd, r.ci_low, r.ci_high);
    out.push_back(std::move(r));
  }
  return out;
}

std::string latex_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '_': case '%': case '&': case '#': case '$': case '{': case '}': out += '\\'; out += c; break;
      case '~': out += "\\textasciitilde{}"; break;
      case '^': out += "\\textasciicircum{}"; break;
      case '\\': out += "\\textbackslash{}"; break;
      default: out += c;
    }
  }
  return out;
}

SweepTables sweep_tables(const std::vector<SummaryRow>& rows, const std::string& title, double confidence) {
  SweepTables t;
  const Columns columns(rows);
  std::vector<std::pair<std::string, std::string>> splits;  // (hash, display)
  for (const auto& r : rows)
    if (std::find_if(splits.begin(), splits.end(), [&](const auto& s) { return s.first == r.split_hash; }) == splits.end())
      splits.push_back({r.split_hash, r.split});

  std::ostringstream csv;
  csv << "label,split,split_hash,metric,protocol,extractor_sha256,higher_is_better,derived,n_seeds,mean,sd,ci_low,ci_high\n";
  for (const auto& r : rows)
    csv << csv_escape(r.label) << "," << csv_escape(r.split) << "," << r.split_hash << "," << csv_escape(r.metric) << ","
        << csv_escape(r.protocol) << "," << r.extractor_sha256 << "," << (r.higher_is_better ? 1 : 0) << ","
        << (r.derived ? 1 : 0) << "," << r.values.size() << "," << format_number(r.mean, 17) << ","
        << format_number(r.sd, 17) << "," << format_number(r.ci_low, 17) << "," << format_number(r.ci_high, 17) << "\n";
  t.csv = csv.str();

  std::ostringstream md, tex;
  md << "# " << (title.empty() ? "vdlab sweep" : title) << "\n\n"
     << "Mean ± half-width of the " << fmt_confidence(confidence)
     << " Student-t confidence interval of the mean over seeds, per variant, dataset split and metric "
        "(a metric key with two protocols or extractor files is two columns). ↑ higher is better, ↓ lower.\n";
  tex << "% " << latex_escape(title.empty() ? "vdlab sweep" : title) << ": mean $\\pm$ half-width of the "
      << format_number(confidence * 100, 3) << "\\% t-interval over seeds. Needs \\usepackage{booktabs}.\n";
  for (const auto& [split_hash, split] : splits) {
    std::vector<ColumnId> cols;
    std::vector<std::string> labels;
    std::map<std::pair<std::string, ColumnId>, const SummaryRow*> cell;
    for (const auto& r : rows) {
      if (r.split_hash != split_hash) continue;
      const ColumnId c = column_of(r);
      if (std::find(cols.begin(), cols.end(), c) == cols.end()) cols.push_back(c);
      if (std::find(labels.begin(), labels.end(), r.label) == labels.end()) labels.push_back(r.label);
      cell[{r.label, c}] = &r;
    }
    std::stable_sort(cols.begin(), cols.end(), [&](const ColumnId& a, const ColumnId& b) {
      return std::find(columns.order.begin(), columns.order.end(), a) < std::find(columns.order.begin(), columns.order.end(), b);
    });
    md << "\n## " << split << "\n\n| variant |";
    for (const auto& c : cols) md << " " << columns.title(c) << (columns.higher.at(c) ? " ↑" : " ↓") << " |";
    md << "\n|---|";
    for (std::size_t i = 0; i < cols.size(); ++i) md << "---|";
    md << "\n";
    tex << "\n% " << latex_escape(split) << "\n\\begin{tabular}{l" << std::string(cols.size(), 'r') << "}\n\\toprule\nvariant";
    for (const auto& c : cols)
      tex << " & " << latex_escape(columns.title(c)) << (columns.higher.at(c) ? " $\\uparrow$" : " $\\downarrow$");
    tex << " \\\\\n\\midrule\n";
    for (const auto& l : labels) {
      md << "| " << l << " |";
      tex << latex_escape(l);
      for (const auto& c : cols) {
        const auto it = cell.find({l, c});
        const std::string text = it == cell.end() ? "" : value_text(*it->second);
        md << " " << text << " |";
        std::string latex = latex_escape(text);
        const auto pm = latex.find("±");
        if (pm != std::string::npos) latex.replace(pm, std::string("±").size(), "$\\pm$");
        tex << " & " << latex;
      }
      md << "\n";
      tex << " \\\\\n";
    }
    tex << "\\bottomrule\n\\end{tabular}\n";
  }
  t.markdown = md.str();
  t.latex = tex.str();
  return t;
}

std::vector<SweepPlot> sweep_plots(const Sweep& sweep, double confidence) {
  std::vector<SweepPlot> plots;
  const auto swept = sweep.swept_params();
  std::vector<std::string> numeric;
  for (const auto& p : swept) {
    bool all_numbers = true;
    for (const auto& c : sweep.cells) {
      const Json* v = c.param(p);
      all_numbers = all_numbers && v && v->is_number();
    }
    if (all_numbers) numeric.push_back(p);
  }
  const auto rows = summarise_sweep(sweep, confidence);
  const Columns columns(rows);
  std::set<std::string> stems;
  for (const auto& x : numeric) {
    // The other swept parameters, most distinct values first: they name the series.
    std::vector<std::pair<std::size_t, std::string>> others;
    for (const auto& p : swept) {
      if (p == x) continue;
      std::set<std::string> seen;
      for (const auto& c : sweep.cells) seen.insert(c.param(p) ? c.param(p)->dump() : "");
      others.push_back({seen.size(), p});
    }
    std::stable_sort(others.begin(), others.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    // Name series by the fewest of those (most distinct values first) that tell every series apart.
    std::vector<std::string> naming;
    {
      std::set<std::string> all_keys;
      for (const auto& c : sweep.cells) {
        std::string key;
        for (const auto& o : others) key += (c.param(o.second) ? c.param(o.second)->dump() : "-") + "|";
        all_keys.insert(key);
      }
      for (const auto& o : others) {
        std::set<std::string> named;
        naming.push_back(o.second);
        for (const auto& c : sweep.cells) {
          std::string key;
          for (const auto& p : naming) key += (c.param(p) ? c.param(p)->dump() : "-") + "|";
          named.insert(key);
        }
        if (named.size() == all_keys.size()) break;
      }
    }
    auto series_name = [&](const SweepCell& c) {
      std::string name;
      for (std::size_t i = 0; i < naming.size() && i < 4; ++i) {
        const Json* v = c.param(naming[i]);
        if (!v) continue;
        const std::string& path = naming[i];
        const std::string leaf = path.substr(path.rfind('.') == std::string::npos ? 0 : path.rfind('.') + 1);
        name += (name.empty() ? "" : ", ") + leaf + "=" + (v->is_string() ? v->get<std::string>() : v->dump());
      }
      return name.empty() ? std::string("all") : name;
    };
    auto series_key = [&](const SweepCell& c) {
      std::string key;
      for (const auto& o : others) key += (c.param(o.second) ? c.param(o.second)->dump() : "-") + "|";
      return key;
    };
    for (const auto& col : columns.order) {
      std::map<std::string, std::string> split_names;
      for (const auto& c : sweep.cells) split_names[c.split_hash] = c.split;
      for (const auto& [split_hash, split] : split_names) {
        // series key -> x -> per-seed values (each cell once)
        std::vector<std::string> series_order;
        std::map<std::string, std::string> names;
        std::map<std::string, std::map<double, std::vector<double>>> points;
        std::set<std::string> seen_cells;
        for (const auto& v : sweep.values) {
          const SweepCell& c = sweep.cells[v.cell];
          if (c.split_hash != split_hash || ColumnId{v.metric, v.protocol, v.extractor_sha256} != col) continue;
          if (!std::isfinite(v.value) || !seen_cells.insert(c.id).second) continue;
          const std::string key = series_key(c);
          if (!names.count(key)) series_order.push_back(key), names[key] = series_name(c);
          points[key][c.param(x)->get<double>()].push_back(v.value);
        }
        bool any_line = false;
        for (const auto& kv : points) any_line = any_line || kv.second.size() > 1;
        if (!any_line) continue;
        SweepPlot plot;
        plot.title = columns.title(col) + (split_names.size() > 1 ? " on " + split : "") + " against " + x;
        plot.x_label = x;
        plot.y_label = columns.title(col) + (columns.higher.at(col) ? " (higher is better)" : " (lower is better)");
        for (const auto& key : series_order) {
          PlotSeries s;
          s.label = names[key];
          for (const auto& [xv, values] : points[key]) {
            double mean, sd, low, high;
            t_interval(values, confidence, mean, sd, low, high);
            s.x.push_back(xv);
            s.y.push_back(mean);
            s.error.push_back(std::isfinite(high) ? (high - low) / 2 : 0);
          }
          plot.series.push_back(std::move(s));
        }
        std::string stem = file_safe(columns.title(col)) + "-vs-" + file_safe(x) +
                           (split_names.size() > 1 ? "-" + file_safe(split) : "");
        while (!stems.insert(stem).second) stem += "_";
        plot.file_stem = stem;
        plots.push_back(std::move(plot));
      }
    }
  }
  return plots;
}

}  // namespace vdlab
