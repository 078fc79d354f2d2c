// Pinned file hashes (`sha256: <64 hex digits>` on a TorchScript backbone or an extractor): only the full
// hash is accepted, and a different file is refused in one line naming it and both hashes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/file_pin.h"
#include "core/hash.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;

std::string scratch_file(const std::string& name, const std::string& bytes) {
  const fs::path dir = fs::temp_directory_path() / ("vdlab-hash-pin-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

const std::string kAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";  // SHA-256 of "abc"

TEST(HashPin, TakesTheFullHashInEitherCase) {
  EXPECT_EQ(parse_sha256_pin(kAbc, "backbone.sha256"), kAbc);
  std::string upper = kAbc;
  for (char& c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(parse_sha256_pin(upper, "backbone.sha256"), kAbc);
  EXPECT_EQ(parse_sha256_pin("", "backbone.sha256"), "");  // nothing pinned
}

TEST(HashPin, RefusesAPrefixOrATaggedForm) {
  for (const std::string& bad : {kAbc.substr(0, 12), kAbc + "0", "sha256:" + kAbc, kAbc.substr(0, 63) + "g", std::string("yes")}) {
    try {
      parse_sha256_pin(bad, "metrics[0].sha256");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const ConfigError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind("metrics[0].sha256: '" + bad + "'", 0), 0u) << msg;
      EXPECT_NE(msg.find("all 64 hex digits"), std::string::npos) << msg;
    }
  }
}

TEST(HashPin, AnotherFileIsOneLineNamingItAndBothHashes) {
  const std::string path = scratch_file("abc.pt", "abc");
  const VerifiedFile ok = read_verified_file(path, kAbc, "backbone.sha256");
  EXPECT_EQ(ok.bytes, "abc");
  EXPECT_EQ(ok.sha256, kAbc);
  EXPECT_EQ(read_verified_file(path, "", "backbone.sha256").sha256, kAbc);  // unpinned: read and hashed

  const std::string other = scratch_file("other.pt", "abd");
  try {
    read_verified_file(other, kAbc, "backbone.sha256");
    FAIL() << "a different file was accepted";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind("backbone.sha256: " + other + ": SHA-256 mismatch: expected " + kAbc + ", actual " +
                            sha256_file(other), 0),
              0u)
        << msg;
  }
  EXPECT_THROW(read_verified_file(path + ".missing", kAbc, "backbone.sha256"), IoError);
}

}  // namespace
}  // namespace vdlab
