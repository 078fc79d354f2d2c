#include "results/bootstrap.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace vdlab {
namespace {

TEST(BootstrapTest, SplitMix64MatchesTheReferenceStream) {
  // splitmix64_stream(0, 3) and splitmix64_stream(12345, 2) of scripts/reference/compare_bootstrap.py
  // (the first three for seed 0 are also the published values of Vigna's splitmix64.c).
  SplitMix64 a(0);
  EXPECT_EQ(a.next(), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(a.next(), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(a.next(), 0x06c45d188009454fULL);
  SplitMix64 b(12345);
  EXPECT_EQ(b.next(), 0x22118258a9d111a0ULL);
  EXPECT_EQ(b.next(), 0x346edce5f713f8edULL);
}

TEST(BootstrapTest, LinearQuantileIsNumpysDefault) {
  // numpy.quantile([1, 2, 3, 4], [0.1, 0.975]) = [1.3, 3.925]
  EXPECT_NEAR(linear_quantile({1, 2, 3, 4}, 0.1), 1.3, 1e-12);
  EXPECT_NEAR(linear_quantile({1, 2, 3, 4}, 0.975), 3.925, 1e-12);
  EXPECT_DOUBLE_EQ(linear_quantile({5}, 0.5), 5);
}

TEST(BootstrapTest, MatchesTheNumpyReferenceOnASmallCase) {
  // paired_bootstrap([[1, 2, 4], [0.5, -1, 3]], 1000, 0.9, 42) of scripts/reference/compare_bootstrap.py
  const BootstrapInterval ci = paired_bootstrap({{1.0, 2.0, 4.0}, {0.5, -1.0, 3.0}}, 1000, 0.9, 42);
  EXPECT_NEAR(ci.estimate, 1.5833333333333335, 1e-12);
  EXPECT_NEAR(ci.low, 0.16666666666666669, 1e-12);
  EXPECT_NEAR(ci.high, 2.8333333333333335, 1e-12);
}

TEST(BootstrapTest, SameSeedSameIntervalAndTheIntervalHoldsTheEstimate) {
  const std::vector<std::vector<double>> groups = {{0.1, 0.3, -0.2, 0.4}, {0.2, 0.0, 0.5, 0.1}, {0.3, 0.2, 0.1, -0.1}};
  const auto a = paired_bootstrap(groups, 500, 0.95, 3), b = paired_bootstrap(groups, 500, 0.95, 3);
  const auto c = paired_bootstrap(groups, 500, 0.95, 4);
  EXPECT_EQ(a.low, b.low);
  EXPECT_EQ(a.high, b.high);
  EXPECT_TRUE(a.low != c.low || a.high != c.high);
  EXPECT_LE(a.low, a.estimate);
  EXPECT_GE(a.high, a.estimate);
}

TEST(BootstrapTest, IdenticalDifferencesGiveAZeroWidthInterval) {
  const auto ci = paired_bootstrap({{2.0, 2.0}, {2.0, 2.0}}, 200, 0.95, 0);
  EXPECT_DOUBLE_EQ(ci.low, 2.0);
  EXPECT_DOUBLE_EQ(ci.high, 2.0);
}

TEST(BootstrapTest, RejectsEmptyInput) {
  EXPECT_THROW(paired_bootstrap({}, 100, 0.95, 0), std::invalid_argument);
  EXPECT_THROW(paired_bootstrap({{}}, 100, 0.95, 0), std::invalid_argument);
  EXPECT_THROW(paired_bootstrap({{1.0}}, 100, 1.0, 0), std::invalid_argument);
}

}  // namespace
}  // namespace vdlab
