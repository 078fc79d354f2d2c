#include "runners/yaml_json.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "core/error.h"

namespace vdlab {

namespace {

// Text the JSON values of an experiment can hold (and be hashed and saved as): UTF-8, checked as
// strictly as nlohmann::json's dump() checks it (no overlong forms, no surrogates, nothing past
// U+10FFFF), so that a Latin-1 file is one error naming its line instead of an exception from deep
// inside planning.
std::string not_utf8_where(const YAML::Node& node, const std::string& text, const std::string& origin) {
  if (valid_utf8(text)) return "";
  const auto m = node.Mark();
  return origin + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) +
         ": text that is not UTF-8 (save the file as UTF-8)";
}

Json scalar_to_json(const YAML::Node& node, const std::string& origin) {
  const std::string& s = node.Scalar();
  if (const std::string where = not_utf8_where(node, s, origin); !where.empty()) throw ConfigError(where);
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

// The most values a YAML document may expand to. Aliases share a node, so a few lines of anchors
// referring to anchors expand to billions of values ("billion laughs"); no experiment has 100,000.
constexpr std::size_t kMaxValues = 100000;

// The deepest nesting converted (recursively): an alias inside its own anchor (`a: &a [*a]`) is a cycle.
constexpr int kMaxDepth = 256;

Json to_json(const YAML::Node& node, const std::string& origin, std::size_t& values, int depth = 0) {
  if (++values > kMaxValues || depth > kMaxDepth) {
    const auto m = node.Mark();
    throw ConfigError(origin + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) +
                      (depth > kMaxDepth ? ": nested more than " + std::to_string(kMaxDepth) +
                                               " levels deep (an alias inside its own anchor?)"
                                         : ": the document expands to more than " + std::to_string(kMaxValues) +
                                               " values (aliases of aliases?)"));
  }
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Scalar: return scalar_to_json(node, origin);
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& item : node) out.push_back(to_json(item, origin, values, depth + 1));
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
        if (const std::string where = not_utf8_where(kv.first, key, origin); !where.empty()) throw ConfigError(where);
        if (out.contains(key)) {
          const auto m = kv.first.Mark();
          throw ConfigError(origin + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) +
                            ": duplicate key '" + key + "'");
        }
        out[key] = to_json(kv.second, origin, values, depth + 1);
      }
      return out;
    }
  }
  return nullptr;
}

}  // namespace

bool valid_utf8(const std::string& text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // Lead byte: sequence length and the allowed range of the second byte (Unicode, Table 3-7).
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, lo = 0xA0;
    else if (c >= 0xE1 && c <= 0xEC) len = 3;
    else if (c == 0xED) len = 3, hi = 0x9F;
    else if (c >= 0xEE && c <= 0xEF) len = 3;
    else if (c == 0xF0) len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) len = 4, hi = 0x8F;
    else return false;
    if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) return false;
    for (std::size_t k = 2; k < len; ++k)
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return false;
    i += len;
  }
  return true;
}

Json parse_yaml(const std::string& text, const std::string& origin) {
  try {
    std::size_t values = 0;
    return to_json(YAML::Load(text), origin, values);
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
