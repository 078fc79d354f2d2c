#include "results/comparison.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "core/error.h"
#include "results/bootstrap.h"
#include "results/sweep_summary.h"

namespace vdlab {

namespace {

// One side's values of one variant: (split, metric) -> seed -> value.
using SideValues = std::map<std::pair<std::string, std::string>, std::map<std::uint64_t, const SweepValue*>>;

SideValues side_values(const Sweep& sweep, const std::string& label, std::vector<std::pair<std::string, std::string>>& order) {
  SideValues out;
  for (const auto& v : sweep.values) {
    const SweepCell& c = sweep.cells[v.cell];
    if (c.label != label) continue;
    const auto key = std::make_pair(c.split_hash, v.metric);
    if (!out.count(key)) order.push_back(key);
    out[key][c.seed] = &v;
  }
  return out;
}

std::string join(const std::set<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + (i.empty() ? std::string("none") : i);
  return s;
}

std::string short_sha(const std::string& sha) { return sha.empty() ? "none" : sha.substr(0, 12); }

std::string seeds_text(const std::vector<std::uint64_t>& seeds) {
  std::string s;
  for (auto x : seeds) s += (s.empty() ? "" : " ") + std::to_string(x);
  return s;
}

std::string list_labels(const std::vector<std::string>& labels) {
  std::string s;
  for (const auto& l : labels) s += (s.empty() ? "" : ", ") + l;
  return s;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / double(v.size());
}

}  // namespace

Comparison compare_sweeps(const Sweep& candidate, const Sweep& baseline, const CompareOptions& options) {
  Comparison out;
  const auto candidate_labels = candidate.labels(), baseline_labels = baseline.labels();
  auto has = [](const std::vector<std::string>& list, const std::string& x) {
    return std::find(list.begin(), list.end(), x) != list.end();
  };
  if (!options.baseline_variant.empty() && !has(baseline_labels, options.baseline_variant))
    throw ConfigError("--baseline-variant " + options.baseline_variant + ": the baseline has no such variant (it has: " +
                      list_labels(baseline_labels) + ")");
  if (!options.candidate_variant.empty() && !has(candidate_labels, options.candidate_variant))
    throw ConfigError("--variant " + options.candidate_variant + ": the candidate has no such variant (it has: " +
                      list_labels(candidate_labels) + ")");

  std::vector<std::pair<std::string, std::string>> pairs;  // (candidate label, baseline label)
  for (const auto& l : candidate_labels) {
    if (!options.candidate_variant.empty() && l != options.candidate_variant) continue;
    if (!options.baseline_variant.empty()) pairs.push_back({l, options.baseline_variant});
    else if (baseline_labels.size() == 1) pairs.push_back({l, baseline_labels.front()});
    else if (has(baseline_labels, l)) pairs.push_back({l, l});
    else out.warnings.push_back("variant " + l + ": no baseline variant of that label (give --baseline-variant)");
  }
  if (pairs.empty())
    throw ConfigError("no candidate variant has a baseline variant to compare with (candidate: " +
                      list_labels(candidate_labels) + "; baseline: " + list_labels(baseline_labels) +
                      "); name one with --baseline-variant");

  std::set<std::string> refusals, warnings_seen;
  auto warn_once = [&](const std::string& w) {
    if (warnings_seen.insert(w).second) out.warnings.push_back(w);
  };
  for (const auto& [cl, bl] : pairs) {
    std::vector<std::pair<std::string, std::string>> order, base_order;
    const SideValues cand = side_values(candidate, cl, order);
    const SideValues base = side_values(baseline, bl, base_order);
    for (const auto& key : order) {
      const auto& [split_hash, metric] = key;
      if (!options.metrics.empty() && !has(options.metrics, metric)) continue;
      const auto& cseeds = cand.at(key);
      const std::string split = candidate.cells[cseeds.begin()->second->cell].split;
      const auto b = base.find(key);
      if (b == base.end()) {
        warn_once(metric + " on " + split + ": not in the baseline (variant " + bl + "), not compared");
        continue;
      }
      const auto& bseeds = b->second;
      // Protocols and extractor files must agree on both sides.
      std::set<std::string> cproto, bproto, csha, bsha;
      for (const auto& kv : cseeds) cproto.insert(kv.second->protocol), csha.insert(kv.second->extractor_sha256);
      for (const auto& kv : bseeds) bproto.insert(kv.second->protocol), bsha.insert(kv.second->extractor_sha256);
      if (cproto != bproto) {
        refusals.insert("refused: " + metric + " on " + split + ": protocol " + join(cproto) + " (candidate " + cl +
                        ") vs " + join(bproto) + " (baseline " + bl + "); values of different protocols are not compared");
        continue;
      }
      if (csha != bsha) {
        std::set<std::string> cs, bs;
        for (const auto& s : csha) cs.insert(short_sha(s));
        for (const auto& s : bsha) bs.insert(short_sha(s));
        refusals.insert("refused: " + metric + " on " + split + ": extractor sha256 " + join(cs) + " (candidate " + cl +
                        ") vs " + join(bs) + " (baseline " + bl + "); values from different extractor files are not compared");
        continue;
      }

      ComparisonRow row;
      row.variant = cl;
      row.baseline_variant = bl;
      row.split = split;
      row.split_hash = split_hash;
      row.metric = metric;
      row.protocol = *cproto.begin();
      row.extractor_sha256 = *csha.begin();
      row.higher_is_better = cseeds.begin()->second->higher_is_better;
      if (bseeds.begin()->second->higher_is_better != row.higher_is_better)
        row.warnings.push_back("the two sides disagree on the metric's direction; the candidate's is used");
      std::vector<std::uint64_t> only_c, only_b;
      for (const auto& kv : cseeds) {
        const auto bv = bseeds.find(kv.first);
        if (bv == bseeds.end() || !std::isfinite(kv.second->value) || !std::isfinite(bv->second->value)) {
          if (bv == bseeds.end()) only_c.push_back(kv.first);
          continue;
        }
        row.seeds.push_back(kv.first);
      }
      for (const auto& kv : bseeds)
        if (!cseeds.count(kv.first)) only_b.push_back(kv.first);
      if (!only_c.empty()) row.warnings.push_back("seeds only in the candidate: " + seeds_text(only_c));
      if (!only_b.empty()) row.warnings.push_back("seeds only in the baseline: " + seeds_text(only_b));
      if (row.seeds.empty()) {
        warn_once(metric + " on " + split + ", " + cl + " vs " + bl + ": no seed in common, not compared");
        continue;
      }
      // Per-sample pairs when every matched seed has them, of one length on both sides.
      row.per_sample = true;
      for (auto s : row.seeds) {
        const auto& c = cseeds.at(s)->per_sample;
        const auto& bb = bseeds.at(s)->per_sample;
        if (c.empty() || bb.empty()) row.per_sample = false;
        else if (c.size() != bb.size()) {
          row.per_sample = false;
          row.warnings.push_back("seed " + std::to_string(s) + ": " + std::to_string(c.size()) + " vs " +
                                 std::to_string(bb.size()) + " per-sample values; compared per seed only");
        }
      }
      std::vector<std::vector<double>> groups;
      double csum = 0, bsum = 0;
      for (auto s : row.seeds) {
        const SweepValue* c = cseeds.at(s);
        const SweepValue* bb = bseeds.at(s);
        if (row.per_sample) {
          std::vector<double> d(c->per_sample.size());
          for (std::size_t i = 0; i < d.size(); ++i) d[i] = c->per_sample[i] - bb->per_sample[i];
          row.pairs += d.size();
          csum += mean_of(c->per_sample);
          bsum += mean_of(bb->per_sample);
          groups.push_back(std::move(d));
        } else {
          groups.push_back({c->value - bb->value});
          row.pairs += 1;
          csum += c->value;
          bsum += bb->value;
        }
      }
      row.candidate = csum / double(row.seeds.size());
      row.baseline = bsum / double(row.seeds.size());
      if (row.seeds.size() < options.min_seeds)
        row.warnings.push_back("small n: " + std::to_string(row.seeds.size()) + " matched seed(s), fewer than " +
                               std::to_string(options.min_seeds));
      if (!row.per_sample && row.seeds.size() < 2) {
        row.delta = groups.front().front();
        row.low = row.high = NAN;
        row.verdict = "too few seeds";
        row.warnings.push_back("a set-level metric on one seed has no interval");
      } else {
        const BootstrapInterval ci = paired_bootstrap(groups, options.replicates, options.confidence, options.seed);
        row.delta = ci.estimate;
        row.low = ci.low;
        row.high = ci.high;
        if (!row.per_sample) row.warnings.push_back("set-level metric: resampled over seeds only");
        if (ci.low > 0) row.verdict = row.higher_is_better ? "better" : "worse";
        else if (ci.high < 0) row.verdict = row.higher_is_better ? "worse" : "better";
        else row.verdict = "no significant difference";
      }
      out.rows.push_back(std::move(row));
    }
    for (const auto& key : base_order)
      if (!cand.count(key) && (options.metrics.empty() || has(options.metrics, key.second)))
        warn_once(key.second + ": only in the baseline (variant " + bl + "), not compared");
  }
  out.refusals.assign(refusals.begin(), refusals.end());
  return out;
}

ComparisonTables comparison_tables(const Comparison& c, const CompareOptions& options, const std::string& candidate_name,
                                   const std::string& baseline_name) {
  ComparisonTables t;
  const std::string level = format_number(options.confidence * 100, 3);
  auto interval = [](const ComparisonRow& r) {
    if (!std::isfinite(r.low)) return std::string("n/a");
    return "[" + format_number(r.low) + ", " + format_number(r.high) + "]";
  };
  auto delta_text = [](const ComparisonRow& r) { return (r.delta > 0 ? "+" : "") + format_number(r.delta); };
  std::ostringstream md, csv, tex;
  md << "# " << candidate_name << " against " << baseline_name << "\n\n"
     << "Delta = candidate - baseline, matched on (dataset split, metric key, seed); " << level
     << " % paired bootstrap interval (" << options.replicates << " replicates, splitmix64 seed " << options.seed
     << ") over seeds and, where the metric has per-sample values, over the per-sample pairs of each seed. "
        "Verdict from the metric's direction (↑ higher is better, ↓ lower) when the interval excludes 0.\n\n"
     << "| variant | baseline | split | metric | seeds | pairs | candidate | baseline value | delta | " << level
     << " % interval | verdict |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
  csv << "variant,baseline_variant,split,split_hash,metric,protocol,extractor_sha256,higher_is_better,per_sample,seeds,"
         "n_seeds,pairs,candidate,baseline,delta,ci_low,ci_high,verdict,warnings\n";
  tex << "% " << latex_escape(candidate_name + " against " + baseline_name) << ": delta = candidate - baseline, " << level
      << "\\% paired bootstrap interval. Needs \\usepackage{booktabs}.\n"
      << "\\begin{tabular}{llllrrrrl}\n\\toprule\nvariant & baseline & metric & seeds & candidate & baseline & "
         "$\\Delta$ & interval & verdict \\\\\n\\midrule\n";
  for (const auto& r : c.rows) {
    const std::string arrow = r.higher_is_better ? " ↑" : " ↓";
    md << "| " << r.variant << " | " << r.baseline_variant << " | " << r.split << " | " << r.metric << arrow << " | "
       << r.seeds.size() << " | " << r.pairs << " | " << format_number(r.candidate) << " | " << format_number(r.baseline)
       << " | " << delta_text(r) << " | " << interval(r) << " | " << r.verdict << (r.warnings.empty() ? "" : " (!)")
       << " |\n";
    std::string warnings;
    for (const auto& w : r.warnings) warnings += (warnings.empty() ? "" : "; ") + w;
    csv << csv_escape(r.variant) << "," << csv_escape(r.baseline_variant) << "," << csv_escape(r.split) << ","
        << r.split_hash << "," << csv_escape(r.metric) << "," << csv_escape(r.protocol) << "," << r.extractor_sha256 << ","
        << (r.higher_is_better ? 1 : 0) << "," << (r.per_sample ? 1 : 0) << "," << seeds_text(r.seeds) << ","
        << r.seeds.size() << "," << r.pairs << "," << format_number(r.candidate, 17) << ","
        << format_number(r.baseline, 17) << "," << format_number(r.delta, 17) << "," << format_number(r.low, 17) << ","
        << format_number(r.high, 17) << "," << csv_escape(r.verdict) << "," << csv_escape(warnings) << "\n";
    tex << latex_escape(r.variant) << " & " << latex_escape(r.baseline_variant) << " & " << latex_escape(r.metric)
        << (r.higher_is_better ? " $\\uparrow$" : " $\\downarrow$") << " & " << r.seeds.size() << " & "
        << format_number(r.candidate) << " & " << format_number(r.baseline) << " & " << delta_text(r) << " & "
        << latex_escape(interval(r)) << " & " << latex_escape(r.verdict) << " \\\\\n";
  }
  tex << "\\bottomrule\n\\end{tabular}\n";
  bool any_row_warning = false;
  for (const auto& r : c.rows) any_row_warning = any_row_warning || !r.warnings.empty();
  if (any_row_warning || !c.warnings.empty()) {
    md << "\nWarnings:\n";
    for (const auto& r : c.rows)
      for (const auto& w : r.warnings) md << "- (!) " << r.variant << ", " << r.metric << " on " << r.split << ": " << w << "\n";
    for (const auto& w : c.warnings) md << "- " << w << "\n";
  }
  t.markdown = md.str();
  t.csv = csv.str();
  t.latex = tex.str();
  return t;
}

}  // namespace vdlab
