#pragma once
// A collected sweep: every metric value of every finished cell as one long table (a row per cell and
// metric key), with the cell's resolved parameters flattened into columns, the seed, and the
// per-sample values behind each number. `vdlab collect` writes it as sweep.h5 and cells.csv, and
// `vdlab compare` reads it back (from a results folder, a sweep.h5 or a shipped baseline).
//
// sweep.h5, readable with h5py and no vdlab:
//   /                    attrs: format ("vdlab-sweep/1"), provenance (JSON: where and how it was collected)
//   /table               one dataset per column, all of the same length (one entry per row); the
//                        attribute `columns` lists them in order (JSON). Text columns are UTF-8 strings,
//                        numeric ones float64 (NaN where a cell lacks the parameter), counts int64.
//                        Columns: kTableColumns (below), then one per parameter ("variant.sampler.steps").
//   /per_sample/values   float64: row r's per-sample values are values[offset:offset + n_samples] with
//                        offset = /table/per_sample_offset[r] (n_samples 0: a set-level metric such as FVD)
// cells.csv is the same table (without per_sample_offset), one header line, pandas.read_csv reads it.
//
// Nothing that must stay apart is pooled: a value carries its metric key (which names extractor and
// protocol choices), its protocol name and the SHA-256 of its extractor file, and its split is
// identified by the dataset config's hash (split_hash), with a display name for people.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/params.h"
#include "results/cell_file.h"

namespace vdlab {

struct SweepCell {
  std::string id, label, hash;
  std::string split;       // display name: "moving-shapes:test" (with "#hash8" when two configs share it)
  std::string split_hash;  // config_hash of the dataset config: what matching across sweeps uses
  std::uint64_t seed = 0;
  std::vector<std::pair<std::string, Json>> params;  // flattened resolved config: path -> scalar
  const Json* param(const std::string& path) const;
};

struct SweepValue {
  std::size_t cell = 0;  // index into Sweep::cells
  std::string metric;    // the metric key
  std::string protocol;  // protocol name and estimator when the metric has them ("stylegan-v,biased"), else ""
  std::string extractor_sha256;
  double value = 0;
  bool higher_is_better = false;
  std::vector<double> per_sample;
  // Computed by collect from other values (a relative metric against a baseline variant), not by a cell.
  std::string derived_from;
};

struct Sweep {
  std::vector<SweepCell> cells;
  std::vector<SweepValue> values;
  std::vector<std::string> skipped;  // "<cell id>: <metric key>: <reason>", left out of the table
  Json provenance = Json::object();

  // Every parameter path any cell has, sorted.
  std::vector<std::string> param_columns() const;
  // Parameters whose value is not the same in every cell (a cell lacking one counts as a value).
  std::vector<std::string> swept_params() const;
  std::vector<std::string> labels() const;  // variant labels in first-seen order
};

// The fixed leading columns of the table, in order.
const std::vector<std::string>& sweep_table_columns();

struct LabelledCell {
  std::string label;  // the variant label the cell was planned under
  CellRecord record;
};

// Skipped metrics are listed in Sweep::skipped, not given rows.
Sweep sweep_from_cells(const std::vector<LabelledCell>& cells);

// A resolved config as (dotted path, scalar) pairs; a list becomes its JSON text, `seed` at the top is
// left out (it is its own column).
std::vector<std::pair<std::string, Json>> flatten_config(const Json& config);

// Per variant, split and seed: the relative change (v - b) / b of the mean of every per-sample metric
// against the cell of `baseline_label` on the same split and seed, from their per-sample values. Keys:
// `motion_dynamics[vs-LABEL]` for flow_motion (METRICS.md's motion dynamics), `KEY[rel-vs-LABEL]` (the
// part appended inside the brackets) for the others. Throws ConfigError naming the label when no cell
// has it. Returns how many values it added.
std::size_t add_relative_metrics(Sweep& sweep, const std::string& baseline_label);
std::string relative_metric_key(const std::string& key, const std::string& baseline_label);

// Atomic; throws IoError naming the file.
void write_sweep_h5(const Sweep& sweep, const std::string& path);
// Throws IoError naming the file when it is missing, corrupt or not a sweep file.
Sweep read_sweep_h5(const std::string& path);
std::string sweep_csv(const Sweep& sweep);

// Shared text helpers of the sweep writers.
std::string csv_escape(const std::string& field);
std::string format_number(double v, int precision = 4);

}  // namespace vdlab
