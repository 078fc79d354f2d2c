#include "runners/experiment.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/file_name.h"
#include "core/hash.h"
#include "core/suggest.h"
#include "datasets/clip_source.h"
#include "methods/backbone/backbone.h"
#include "methods/backbone/register_backbones.h"
#include "methods/method.h"
#include "metrics/metric.h"
#include "results/paper_report.h"
#include "runners/pinned_files.h"
#include "runners/yaml_json.h"

namespace vdlab {

namespace {

// The most cells an experiment plans: lists cross into grids, and a few short lists (or a list pasted
// many times) make more cells than any machine could run, and more than planning can hold in memory.
constexpr std::size_t kMaxCells = 10000;

// Fields a variant has besides its method's parameters. `backbone` is merged over the experiment's
// backbone (a variant trained differently: FVDM's PTSS p, a loss weight); lists in it are grid axes.
const std::vector<std::string> kVariantFields = {"method", "label", "zip", "backbone"};

const ParamSpecs& generate_fields() {
  static const ParamSpecs specs = {
      {"count", 0, "videos generated per cell; 0 = as many as the evaluation split has clips"},
      {"batch_size", 8, "videos per sampler call"},
      {"save_samples", true,
       "store the generated videos (uint8) in the cell file; false keeps them in features/<id>/samples.h5 "
       "instead, so metrics can still be added without generating"},
      {"conditional", true, "condition each generated video on the label and caption of a real clip"}};
  return specs;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '.')) parts.push_back(part);
  return parts;
}

bool is_index(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

void set_path(Json& root, const std::vector<std::string>& parts, const Json& value, const std::string& what) {
  Json* node = &root;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    const bool last = i + 1 == parts.size();
    if (node->is_array()) {
      if (!is_index(p) || std::stoul(p) >= node->size())
        throw ConfigError(what + ": '" + p + "' is not an index of a list of " + std::to_string(node->size()));
      node = &(*node)[std::stoul(p)];
    } else {
      if (node->is_null()) *node = Json::object();
      if (!node->is_object()) throw ConfigError(what + ": '" + p + "' goes into a value that is not a mapping");
      node = &(*node)[p];
    }
    if (last) *node = value;
  }
}

// Does the parameter at `parts` (below an object checked by `specs`) hold a list by type? Lists given for
// other parameters are grid axes. Unknown paths answer false; resolution reports them.
bool is_list_param(const ParamSpecs& specs, const Json& obj, const std::vector<std::string>& parts, std::size_t i) {
  auto it = std::find_if(specs.begin(), specs.end(), [&](const ParamSpec& s) { return s.name == parts[i]; });
  if (it == specs.end()) return false;
  if (i + 1 == parts.size()) return it->default_value.is_array();
  if (!it->nested) return false;
  const Json sub = obj.is_object() && obj.contains(parts[i]) ? obj.at(parts[i]) : Json();
  std::string entry = it->default_value.value("name", "");
  if (sub.is_object() && sub.contains("name") && sub.at("name").is_string()) entry = sub.at("name").get<std::string>();
  try {
    return is_list_param(it->nested(entry, ""), sub, parts, i + 1);
  } catch (const ConfigError&) {
    return false;
  }
}

struct Axis {
  std::vector<std::string> paths;    // one path, or several for a zip group
  std::vector<std::vector<Json>> values;  // values[k] = values of paths[k]
  std::size_t size() const { return values.empty() ? 0 : values[0].size(); }
};

bool all_objects(const Json& list) {
  if (!list.is_array() || list.empty()) return false;
  for (const auto& item : list)
    if (!item.is_object()) return false;
  return true;
}

