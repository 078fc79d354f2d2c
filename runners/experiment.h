#pragma once
// Experiment files (DESIGN.md, Experiment files): parse, apply `key=value` overrides, expand lists into
// grids (and `zip` groups into paired axes), resolve every field against the registries, and plan cells.
//
// A cell is (dataset grid point) x (variant grid point) x seed. Its config is what generates its videos,
// fully resolved (defaults included), so its hash changes with any value that can change a generated
// number and with nothing else: not key order, not YAML formatting, not the machine, not the
// experiment's name, and not the metrics (they are scored from the stored videos and can be added to a
// finished cell without generating again). Cells with the same hash are planned once.
#include <cstdint>
#include <string>
#include <vector>

#include "core/params.h"

namespace vdlab {

struct CellSpec {
  std::size_t index = 0;
  std::string id;     // file-name safe: "<label>-s<seed>-<hash8>"
  std::string label;  // the variant's label (given, or built from method and grid values)
  std::string hash;   // config_hash(config)
  std::uint64_t seed = 0;
  Json config;        // {backbone, dataset, train_dataset, variant, seed, generate}
  Json metrics = Json::array();  // resolved metric configs scored on the cell's videos (not hashed)
  std::vector<std::string> duplicate_labels;  // variants whose cell has this same hash (planned once)
};

struct Experiment {
  std::string name;
  std::string origin;  // the file it came from
  Json backbone, dataset_grid, train_dataset, generate, metrics;
  std::vector<Json> datasets;  // resolved dataset configs (a list in `dataset` expands)
  std::vector<Json> variants;  // resolved, expanded variant configs, each with "method" and "label" (and
                               // "backbone", the whole resolved backbone, when the variant sets its own)
  std::vector<std::uint64_t> seeds;
  bool train_dataset_defaulted = false;  // `train_dataset` was not given: `dataset` with split train
  Json paper;  // the `paper:` section (results/paper_report.h), or null
};

// `overrides` are "path=value" strings: `sampler.steps=50` (every variant), `variants.1.noise.rho=0.4`,
// `dataset.clips=64`, `seeds=[0,1]`. Values are YAML.
Experiment load_experiment(const std::string& path, const std::vector<std::string>& overrides = {});
Experiment parse_experiment(Json raw, const std::string& origin, const std::vector<std::string>& overrides = {});
void apply_override(Json& raw, const std::string& assignment);

// Every distinct cell, in plan order; a cell whose hash an earlier one has is listed once (its label
// in the earlier cell's duplicate_labels).
std::vector<CellSpec> plan_cells(const Experiment& experiment);

// The resolved experiment as JSON and back (saved as <out>/experiment.json so `vdlab status OUT` plans
// exactly the cells that were run, overrides included, without the original file).
Json experiment_to_json(const Experiment& experiment);
Experiment experiment_from_json(const Json& saved, const std::string& origin);

// Builds every dataset, method, metric and the backbone's builder (loading no weights and training
// nothing), so that a bad value (steps -5, rho 1.5) or a missing file or folder is a ConfigError before
// any cell runs.
void validate_experiment(const Experiment& experiment);

// A variant's method config as the method registry takes it: {name: METHOD, ...parameters}.
Json method_config(const Json& variant);

// The backbone a variant's cells use: its own `backbone` block merged over the experiment's (resolved
// at parse time), else the experiment's.
const Json& variant_backbone(const Experiment& experiment, const Json& variant);
// Each distinct backbone of the experiment with the labels of the variants that use it (plan order).
std::vector<std::pair<Json, std::vector<std::string>>> distinct_backbones(const Experiment& experiment);

// Whether a resolved backbone config is one the harness trains (it has a training recipe), and so needs
// the training split; analytic and TorchScript backbones do not.
bool backbone_trains(const Json& backbone);

// The top-level fields of an experiment file, for `vdlab run --help` and error suggestions.
const ParamSpecs& experiment_fields();

}  // namespace vdlab
