#pragma once
// Experiment files (DESIGN.md, Experiment files): parse, apply `key=value` overrides, expand lists into
// grids (and `zip` groups into paired axes), resolve every field against the registries, and plan cells.
//
// A cell is (dataset grid point) x (variant grid point) x seed. Its config is fully resolved (defaults
// included), so its hash changes with any value that can change a number and with nothing else: not
// key order, not YAML formatting, not the machine, not the experiment's name.
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
  Json config;        // {backbone, dataset, train_dataset, variant, seed, metrics, generate}
};

struct Experiment {
  std::string name;
  std::string origin;  // the file it came from
  Json backbone, dataset_grid, train_dataset, generate, metrics;
  std::vector<Json> datasets;  // resolved dataset configs (a list in `dataset` expands)
  std::vector<Json> variants;  // resolved, expanded variant configs, each with "method" and "label"
  std::vector<std::uint64_t> seeds;
};

// `overrides` are "path=value" strings: `sampler.steps=50` (every variant), `variants.1.noise.rho=0.4`,
// `dataset.clips=64`, `seeds=[0,1]`. Values are YAML.
Experiment load_experiment(const std::string& path, const std::vector<std::string>& overrides = {});
Experiment parse_experiment(Json raw, const std::string& origin, const std::vector<std::string>& overrides = {});
void apply_override(Json& raw, const std::string& assignment);

std::vector<CellSpec> plan_cells(const Experiment& experiment);

// The top-level fields of an experiment file, for `vdlab run --help` and error suggestions.
const ParamSpecs& experiment_fields();

}  // namespace vdlab
