#pragma once
// Declared parameters of a registered entry, and the checked view a factory reads them through.
//
// Every registry entry (a method, a sampler, a dataset, ...) declares its parameters with defaults and a
// one-line help. `resolve_params` fills in defaults, rejects unknown fields with the closest names and
// checks each value's type against its default, naming the field path at fault. The resolved object is
// what goes into a cell's canonical config, so defaults are part of every result's provenance.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vdlab {

using Json = nlohmann::json;

struct ParamSpec;
using ParamSpecs = std::vector<ParamSpec>;

struct ParamSpec {
  std::string name;
  Json default_value;  // its JSON type is the parameter's type; null accepts anything
  std::string help;
  std::vector<std::string> choices;  // when not empty, the value must be one of these strings
  // A nested registry entry ("sampler: {name: unipc, steps: 20}"): given the entry's name and the
  // field path, returns that entry's parameters (or throws for an unknown name). The value is then
  // resolved recursively, and a bare string stands for {name: <string>}. Set by Registry::nested_param.
  std::function<const ParamSpecs&(const std::string& entry, const std::string& path)> nested;
  // With `nested`: the value is a list of such entries ("hooks: [{name: edit-probe, step: 3}]"), each
  // resolved in turn; the default is an empty list. Set by Registry::nested_list_param.
  bool nested_list = false;
};

// Defaults filled in, unknown fields and wrong types rejected. `path` names the object in errors
// ("variants[1].sampler"). Fields in `passthrough` are left for the caller and not checked here.
Json resolve_params(const Json& given, const ParamSpecs& specs, const std::string& path,
                    const std::vector<std::string>& passthrough = {});

// A nested entry's value ({name: ..., params...} or a bare name) resolved against its registry.
Json resolve_nested(const Json& given, const ParamSpec& spec, const std::string& path);

// A list of nested entries, each {name: ..., params...} or a bare name, resolved against its registry.
Json resolve_nested_list(const Json& given, const ParamSpec& spec, const std::string& path);

// A resolved parameter object with the path it came from, for readable errors in factories.
class Params {
 public:
  Params() = default;
  Params(Json values, std::string path) : values_(std::move(values)), path_(std::move(path)) {}

  template <class T>
  T get(const std::string& name) const {
    const Json& v = at(name);
    try {
      return v.get<T>();
    } catch (const std::exception&) {
      type_error(name, v);
    }
  }
  bool has(const std::string& name) const { return values_.contains(name) && !values_.at(name).is_null(); }
  const Json& at(const std::string& name) const;
  const Json& json() const { return values_; }
  const std::string& path() const { return path_; }
  std::string field(const std::string& name) const { return path_.empty() ? name : path_ + "." + name; }
  // A ConfigError "<path>.<name>: <message>".
  [[noreturn]] void fail(const std::string& name, const std::string& message) const;

 private:
  [[noreturn]] void type_error(const std::string& name, const Json& v) const;
  Json values_ = Json::object();
  std::string path_;
};

// "integer", "number", "string", "boolean", "list", "mapping", "null".
std::string json_type_name(const Json& v);

}  // namespace vdlab
