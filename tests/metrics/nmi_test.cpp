// NMI against scikit-learn's geometric NMI on the same binned labels (fixture from metrics_nmi.py).
#include <gtest/gtest.h>

#include <cmath>

#include "fixture_support.h"
#include "metrics/nmi.h"

namespace vdlab {
namespace {

TEST(Nmi, MatchesScikitLearnOnBinnedArrays) {
  const Json ref = test::read_json(test::metrics_fixture("nmi_reference.json"));
  ASSERT_GE(ref.at("cases").size(), 5u);
  for (const Json& c : ref.at("cases")) {
    const int n = c.at("n");
    std::vector<double> x(n), y(n);
    for (int i = 0; i < n; ++i) {
      x[i] = test::counter_uniform(c.at("seed_x"), i);
      const double noise = test::counter_uniform(c.at("seed_noise"), i);
      y[i] = c.at("a").get<double>() * x[i] + c.at("b").get<double>() * noise;
    }
    const NmiBinning binning{c.at("bins").get<int>(), c.at("lo").get<double>(), c.at("hi").get<double>()};
    const double value = nmi(x, y, binning);
    EXPECT_NEAR(value, c.at("nmi").get<double>(), 1e-12) << c.at("name");
  }
}

TEST(Nmi, SpecialCasesFollowScikitLearn) {
  EXPECT_DOUBLE_EQ(nmi_labels({0, 0, 1, 1}, {1, 1, 0, 0}), 1.0);
  EXPECT_DOUBLE_EQ(nmi_labels({0, 0, 0, 0}, {0, 1, 2, 3}), 0.0);
  EXPECT_DOUBLE_EQ(nmi_labels({3, 3, 3}, {5, 5, 5}), 1.0);
  EXPECT_DOUBLE_EQ(nmi_labels({}, {}), 1.0);
  EXPECT_THROW(nmi_labels({0, 1}, {0}), ConfigError);
}

TEST(Nmi, BinsAreFixedAndClamped) {
  const NmiBinning b;  // 64 bins over [-1, 1]
  EXPECT_EQ(nmi_bin(-1.0, b), 0);
  EXPECT_EQ(nmi_bin(-5.0, b), 0);
  EXPECT_EQ(nmi_bin(1.0, b), 63);
  EXPECT_EQ(nmi_bin(7.0, b), 63);
  EXPECT_EQ(nmi_bin(0.0, b), 32);
  EXPECT_EQ(nmi_bin(-1.0 + 2.0 / 64 * 0.5, b), 0);
  EXPECT_THROW(nmi_bin(std::nan(""), b), NumericError);
  // Distinct raw values would all be distinct labels; binned, a tiny perturbation changes nothing.
  std::vector<double> x, y;
  for (int i = 0; i < 100; ++i) {
    x.push_back(test::counter_uniform(1, i) * 0.9);
    y.push_back(x.back() + 1e-9);
  }
  EXPECT_GT(nmi(x, y), 0.99);
}

}  // namespace
}  // namespace vdlab
