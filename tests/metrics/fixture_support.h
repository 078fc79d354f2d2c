#pragma once
// Helpers shared by the metrics tests: fixture paths and the counter-based generator that the
// reference scripts (scripts/reference/metrics_frechet.py) use, reproduced bit for bit.
#include <Eigen/Dense>
#include <cstdint>
#include <fstream>
#include <string>

#include "core/error.h"
#include "core/params.h"

namespace vdlab::test {

inline std::string metrics_fixture(const std::string& name) {
  return std::string(VDLAB_SOURCE_DIR) + "/tests/fixtures/metrics/" + name;
}

inline Json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return Json::parse(in);
}

// value k of stream `seed`: 2 * (mix64((seed << 40) ^ k) >> 11) / 2^53 - 1, in [-1, 1).
inline double counter_uniform(std::uint64_t seed, std::uint64_t k) {
  std::uint64_t z = (seed << 40) ^ k;
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return 2.0 * (double(z >> 11) * 0x1.0p-53) - 1.0;
}

// [rows, cols] filled row-major from stream `seed` (as numpy's reshape does).
inline Eigen::MatrixXd counter_matrix(std::uint64_t seed, int rows, int cols) {
  Eigen::MatrixXd m(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) m(i, j) = counter_uniform(seed, std::uint64_t(i) * cols + j);
  return m;
}

}  // namespace vdlab::test
