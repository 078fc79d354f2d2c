#pragma once
// Content hashes: SHA-256 (OpenSSL) of bytes and files, and the canonical hash of a JSON config.
#include <cstdint>
#include <string>

#include "core/params.h"

namespace vdlab {

std::string sha256_hex(const void* data, std::size_t size);
std::string sha256_hex(const std::string& bytes);
// Streams the file; throws IoError naming it when it cannot be read.
std::string sha256_file(const std::string& path);

// Incremental SHA-256, for hashing a dataset split clip by clip.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, std::size_t size);
  void update(const std::string& s) { update(s.data(), s.size()); }
  std::string hex();  // finishes the hash

 private:
  void* ctx_;
};

// Canonical text of a config: keys sorted, no whitespace, numbers in shortest round-trip form. It does
// not depend on key order, YAML formatting or the machine.
std::string canonical_json(const Json& config);
// The first 16 hex digits of the SHA-256 of the canonical text.
std::string config_hash(const Json& config);

}  // namespace vdlab