// `into_entry_lists`: a list of mappings (a backbone's train.loss terms) is a value, not an axis, and
// lists inside its entries are axes (`loss: [{name: temporal_consistency, weight: [0, 2.0]}]`).
void collect_axes(const Json& node, std::vector<std::string>& prefix, const ParamSpecs& specs, const Json& root,
                  std::vector<Axis>& axes, bool into_entry_lists = false) {
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (prefix.empty() && std::find(kVariantFields.begin(), kVariantFields.end(), it.key()) != kVariantFields.end())
      continue;
    prefix.push_back(it.key());
    if (into_entry_lists && all_objects(it.value())) {
      for (std::size_t i = 0; i < it.value().size(); ++i) {
        prefix.push_back(std::to_string(i));
        collect_axes(it.value()[i], prefix, specs, root, axes, into_entry_lists);
        prefix.pop_back();
      }
    } else if (it.value().is_array() && !is_list_param(specs, root, prefix, 0)) {
      std::string path;
      for (const auto& p : prefix) path += (path.empty() ? "" : ".") + p;
      if (it.value().empty()) throw ConfigError(path + ": an empty list gives no grid values");
      axes.push_back({{path}, {std::vector<Json>(it.value().begin(), it.value().end())}});
    } else if (it.value().is_object()) {
      collect_axes(it.value(), prefix, specs, root, axes, into_entry_lists);
    }
    prefix.pop_back();
  }
}

std::string value_text(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// Expands one object into its grid points. `where` names it in errors ("variants[1]").
std::vector<std::pair<Json, std::string>> expand_grid(const Json& given, const ParamSpecs& specs,
                                                      const std::string& where, std::vector<Axis> axes = {}) {
  std::vector<std::string> prefix;
  collect_axes(given, prefix, specs, given, axes);
  Json base = given;
  if (given.contains("zip")) {
    const Json& zip = given.at("zip");
    if (!zip.is_object() || zip.empty())
      throw ConfigError(where + ".zip: expected a mapping of field paths to lists of equal length");
    Axis axis;
    for (auto it = zip.begin(); it != zip.end(); ++it) {
      if (!it.value().is_array() || it.value().empty())
        throw ConfigError(where + ".zip." + it.key() + ": expected a non-empty list");
      if (!axis.values.empty() && it.value().size() != axis.size())
        throw ConfigError(where + ".zip." + it.key() + ": has " + std::to_string(it.value().size()) +
                          " values, the other zipped lists " + std::to_string(axis.size()));
      axis.paths.push_back(it.key());
      axis.values.emplace_back(it.value().begin(), it.value().end());
    }
    axes.push_back(axis);
    base.erase("zip");
  }
  std::size_t count = 1;
  for (const auto& axis : axes) {
    count = axis.size() == 0 ? 0 : std::min(kMaxCells + 1, count * axis.size());
    if (count > kMaxCells)
      throw ConfigError(where + ": its lists make more than " + std::to_string(kMaxCells) +
                        " grid points; an experiment plans at most that many cells (split it into several)");
  }
  std::vector<std::pair<Json, std::string>> points = {{base, ""}};
  for (const auto& axis : axes) {
    std::vector<std::pair<Json, std::string>> next;
    for (const auto& point : points)
      for (std::size_t v = 0; v < axis.size(); ++v) {
        Json cfg = point.first;
        std::string label = point.second;
        for (std::size_t k = 0; k < axis.paths.size(); ++k) {
          set_path(cfg, split_path(axis.paths[k]), axis.values[k][v], where + "." + axis.paths[k]);
          const auto parts = split_path(axis.paths[k]);
          label += "," + parts.back() + "=" + value_text(axis.values[k][v]);
        }
        next.emplace_back(std::move(cfg), std::move(label));
      }
    points = std::move(next);
  }
  return points;
}

// `override` merged into `base` field by field (mappings recursively; anything else replaces).
Json merged(Json base, const Json& override) {
  for (auto it = override.begin(); it != override.end(); ++it) {
    if (base.contains(it.key()) && base.at(it.key()).is_object() && it.value().is_object())
      base[it.key()] = merged(base.at(it.key()), it.value());
    else
      base[it.key()] = it.value();
  }
  return base;
}

// A variant's own backbone block: its grid axes (as `backbone.<path>`, lists that are not list-typed
// parameters of the backbone) and a check that it is a mapping.
std::vector<Axis> variant_backbone_axes(const Json& variant, const Json& experiment_backbone, const std::string& where) {
  if (!variant.contains("backbone")) return {};
  const Json& given = variant.at("backbone");
  if (!given.is_object())
    throw ConfigError(where + ".backbone: expected a mapping of fields merged over the experiment's backbone");
  const Json whole = normalize_backbone_config(merged(experiment_backbone, given), where + ".backbone");
  const auto& specs = backbone_registry().get(whole.at("name").get<std::string>(), where + ".backbone.name").params;
  std::vector<Axis> axes;
  std::vector<std::string> prefix;
  collect_axes(given, prefix, specs, given, axes, /*into_entry_lists=*/true);
  for (auto& axis : axes)
    for (auto& path : axis.paths) path = "backbone." + path;
  return axes;
}

}  // namespace

