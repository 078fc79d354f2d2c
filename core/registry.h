#pragma once
// A registry per kind (datasets, methods, samplers, noise inits, metrics, backbones): name to factory.
// Duplicate names are rejected; unknown names are answered with the closest registered names.
// Entries are added by explicit register_builtin_*() calls, never by static initialisers, which the
// linker drops from static libraries.
#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/params.h"
#include "core/suggest.h"

namespace vdlab {

template <class Product>
class Registry {
 public:
  using Factory = std::function<Product(const Params&)>;
  struct Entry {
    std::string name;
    std::string description;  // one line, shown by `vdlab list`
    ParamSpecs params;
    Factory make;
    // Optional: resolves parameters deeper than `params` declares (nested recipes whose defaults belong
    // in the cell's config and hash). Default: resolve_params against `params`.
    std::function<Json(const Json& given, const std::string& path)> resolve = nullptr;
  };

  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  void add(Entry entry) {
    if (entries_.count(entry.name)) throw Error(kind_ + " '" + entry.name + "' is registered twice");
    std::string name = entry.name;
    entries_.emplace(std::move(name), std::move(entry));
  }

  bool contains(const std::string& name) const { return entries_.count(name) > 0; }

  // `where` names the config field that asked for it, for the error message.
  const Entry& get(const std::string& name, const std::string& where = "") const {
    auto it = entries_.find(name);
    if (it == entries_.end())
      throw ConfigError((where.empty() ? "" : where + ": ") + "unknown " + kind_ + " '" + name + "'" +
                        suggestion_suffix(name, names()));
    return it->second;
  }

  // Resolve parameters (defaults, unknown fields, types) and build.
  Product make(const std::string& name, const Json& given, const std::string& path) const {
    const Entry& e = get(name, path);
    return e.make(Params(e.resolve ? e.resolve(given, path) : resolve_params(given, e.params, path), path));
  }

  // A parameter whose value names one of this registry's entries with its own parameters, resolved
  // recursively: `nested_param("sampler", {{"name","unipc"},{"steps",20}}, "how to step")`.
  ParamSpec nested_param(std::string param, Json default_value, std::string help) const {
    ParamSpec spec{std::move(param), std::move(default_value), std::move(help), {}, {}};
    spec.nested = [this](const std::string& entry, const std::string& path) -> const ParamSpecs& {
      return get(entry, path).params;
    };
    return spec;
  }

  // A parameter whose value is a list of this registry's entries, each with its own parameters
  // (`hooks: [{name: edit-probe, step: 3}]`); the default is the empty list.
  ParamSpec nested_list_param(std::string param, std::string help) const {
    ParamSpec spec = nested_param(std::move(param), Json::array(), std::move(help));
    spec.nested_list = true;
    return spec;
  }

  // {name: ..., params...} with defaults filled in and every field checked; "name" is kept.
  Json resolve(const Json& config, const std::string& path) const {
    if (!config.is_object() || !config.contains("name") || !config.at("name").is_string())
      throw ConfigError(path + ".name: missing (one of: " + join_names() + ")");
    const std::string name = config.at("name").get<std::string>();
    Json params = config;
    params.erase("name");
    const Entry& e = get(name, path + ".name");
    Json out = e.resolve ? e.resolve(params, path) : resolve_params(params, e.params, path);
    out["name"] = name;
    return out;
  }

  // Build from a value already resolved (by resolve_params or resolve_nested), with its "name".
  Product make_resolved(const Json& resolved, const std::string& path) const {
    const std::string name = resolved.at("name").get<std::string>();
    Json params = resolved;
    params.erase("name");
    return get(name, path).make(Params(std::move(params), path));
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& kv : entries_) out.push_back(kv.first);
    return out;
  }
  std::string join_names() const {
    std::string out;
    for (const auto& kv : entries_) out += (out.empty() ? "" : ", ") + kv.first;
    return out;
  }
  const std::map<std::string, Entry>& entries() const { return entries_; }
  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
  std::map<std::string, Entry> entries_;
};

}  // namespace vdlab
