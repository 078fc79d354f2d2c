#pragma once
// YAML experiment files as JSON values. YAML scalars are typed by YAML 1.2's core schema (quoted
// scalars are always strings), so `steps: 20` is an integer and `steps: "20"` a string.
#include <string>

#include "core/params.h"

namespace vdlab {

// Throws ConfigError "FILE:LINE:COLUMN: message" for malformed YAML, IoError for a missing file.
Json load_yaml_file(const std::string& path);
// Whether `text` is well-formed UTF-8 (what a JSON value of an experiment must hold).
bool valid_utf8(const std::string& text);
// `origin` names the text in errors (a file name, "override 'a.b=...'").
Json parse_yaml(const std::string& text, const std::string& origin);

}  // namespace vdlab