const ParamSpecs& experiment_fields() {
  static const ParamSpecs specs = {
      {"name", "", "the experiment's name (not part of any cell's hash)"},
      {"description", "", "free text"},
      {"backbone", Json::object(), "the denoiser: {name: unet, preset: tiny, train: {...}}, {torchscript: PATH}, or an analytic one"},
      {"dataset", Json::object(), "the evaluation split: {name: moving-shapes, split: test, clips: 64, ...}"},
      {"train_dataset", nullptr, "the split a trained backbone learns from; default: `dataset` with split train"},
      {"variants", Json::array(), "method variants: {method: NAME, label: TEXT, zip: {...}, backbone: {...merged over `backbone`}, ...its parameters}"},
      {"seeds", Json::array({0}), "seeds; each variant runs once per seed"},
      {"metrics", Json::array(), "metric names, or {name: NAME, ...parameters}"},
      {"generate", Json::object(), "count, batch_size, save_samples, conditional"},
      {"paper", nullptr, "a seed paper's tables, figures and claims for `vdlab paper-report` (not part of any cell's hash)"}};
  return specs;
}

void apply_override(Json& raw, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("override '" + assignment + "': expected path=value, for example sampler.steps=50");
  const std::string path = assignment.substr(0, eq);
  if (!valid_utf8(path)) throw ConfigError("override '" + assignment + "': a field path that is not UTF-8");
  const Json value = parse_yaml(assignment.substr(eq + 1), "override '" + assignment + "'");
  auto parts = split_path(path);
  std::vector<std::string> top;
  for (const auto& f : experiment_fields()) top.push_back(f.name);
  if (std::find(top.begin(), top.end(), parts[0]) != top.end()) {
    set_path(raw, parts, value, "override '" + assignment + "'");
    return;
  }
  // Not a top-level field: a field of every variant (sampler.steps=50).
  if (!raw.contains("variants") || !raw.at("variants").is_array() || raw.at("variants").empty())
    throw ConfigError("override '" + assignment + "': '" + parts[0] + "' is not an experiment field" +
                      suggestion_suffix(parts[0], top));
  for (auto& v : raw["variants"]) {
    set_path(v, parts, value, "override '" + assignment + "'");
    // The override wins over a zipped list of the same field.
    if (v.contains("zip") && v["zip"].is_object() && v["zip"].contains(path)) {
      v["zip"].erase(path);
      if (v["zip"].empty()) v.erase("zip");
    }
  }
}

