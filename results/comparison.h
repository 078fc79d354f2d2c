#pragma once
// A candidate sweep against a baseline sweep: values matched on (dataset split, metric key, seed), a
// delta per variant and metric with a paired bootstrap confidence interval (results/bootstrap.h) over
// seeds and, when the metric has per-sample values, over the per-sample pairs inside each seed
// (sample i of a seed saw the same caption and reference clip in both sweeps), and a verdict from the
// metric's direction. Values of different protocols or extractor files are never compared: such a pair
// is a refusal naming both.
//
// Which baseline variant a candidate variant is compared with: `baseline_variant` when given; else the
// baseline's only variant; else the baseline variant of the same label (two logged sweeps of the same
// experiment).
#include <cstdint>
#include <string>
#include <vector>

#include "results/sweep.h"

namespace vdlab {

struct CompareOptions {
  std::size_t replicates = 2000;
  double confidence = 0.95;
  std::uint64_t seed = 0;      // the resampling stream's seed; every comparison row starts from it
  std::size_t min_seeds = 3;   // fewer matched seeds: a warning
  std::string baseline_variant, candidate_variant;  // empty: see above
  std::vector<std::string> metrics;  // empty: every metric key both sweeps have
};

struct ComparisonRow {
  std::string variant, baseline_variant, split, split_hash, metric, protocol, extractor_sha256;
  bool higher_is_better = false;
  bool per_sample = false;          // resampled over per-sample pairs too (else over seeds only)
  std::vector<std::uint64_t> seeds; // matched seeds, ascending
  std::size_t pairs = 0;            // per-sample pairs in all (seeds for a set-level metric)
  double candidate = 0, baseline = 0;  // means over the matched seeds
  double delta = 0, low = 0, high = 0; // candidate - baseline, with its interval (NaN: none)
  std::string verdict;              // better | worse | no significant difference | too few seeds
  std::vector<std::string> warnings;
};

struct Comparison {
  std::vector<ComparisonRow> rows;
  std::vector<std::string> refusals;  // one line each: the metric, split and the two protocols or files
  std::vector<std::string> warnings;  // unmatched variants, seeds and metrics
};

Comparison compare_sweeps(const Sweep& candidate, const Sweep& baseline, const CompareOptions& options);

struct ComparisonTables {
  std::string markdown, csv, latex;
};
// `candidate_name`, `baseline_name`: what each side is, for the heading.
ComparisonTables comparison_tables(const Comparison& comparison, const CompareOptions& options,
                                   const std::string& candidate_name, const std::string& baseline_name);

}  // namespace vdlab
