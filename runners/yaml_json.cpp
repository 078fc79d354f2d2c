#include "runners/yaml_json.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "core/error.h"

namespace vdlab {

namespace {

Json scalar_to_json(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;  // quoted: always a string
  static const std::regex int_re(R"([-+]?[0-9]+)");
  static const std::regex float_re(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (std::regex_match(s, int_re)) {
    try {
      return std::stoll(s);
    } catch (const std::out_of_range&) {
      return std::stod(s);
    }
  }
  if (std::regex_match(s, float_re)) return std::stod(s);
  if (s == ".inf" || s == "+.inf") return std::numeric_limits<double>::infinity();
  if (s == "-.inf") return -std::numeric_limits<double>::infinity();
  if (s == ".nan") return std::numeric_limits<double>::quiet_NaN();
  return s;
}

Json to_json(const YAML::Node& node, const std::string& origin) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Scalar: return scalar_to_json(node);
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& item : node) out.push_back(to_json(item, origin));
      return out;
    }
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
          const auto m = kv.first.Mark();
          throw ConfigError(origin + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) +
                            ": mapping keys must be plain names");
        }
        const std::string key = kv.first.Scalar();
        if (out.contains(key)) {
          const auto m = kv.first.Mark();
          throw ConfigError(origin + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) +
                            ": duplicate key '" + key + "'");
        }
        out[key] = to_json(kv.second, origin);
      }
      return out;
    }
  }
  return nullptr;
}

}  // namespace

Json parse_yaml(const std::string& text, const std::string& origin) {
  try {
    return to_json(YAML::Load(text), origin);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(origin + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                      ": malformed YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin + ": malformed YAML: " + e.msg);
  }
}

Json load_yaml_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot open experiment file");  // bad input: exit code 2
  std::stringstream buf;
  buf << in.rdbuf();
  return parse_yaml(buf.str(), path);
}

}  // namespace vdlab