namespace {

Experiment parse_fields(Json raw, const std::string& origin, const std::vector<std::string>& overrides) {
  register_builtin_datasets();
  register_builtin_methods();
  register_builtin_metrics();
  if (!raw.is_object()) throw ConfigError(origin + ": an experiment file is a mapping of fields");
  for (const auto& o : overrides) apply_override(raw, o);

  // Top-level fields: unknown names and types, before anything is expanded.
  std::vector<std::string> top;
  for (const auto& f : experiment_fields()) top.push_back(f.name);
  for (auto it = raw.begin(); it != raw.end(); ++it)
    if (std::find(top.begin(), top.end(), it.key()) == top.end())
      throw ConfigError(origin + ": " + it.key() + ": unknown field" + suggestion_suffix(it.key(), top));

  // Fields read as they are (not through a registry's parameters): their types checked here, so that a
  // wrong one is an error naming the field rather than a JSON type error from deep inside.
  for (const char* text_field : {"name", "description"})
    if (raw.contains(text_field) && !raw.at(text_field).is_string() && !raw.at(text_field).is_null())
      throw ConfigError(origin + ": " + text_field + ": expected text, got " + raw.at(text_field).dump());
  if (raw.contains("train_dataset") && !raw.at("train_dataset").is_object() && !raw.at("train_dataset").is_null())
    throw ConfigError("train_dataset: expected a mapping, got " + raw.at("train_dataset").dump());

  Experiment e;
  e.origin = origin;
  if (raw.contains("name") && raw.at("name").is_string()) e.name = raw.at("name").get<std::string>();
  if (raw.contains("paper") && !raw.at("paper").is_null()) {
    validate_paper_section(raw.at("paper"));
    e.paper = raw.at("paper");
  }

  // Backbone: the shorthand (`{torchscript: PATH}`, a mapping without a name) normalised in one place.
  const Json backbone_given = normalize_backbone_config(raw.value("backbone", Json::object()));
  e.backbone = backbone_registry().resolve(backbone_given, "backbone");

  // Datasets: a list in any field expands.
  Json dataset = raw.value("dataset", Json::object());
  if (!dataset.is_object()) throw ConfigError("dataset: expected a mapping");
  if (!dataset.contains("name")) dataset["name"] = "moving-shapes";
  if (!dataset.at("name").is_string()) throw ConfigError("dataset.name: expected string");
  const auto& dataset_specs = dataset_registry().get(dataset.at("name").get<std::string>(), "dataset.name").params;
  for (auto& point : expand_grid(dataset, dataset_specs, "dataset"))
    e.datasets.push_back(dataset_registry().resolve(point.first, "dataset"));

  Json train = raw.value("train_dataset", Json());
  if (train.is_null()) {
    e.train_dataset_defaulted = true;
    train = e.datasets.front();
    if (train.contains("split")) train["split"] = "train";
  }
  if (!train.contains("name")) train["name"] = e.datasets.front().at("name");
  e.train_dataset = dataset_registry().resolve(train, "train_dataset");

  e.generate = resolve_params(raw.value("generate", Json::object()), generate_fields(), "generate");
  if (e.generate.at("count").get<long long>() < 0)
    throw ConfigError("generate.count: must be 0 (one video per real clip) or more, got " + e.generate.at("count").dump());
  if (e.generate.at("batch_size").get<long long>() < 1)
    throw ConfigError("generate.batch_size: must be at least 1, got " + e.generate.at("batch_size").dump());

  const Json seeds = raw.value("seeds", Json::array({0}));
  if (!seeds.is_array() || seeds.empty()) throw ConfigError("seeds: expected a non-empty list of integers");
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    if (!seeds[i].is_number_integer() || seeds[i].get<long long>() < 0)
      throw ConfigError("seeds[" + std::to_string(i) + "]: expected a non-negative integer, got " + seeds[i].dump());
    e.seeds.push_back(seeds[i].get<std::uint64_t>());
  }

