#include "core/file_pin.h"

#include <cctype>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/hash.h"

namespace vdlab {

std::string parse_sha256_pin(const std::string& value, const std::string& where) {
  if (value.empty()) return "";
  std::string pin;
  for (char c : value) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      pin.clear();
      break;
    }
    pin += char(std::tolower(static_cast<unsigned char>(c)));
  }
  if (pin.size() != 64)
    throw ConfigError(where + ": '" + value + "' is not a SHA-256: give all 64 hex digits, as `sha256sum FILE` prints "
                      "them (a prefix or a tagged form is refused)");
  return pin;
}

void require_sha256_pin(const std::string& path, const std::string& actual, const std::string& pin,
                        const std::string& where) {
  if (pin.empty() || actual == pin) return;
  throw ConfigError(where + ": " + path + ": SHA-256 mismatch: expected " + pin + ", actual " + actual +
                    " (the file is not the one pinned; nothing was loaded)");
}

VerifiedFile read_verified_file(const std::string& path, const std::string& pin, const std::string& where) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open for reading");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) throw IoError(path + ": read error");
  VerifiedFile f{bytes.str(), ""};
  f.sha256 = sha256_hex(f.bytes);
  require_sha256_pin(path, f.sha256, pin, where);
  return f;
}

}  // namespace vdlab
