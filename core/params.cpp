#include "core/params.h"

#include "core/error.h"
#include "core/suggest.h"

#include <algorithm>

namespace vdlab {

std::string json_type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer";
    case Json::value_t::number_float: return "number";
    case Json::value_t::string: return "string";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::array: return "list";
    case Json::value_t::object: return "mapping";
    default: return "null";
  }
}

namespace {

std::string join_path(const std::string& path, const std::string& name) {
  return path.empty() ? name : path + "." + name;
}

// Whether `value` may stand where `def` is the default. Integers are accepted for numbers.
bool type_fits(const Json& def, const Json& value) {
  if (def.is_null() || value.is_null()) return true;
  if (def.is_number_float()) return value.is_number();
  if (def.is_number_integer() || def.is_number_unsigned()) return value.is_number_integer() || value.is_number_unsigned();
  return def.type() == value.type();
}

}  // namespace

Json resolve_nested(const Json& given, const ParamSpec& spec, const std::string& path) {
  Json value = given.is_string() ? Json{{"name", given}} : given;
  if (!value.is_object()) throw ConfigError(path + ": expected a name or a mapping, got " + json_type_name(value));
  if (!value.contains("name")) value["name"] = spec.default_value.at("name");
  if (!value.at("name").is_string()) throw ConfigError(path + ".name: expected string");
  const std::string entry = value.at("name").get<std::string>();
  // The spec's own default parameters apply only when the entry is the default one.
  Json params = value;
  params.erase("name");
  if (spec.default_value.is_object() && spec.default_value.value("name", "") == entry)
    for (auto it = spec.default_value.begin(); it != spec.default_value.end(); ++it)
      if (it.key() != "name" && !params.contains(it.key())) params[it.key()] = it.value();
  Json out = resolve_params(params, spec.nested(entry, path), path);
  out["name"] = entry;
  return out;
}

Json resolve_nested_list(const Json& given, const ParamSpec& spec, const std::string& path) {
  if (!given.is_array()) throw ConfigError(path + ": expected a list of {name: ..., ...}, got " + json_type_name(given));
  Json out = Json::array();
  for (std::size_t i = 0; i < given.size(); ++i) {
    const std::string where = path + "[" + std::to_string(i) + "]";
    Json value = given[i].is_string() ? Json{{"name", given[i]}} : given[i];
    if (!value.is_object()) throw ConfigError(where + ": expected a name or a mapping, got " + json_type_name(value));
    if (!value.contains("name") || !value.at("name").is_string()) throw ConfigError(where + ".name: missing");
    const std::string entry = value.at("name").get<std::string>();
    Json params = value;
    params.erase("name");
    Json resolved = resolve_params(params, spec.nested(entry, where + ".name"), where);
    resolved["name"] = entry;
    out.push_back(std::move(resolved));
  }
  return out;
}

Json resolve_params(const Json& given, const ParamSpecs& specs, const std::string& path,
                    const std::vector<std::string>& passthrough) {
  if (!given.is_null() && !given.is_object())
    throw ConfigError(path + ": expected a mapping, got " + json_type_name(given));
  Json out = Json::object();
  std::vector<std::string> known;
  for (const auto& s : specs) known.push_back(s.name);
  for (const auto& p : passthrough) known.push_back(p);

  if (given.is_object()) {
    for (auto it = given.begin(); it != given.end(); ++it) {
      const bool is_known = std::find(known.begin(), known.end(), it.key()) != known.end();
      if (!is_known)
        throw ConfigError(join_path(path, it.key()) + ": unknown field" + suggestion_suffix(it.key(), known));
    }
  }
  for (const auto& s : specs) {
    Json value = given.is_object() && given.contains(s.name) ? given.at(s.name) : s.default_value;
    if (s.nested && s.nested_list) {
      out[s.name] = resolve_nested_list(value, s, join_path(path, s.name));
      continue;
    }
    if (s.nested) {
      out[s.name] = resolve_nested(value, s, join_path(path, s.name));
      continue;
    }
    if (!type_fits(s.default_value, value))
      throw ConfigError(join_path(path, s.name) + ": expected " + json_type_name(s.default_value) + ", got " +
                        json_type_name(value) + " " + value.dump());
    if (!s.choices.empty() && value.is_string() &&
        std::find(s.choices.begin(), s.choices.end(), value.get<std::string>()) == s.choices.end())
      throw ConfigError(join_path(path, s.name) + ": '" + value.get<std::string>() + "' is not one of the choices" +
                        suggestion_suffix(value.get<std::string>(), s.choices));
    // Numbers whose default is a float are stored as floats, so 1 and 1.0 hash alike.
    out[s.name] = (s.default_value.is_number_float() && value.is_number()) ? Json(value.get<double>()) : value;
  }
  if (given.is_object())
    for (const auto& p : passthrough)
      if (given.contains(p)) out[p] = given.at(p);
  return out;
}

const Json& Params::at(const std::string& name) const {
  if (!values_.contains(name)) throw ConfigError(field(name) + ": missing field");
  return values_.at(name);
}

void Params::fail(const std::string& name, const std::string& message) const {
  throw ConfigError(field(name) + ": " + message);
}

void Params::type_error(const std::string& name, const Json& v) const {
  throw ConfigError(field(name) + ": value " + v.dump() + " has the wrong type (" + json_type_name(v) + ")");
}

}  // namespace vdlab