  e.metrics = Json::array();
  const Json metrics = raw.value("metrics", Json::array());
  if (!metrics.is_array()) throw ConfigError("metrics: expected a list");
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    Json m = metrics[i].is_string() ? Json{{"name", metrics[i]}} : metrics[i];
    e.metrics.push_back(metric_registry().resolve(m, "metrics[" + std::to_string(i) + "]"));
  }

  const Json variants = raw.value("variants", Json::array());
  if (!variants.is_array() || variants.empty())
    throw ConfigError("variants: expected a non-empty list of {method: NAME, ...}");
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < variants.size(); ++i) {
    const std::string where = "variants[" + std::to_string(i) + "]";
    const Json& v = variants[i];
    if (!v.is_object() || !v.contains("method") || !v.at("method").is_string())
      throw ConfigError(where + ".method: missing (one of: " + method_registry().join_names() + ")");
    const std::string method = v.at("method").get<std::string>();
    if (v.contains("label") && !v.at("label").is_string())
      throw ConfigError(where + ".label: expected text, got " + v.at("label").dump());
    const auto& entry = method_registry().get(method, where + ".method");
    for (auto& point : expand_grid(v, entry.params, where, variant_backbone_axes(v, backbone_given, where))) {
      Json params = point.first;
      for (const auto& f : kVariantFields) params.erase(f);
      Json resolved = resolve_params(params, entry.params, where);
      resolved["method"] = method;
      if (point.first.contains("backbone")) {
        const Json whole = normalize_backbone_config(merged(backbone_given, point.first.at("backbone")), where + ".backbone");
        resolved["backbone"] = backbone_registry().resolve(whole, where + ".backbone");
      }
      std::string label = v.contains("label") ? v.at("label").get<std::string>() + point.second
                                              : method + point.second;
      std::replace(label.begin(), label.end(), ',', '-');
      label = file_safe(label);
      if (std::find(labels.begin(), labels.end(), label) != labels.end())
        throw ConfigError(where + ": label '" + label + "' is used twice; give the variants distinct labels");
      labels.push_back(label);
      resolved["label"] = label;
      e.variants.push_back(std::move(resolved));
      if (e.variants.size() * e.datasets.size() * e.seeds.size() > kMaxCells)
        throw ConfigError(where + ": the experiment makes more than " + std::to_string(kMaxCells) + " cells (" +
                          std::to_string(e.datasets.size()) + " dataset splits x " + std::to_string(e.variants.size()) +
                          "+ variants x " + std::to_string(e.seeds.size()) +
                          " seeds); an experiment plans at most that many (split it into several)");
    }
  }
  return e;
}

}  // namespace

Experiment parse_experiment(Json raw, const std::string& origin, const std::vector<std::string>& overrides) {
  try {
    return parse_fields(std::move(raw), origin, overrides);
  } catch (const Json::exception& ex) {
    // The checks above name the field; a value of a wrong type that slips past them is still bad input.
    throw ConfigError(origin + ": a value of the wrong type (" + std::string(ex.what()) + ")");
  }
}

Experiment load_experiment(const std::string& path, const std::vector<std::string>& overrides) {
  return parse_experiment(load_yaml_file(path), path, overrides);
}

std::vector<CellSpec> plan_cells(const Experiment& e) {
  std::vector<CellSpec> cells;
  std::map<std::string, std::size_t> by_hash;
  for (const auto& dataset : e.datasets)
    for (const auto& variant : e.variants)
      for (const auto seed : e.seeds) {
        CellSpec c;
        c.seed = seed;
        c.label = variant.at("label").get<std::string>();
        Json hashed_variant = variant;
        hashed_variant.erase("label");  // a label names a cell; it changes no number
        hashed_variant.erase("backbone");  // hashed as the cell's backbone
        c.config = {{"backbone", variant_backbone(e, variant)}, {"dataset", dataset}, {"train_dataset", e.train_dataset},
                    {"variant", hashed_variant}, {"seed", seed},     {"generate", e.generate}};
        c.metrics = e.metrics;
        c.hash = config_hash(hashed_cell_config(c.config));
        if (auto it = by_hash.find(c.hash); it != by_hash.end()) {
          auto& labels = cells[it->second].duplicate_labels;
          if (std::find(labels.begin(), labels.end(), c.label) == labels.end()) labels.push_back(c.label);
          continue;
        }
        c.index = cells.size();
        std::string prefix = c.label;
        if (e.datasets.size() > 1) prefix += "-" + file_safe(dataset.value("split", std::string("data")));
        c.id = prefix + "-s" + std::to_string(seed) + "-" + c.hash.substr(0, 8);
        by_hash[c.hash] = c.index;
        cells.push_back(std::move(c));
      }
  return cells;
}

Json method_config(const Json& variant) {
  Json v = variant;
  v["name"] = v.at("method");
  v.erase("method");
  v.erase("label");
  v.erase("backbone");
  return v;
}

