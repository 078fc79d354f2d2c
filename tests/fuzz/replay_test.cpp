// Every committed fuzz input, replayed through the fuzz targets' own functions in the regular build:
// the seed corpus (fuzz/corpus/<target>/) and each crash libFuzzer found (fuzz/regressions/<target>/),
// so a fixed crash stays fixed without clang or libFuzzer.
#include <gtest/gtest.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "fuzz/targets.h"

namespace vdlab::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().filename() != "README.md") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::uint8_t> bytes_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class FuzzReplayTest : public ::testing::TestWithParam<Target> {};

TEST_P(FuzzReplayTest, CorpusAndRegressionsGiveAResultOrAClearError) {
  const Target& target = GetParam();
  const fs::path root = fs::path(VDLAB_SOURCE_DIR) / "fuzz";
  const auto corpus = files_in(root / "corpus" / target.name);
  ASSERT_FALSE(corpus.empty()) << "no seed corpus in " << (root / "corpus" / target.name);
  auto inputs = corpus;
  const auto regressions = files_in(root / "regressions" / target.name);
  inputs.insert(inputs.end(), regressions.begin(), regressions.end());
  for (const auto& path : inputs) {
    const auto data = bytes_of(path);
    try {
      target.run(data.data(), data.size());
    } catch (const std::exception& e) {
      ADD_FAILURE() << path << ": " << e.what();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzReplayTest, ::testing::ValuesIn(targets()),
                         [](const ::testing::TestParamInfo<Target>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace vdlab::fuzz
