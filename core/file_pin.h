#pragma once
// A file's SHA-256 pinned in a config (`sha256: <64 hex digits>`, as `sha256sum FILE` prints it). A
// TorchScript file is code, so a backbone or an extractor may pin the exact file it loads.
#include <string>

namespace vdlab {

// Returns the pin in lower case, "" for an empty value (nothing pinned). Anything but the full 64 hex
// digits (a prefix, a "sha256:" tag) is a ConfigError naming `where`: a prefix would let another file
// through.
std::string parse_sha256_pin(const std::string& value, const std::string& where);

// The one-line refusal of a pinned file whose bytes hash to something else: ConfigError
// "<where>: <path>: SHA-256 mismatch: expected <pin>, actual <actual> (...)". Does nothing when `pin`
// is empty or equal to `actual`.
void require_sha256_pin(const std::string& path, const std::string& actual, const std::string& pin,
                        const std::string& where);

// A whole file and the SHA-256 of exactly those bytes. Code that loads what it verified loads from
// `bytes`, so the file cannot change between the check and the load.
struct VerifiedFile {
  std::string bytes;
  std::string sha256;
};
// Reads `path` (IoError naming it when unreadable) and refuses it with require_sha256_pin when `pin`
// is given and does not match.
VerifiedFile read_verified_file(const std::string& path, const std::string& pin, const std::string& where);

}  // namespace vdlab