const Json& variant_backbone(const Experiment& e, const Json& variant) {
  return variant.contains("backbone") ? variant.at("backbone") : e.backbone;
}

std::vector<std::pair<Json, std::vector<std::string>>> distinct_backbones(const Experiment& e) {
  std::vector<std::pair<Json, std::vector<std::string>>> out;
  for (const auto& v : e.variants) {
    const Json& b = variant_backbone(e, v);
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& entry) { return entry.first == b; });
    if (it == out.end()) out.push_back({b, {}}), it = std::prev(out.end());
    it->second.push_back(v.at("label").get<std::string>());
  }
  return out;
}

Json experiment_to_json(const Experiment& e) {
  return {{"format", "vdlab-experiment/1"}, {"name", e.name},         {"origin", e.origin},
          {"backbone", e.backbone},         {"datasets", e.datasets}, {"train_dataset", e.train_dataset},
          {"train_dataset_defaulted", e.train_dataset_defaulted},   {"variants", e.variants},
          {"seeds", e.seeds},               {"metrics", e.metrics},   {"generate", e.generate},
          {"paper", e.paper}};
}

Experiment experiment_from_json(const Json& saved, const std::string& origin) {
  // What it names is built from the registries (an array task runs cells from it).
  register_builtin_datasets();
  register_builtin_methods();
  register_builtin_metrics();
  if (!saved.is_object() || saved.value("format", std::string()) != "vdlab-experiment/1")
    throw ConfigError(origin + ": not a resolved experiment saved by vdlab run or vdlab plan");
  Experiment e;
  try {
    e.name = saved.at("name").get<std::string>();
    e.origin = saved.at("origin").get<std::string>();
    e.backbone = saved.at("backbone");
    e.datasets = saved.at("datasets").get<std::vector<Json>>();
    e.train_dataset = saved.at("train_dataset");
    e.train_dataset_defaulted = saved.value("train_dataset_defaulted", false);
    e.variants = saved.at("variants").get<std::vector<Json>>();
    e.seeds = saved.at("seeds").get<std::vector<std::uint64_t>>();
    e.metrics = saved.at("metrics");
    e.generate = saved.at("generate");
    e.paper = saved.value("paper", Json());
  } catch (const Json::exception& ex) {
    throw ConfigError(origin + ": incomplete saved experiment (" + std::string(ex.what()) + ")");
  }
  return e;
}

bool backbone_trains(const Json& backbone) { return backbone.contains("train"); }

void validate_experiment(const Experiment& e) {
  // Files and folders are bad input too: they are named in the experiment.
  auto as_config_error = [](const std::function<void()>& check) {
    try {
      check();
    } catch (const IoError& ex) {
      throw ConfigError(ex.what());
    }
  };
  for (const auto& d : e.datasets) as_config_error([&] { make_dataset(d, "dataset"); });
  for (const auto& [backbone, labels] : distinct_backbones(e)) {
    const std::string where = backbone == e.backbone ? "backbone" : "backbone of variant " + labels.front();
    if (backbone_trains(backbone)) as_config_error([&] { make_dataset(e.train_dataset, "train_dataset"); });
    backbone_registry().make_resolved(backbone, where);  // a builder: nothing is trained or loaded
    if (backbone.at("name") == "torchscript") {
      const std::string path = backbone.value("path", std::string());
      if (path.empty()) throw ConfigError(where + ".path: the TorchScript file is not given");
      if (!std::filesystem::is_regular_file(path)) throw ConfigError(where + ".path: " + path + ": no such file");
    }
  }
  for (std::size_t i = 0; i < e.variants.size(); ++i)
    method_registry().make_resolved(method_config(e.variants[i]), "variants[" + std::to_string(i) + "]");
  for (std::size_t i = 0; i < e.metrics.size(); ++i)
    metric_registry().make_resolved(e.metrics[i], "metrics[" + std::to_string(i) + "]");
}

}  // namespace vdlab
