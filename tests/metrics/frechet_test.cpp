// Fréchet distance against scipy sqrtm fixtures, its identities, and running-statistics merging.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "fixture_support.h"
#include "metrics/extractors/extractor.h"
#include "metrics/frechet.h"

namespace vdlab {
namespace {

using test::counter_matrix;
using test::counter_uniform;

struct CaseFeatures {
  Eigen::MatrixXd a, b;
};

// The recipe's two feature sets, as scripts/reference/metrics_frechet.py builds them.
CaseFeatures case_features(const Json& c) {
  const int d = c.at("dim"), r = c.at("rank");
  const double scale = 1.0 / std::sqrt(double(r));
  const Eigen::MatrixXd mix = counter_matrix(c.at("seed_mix"), r, d) * scale;
  const Eigen::MatrixXd mix_b = mix + c.at("mix_b").get<double>() * (counter_matrix(c.at("seed_mix_b"), r, d) * scale);
  const Eigen::MatrixXd ga = counter_matrix(c.at("seed_a"), c.at("n_a"), r);
  const Eigen::MatrixXd gb = counter_matrix(c.at("seed_b"), c.at("n_b"), r);
  Eigen::RowVectorXd mean_b(d);
  for (int j = 0; j < d; ++j) mean_b[j] = c.at("shift").get<double>() * counter_uniform(c.at("seed_b").get<int>() + 1000, j);
  CaseFeatures f;
  f.a = ga * mix;
  f.b = (gb * mix_b).rowwise() + mean_b;
  return f;
}

Json find_case(const std::string& name) {
  const Json cases = test::read_json(test::metrics_fixture("frechet_cases.json"));
  for (const Json& c : cases.at("cases"))
    if (c.at("name") == name) return c;
  throw std::runtime_error("no Frechet case " + name);
}

double scipy_value(const std::string& name) {
  return test::read_json(test::metrics_fixture("frechet_reference.json")).at("values").at(name).get<double>();
}

void expect_matches_scipy(const std::string& name) {
  const CaseFeatures f = case_features(find_case(name));
  FeatureStats a(int(f.a.cols())), b(int(f.b.cols()));
  a.add(f.a);
  b.add(f.b);
  const FrechetResult r = frechet_distance(a, b, CovarianceEstimator::unbiased);
  const double ref = scipy_value(name);
  const double rel = std::abs(r.value - ref) / std::abs(ref);
  testing::Test::RecordProperty("relative_difference", std::to_string(rel));
  std::printf("[ %s ] vdlab %.15g scipy %.15g relative difference %.3e\n", name.c_str(), r.value, ref, rel);
  EXPECT_LT(rel, 1e-6) << name;
  EXPECT_FALSE(r.retried);
}

TEST(FrechetReference, Dim16MatchesScipy) { expect_matches_scipy("dim16"); }
TEST(FrechetReference, Dim400MatchesScipy) { expect_matches_scipy("dim400"); }
TEST(FrechetReference, RankDeficientMatchesScipy) { expect_matches_scipy("dim128_rank40"); }
TEST(FrechetSlow, Dim2048MatchesScipy) { expect_matches_scipy("dim2048"); }

// The Cholesky route (S1 positive definite) and the symmetric route compute the same trace to 1e-10
// relative on every committed fixture whose first covariance is positive definite; the rank-deficient
// one falls back to the symmetric route and says which route ran.
TEST(FrechetRoutes, CholeskyEqualsSymmetricOnTheFixtures) {
  for (const std::string name : {"dim16", "dim400", "dim128_rank40"}) {
    const CaseFeatures f = case_features(find_case(name));
    FeatureStats a(int(f.a.cols())), b(int(f.b.cols()));
    a.add(f.a);
    b.add(f.b);
    const Eigen::MatrixXd s1 = a.covariance(CovarianceEstimator::unbiased);
    const Eigen::MatrixXd s2 = b.covariance(CovarianceEstimator::unbiased);
    const double symmetric = trace_sqrt_product_symmetric(s1, s2);
    const char* route = "";
    const double chosen = trace_sqrt_product(s1, s2, &route);
    if (name == "dim128_rank40") {
      EXPECT_TRUE(std::isnan(trace_sqrt_product_cholesky(s1, s2))) << "rank 40 of 128 is not positive definite";
      EXPECT_STREQ(route, "symmetric");
      EXPECT_EQ(chosen, symmetric);
    } else {
      EXPECT_STREQ(route, "cholesky") << name;
      EXPECT_LT(std::abs(chosen - symmetric) / std::abs(symmetric), 1e-10) << name;
    }
  }
}

// Above 256 dimensions the Cholesky route reduces S2 panel by panel (frechet.cpp); 700 takes two whole
// panels and a partial one. Both routes still agree to 1e-10 on well-conditioned covariances of 1000
// vectors whose scales differ by dimension.
TEST(FrechetRoutes, CholeskyEqualsSymmetricAcrossPanels) {
  const int d = 700, n = 1000;
  Eigen::MatrixXd xa = counter_matrix(11, n, d), xb = counter_matrix(12, n, d);
  for (int j = 0; j < d; ++j) {
    xa.col(j) *= 1.0 + 0.01 * j;
    xb.col(j) *= 2.0 - 0.001 * j;
  }
  FeatureStats a(d), b(d);
  a.add(xa);
  b.add(xb);
  const Eigen::MatrixXd s1 = a.covariance(CovarianceEstimator::unbiased);
  const Eigen::MatrixXd s2 = b.covariance(CovarianceEstimator::unbiased);
  const double cholesky = trace_sqrt_product_cholesky(s1, s2);
  const double symmetric = trace_sqrt_product_symmetric(s1, s2);
  EXPECT_GT(symmetric, 1.0);
  EXPECT_LT(std::abs(cholesky - symmetric) / symmetric, 1e-10);
}

TEST(Frechet, SetAgainstItselfIsZero) {
  const CaseFeatures f = case_features(find_case("dim400"));
  FeatureStats a(400);
  a.add(f.a);
  const FrechetResult r = frechet_distance(a, a, CovarianceEstimator::biased);
  EXPECT_GT(r.trace1, 1.0);  // not trivially zero
  EXPECT_NEAR(r.value, 0.0, 1e-8);
}

TEST(Frechet, DiagonalClosedForm) {
  const int d = 32;
  Eigen::VectorXd mu1(d), mu2(d), da(d), db(d);
  for (int i = 0; i < d; ++i) {
    mu1[i] = counter_uniform(5, i);
    mu2[i] = counter_uniform(6, i);
    da[i] = 1.5 + counter_uniform(7, i);  // positive
    db[i] = 1.5 + counter_uniform(8, i);
  }
  double expected = (mu1 - mu2).squaredNorm();
  for (int i = 0; i < d; ++i) expected += std::pow(std::sqrt(da[i]) - std::sqrt(db[i]), 2);
  const FrechetResult r = frechet_distance(mu1, Eigen::MatrixXd(da.asDiagonal()), mu2, Eigen::MatrixXd(db.asDiagonal()));
  EXPECT_NEAR(r.value, expected, 1e-12 * expected);
}

TEST(Frechet, SingularCovarianceAgainstZero) {
  // Tr((S 0)^(1/2)) = 0, so FD = |mu1 - mu2|^2 + Tr(S).
  Eigen::MatrixXd g = counter_matrix(9, 6, 3);
  Eigen::MatrixXd s = g * g.transpose();  // rank 3
  Eigen::VectorXd mu = Eigen::VectorXd::Zero(6);
  const FrechetResult r = frechet_distance(mu, s, mu, Eigen::MatrixXd::Zero(6, 6));
  EXPECT_NEAR(r.value, s.trace(), 1e-12 * s.trace());
}

TEST(Frechet, NonFiniteStatisticsAreNamedErrorsNotValues) {
  const Eigen::MatrixXd good = Eigen::MatrixXd::Identity(4, 4);
  const Eigen::VectorXd zero = Eigen::VectorXd::Zero(4);
  Eigen::MatrixXd nan = good;
  nan(1, 1) = std::numeric_limits<double>::quiet_NaN();
  auto message = [](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const NumericError& e) {
      return e.what();
    }
    return "no NumericError";
  };
  EXPECT_EQ(message([&] { frechet_distance(zero, nan, zero, good); }),
            "Frechet covariance: the first set's covariance has 1 non-finite values of 16; no distance is computed "
            "from it");
  // As the FID metric names them: the stage and the set.
  FrechetOptions fid;
  fid.stage = "FID";
  fid.first = "real set";
  fid.second = "generated set";
  Eigen::MatrixXd inf = good;
  inf(0, 2) = inf(2, 0) = std::numeric_limits<double>::infinity();
  EXPECT_EQ(message([&] { frechet_distance(zero, good, zero, inf, fid); }),
            "FID covariance: the generated set's covariance has 2 non-finite values of 16; no distance is computed "
            "from it");
  Eigen::VectorXd mean = zero;
  mean[3] = -std::numeric_limits<double>::infinity();
  EXPECT_EQ(message([&] { frechet_distance(mean, good, zero, good, fid); }),
            "FID mean: the real set's mean has 1 non-finite values of 4; no distance is computed from it");
}

TEST(Frechet, StatisticsFromNonFiniteFeaturesAreRefused) {
  // What FID and FVD do with a batch of features before adding it to their running statistics.
  Features f;
  f.rows = 2;
  f.cols = 3;
  f.data = {0.f, 1.f, std::numeric_limits<float>::quiet_NaN(), 2.f, std::numeric_limits<float>::infinity(), 3.f};
  try {
    require_finite_features(f, "FVD features", "i3d on a batch of generated videos");
    FAIL() << "no error";
  } catch (const NumericError& e) {
    EXPECT_STREQ(e.what(), "FVD features: 2 of 6 feature values are NaN or Inf (i3d on a batch of generated videos); "
                           "no metric is computed from them");
  }
  f.data[2] = f.data[4] = 0.f;
  EXPECT_NO_THROW(require_finite_features(f, "FVD features", "i3d"));
}

TEST(Frechet, WarnsWhenFewerVectorsThanDimensions) {
  FeatureStats a(8), b(8);
  a.add(counter_matrix(10, 5, 8));
  b.add(counter_matrix(11, 20, 8));
  testing::internal::CaptureStderr();
  const FrechetResult r = frechet_distance(a, b, CovarianceEstimator::unbiased);
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(std::isfinite(r.value));
  EXPECT_NE(log.find("fewer vectors than dimensions"), std::string::npos) << log;
}

TEST(Frechet, EstimatorsDifferByExactlyNOverNMinusOne) {
  const CaseFeatures f = case_features(find_case("dim16"));
  FeatureStats a(16), b(16);
  a.add(f.a);
  b.add(f.a);  // same count and same set: the trace parts scale alike
  const double n = double(a.count());
  const FrechetResult u = frechet_distance(a, b, CovarianceEstimator::unbiased);
  const FrechetResult bi = frechet_distance(a, b, CovarianceEstimator::biased);
  EXPECT_NEAR(u.trace1 / bi.trace1, n / (n - 1), 1e-14);
  EXPECT_NEAR(u.trace_sqrt / bi.trace_sqrt, n / (n - 1), 1e-12);
}

TEST(Frechet, ShapeMismatchIsAnError) {
  EXPECT_THROW(frechet_distance(Eigen::VectorXd::Zero(3), Eigen::MatrixXd::Identity(3, 3), Eigen::VectorXd::Zero(4),
                                Eigen::MatrixXd::Identity(4, 4)),
               ConfigError);
}

// One-shot float64 mean and covariance, two-pass.
void one_shot(const Eigen::MatrixXd& x, Eigen::VectorXd& mean, Eigen::MatrixXd& cov) {
  mean = x.colwise().mean().transpose();
  const Eigen::MatrixXd c = x.rowwise() - mean.transpose();
  cov = c.transpose() * c / double(x.rows() - 1);
}

double rel_diff(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) { return (a - b).norm() / b.norm(); }

TEST(FeatureStats, MergedInAnyOrderEqualsOneShot) {
  // A large offset against the spread: the case where naive sum-of-squares loses digits.
  Eigen::MatrixXd x = counter_matrix(12, 300, 16).array() + 1000.0;
  Eigen::VectorXd mean;
  Eigen::MatrixXd cov;
  one_shot(x, mean, cov);
  const int cuts[] = {0, 7, 8, 100, 180, 300};
  std::vector<FeatureStats> parts;
  for (int i = 0; i + 1 < 6; ++i) {
    FeatureStats s(16);
    s.add(Eigen::MatrixXd(x.middleRows(cuts[i], cuts[i + 1] - cuts[i])));
    parts.push_back(s);
  }
  const std::vector<std::vector<int>> orders = {{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 0, 4, 1, 3}};
  for (const auto& order : orders) {
    FeatureStats all(16);
    for (int i : order) all.merge(parts[i]);
    EXPECT_EQ(all.count(), 300);
    EXPECT_LT((all.mean() - mean).norm() / mean.norm(), 1e-10);
    EXPECT_LT(rel_diff(all.covariance(CovarianceEstimator::unbiased), cov), 1e-10);
  }
  // A tree of merges, and batches added row by row.
  FeatureStats left(16), right(16);
  left.merge(parts[3]);
  left.merge(parts[0]);
  right.merge(parts[4]);
  right.merge(parts[1]);
  right.merge(parts[2]);
  right.merge(left);
  EXPECT_LT(rel_diff(right.covariance(CovarianceEstimator::unbiased), cov), 1e-10);
  FeatureStats rows(16);
  for (int i = 0; i < 300; ++i) rows.add(Eigen::MatrixXd(x.row(i)));
  EXPECT_LT(rel_diff(rows.covariance(CovarianceEstimator::unbiased), cov), 1e-10);
  EXPECT_LT(rel_diff(rows.covariance(CovarianceEstimator::biased), cov * (299.0 / 300.0)), 1e-10);
}

TEST(FeatureStats, FloatRowsAndErrors) {
  const float rows[6] = {1, 2, 3, 5, 7, 11};
  FeatureStats s(3);
  s.add(rows, 2);
  EXPECT_EQ(s.count(), 2);
  EXPECT_DOUBLE_EQ(s.mean()[2], 7.0);
  EXPECT_DOUBLE_EQ(s.covariance(CovarianceEstimator::unbiased)(2, 2), 32.0);
  EXPECT_THROW(s.add(Eigen::MatrixXd::Zero(2, 4)), ConfigError);
  FeatureStats one(3);
  one.add(rows, 1);
  EXPECT_THROW(one.covariance(CovarianceEstimator::unbiased), NumericError);
  EXPECT_EQ(covariance_estimator_from_string("biased"), CovarianceEstimator::biased);
  EXPECT_THROW(covariance_estimator_from_string("n-1"), ConfigError);
}

}  // namespace
}  // namespace vdlab
