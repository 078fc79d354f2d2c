#pragma once
// Replays every committed input of a fuzz target through its function (fuzz/targets.h): the seed corpus
// fuzz/corpus/<target>/ and each crash libFuzzer found, fuzz/regressions/<target>/, so that a fixed
// crash stays fixed in the regular build, without clang or libFuzzer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace vdlab::test {

inline void replay_fuzz_inputs(const std::string& target, void (*run)(const std::uint8_t*, std::size_t)) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(VDLAB_SOURCE_DIR) / "fuzz";
  auto files_in = [](const fs::path& dir) {
    std::vector<fs::path> out;
    if (fs::is_directory(dir))
      for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file() && e.path().filename() != "README.md") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  };
  auto inputs = files_in(root / "corpus" / target);
  ASSERT_FALSE(inputs.empty()) << "no seed corpus in " << (root / "corpus" / target);
  for (const auto& path : files_in(root / "regressions" / target)) inputs.push_back(path);
  for (const auto& path : inputs) {
    std::ifstream in(path, std::ios::binary);
    const std::vector<std::uint8_t> data{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    // The function swallows vdlab's errors: anything that reaches here broke the contract.
    try {
      run(data.data(), data.size());
    } catch (const std::exception& e) {
      ADD_FAILURE() << path << ": " << e.what();
    }
  }
}

}  // namespace vdlab::test
