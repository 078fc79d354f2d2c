#pragma once
// One rule for turning a name (a variant label, a metric key) into a file name: letters, digits and
// - _ . = + stay, anything else becomes '_'.
#include <cctype>
#include <string>

namespace vdlab {

inline std::string file_safe(const std::string& name) {
  std::string out = name;
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != '=' && c != '+') c = '_';
  return out;
}

}  // namespace vdlab
