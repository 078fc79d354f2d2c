#pragma once
// The Fréchet distance between two Gaussians, shared by FID and FVD (METRICS.md):
//   FD = |mu1 - mu2|^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2)),  all in float64.
// Tr((S1 S2)^(1/2)) is the sum of the square roots of the eigenvalues of a symmetric matrix similar to
// S1 S2, so only eigenvalues are computed, never a matrix square root:
//  - Cholesky route (S1 positive definite): S1 = L L^T, and S1 S2 = L (L^T S2 L) L^-1 is similar to
//    L^T S2 L (LAPACK dpotrf, dsygst, dsyevd without vectors): about a quarter of the floating-point
//    work of the symmetric route.
//  - symmetric route (S1 singular, e.g. fewer vectors than dimensions): S1 = V diag(w) V^T, and A S2 A
//    with A = S1^(1/2) is similar to diag(sqrt w) (V^T S2 V) diag(sqrt w) on the range of S1.
// Tiny negative eigenvalues from rounding are clamped to 0. Equal in exact arithmetic to the trace of
// scipy's sqrtm(S1 @ S2) that pytorch-fid and clean-fid use.
#include <Eigen/Dense>

#include "metrics/feature_stats.h"

namespace vdlab {

struct FrechetResult {
  double value = 0.0;
  double mean_term = 0.0;    // |mu1 - mu2|^2
  double trace1 = 0.0;       // Tr(S1)
  double trace2 = 0.0;       // Tr(S2)
  double trace_sqrt = 0.0;   // Tr((S1 S2)^(1/2))
  bool retried = false;      // the first attempt was not finite and eps * I was added to both covariances
  const char* route = "";    // "cholesky" or "symmetric" (S1 not positive definite)
};

struct FrechetOptions {
  double retry_eps = 1e-6;   // added to both diagonals when the first result is not finite
  // What errors name: the metric ("FID", "FVD") and the two sets.
  std::string stage = "Frechet";
  std::string first = "first set", second = "second set";
};

// From means and covariances. Throws ConfigError on mismatched shapes. No distance is computed from
// non-finite statistics: a NaN or Inf in a mean or covariance is a NumericError naming the stage, the
// set and the count ("FID covariance: the generated set's covariance has 3 non-finite values of
// 4194304"). A result that is not finite after the eps * I retry (rounding on finite statistics) is a
// NumericError too, never a NaN value.
FrechetResult frechet_distance(const Eigen::VectorXd& mu1, const Eigen::MatrixXd& s1, const Eigen::VectorXd& mu2,
                               const Eigen::MatrixXd& s2, const FrechetOptions& options = {});

// From running statistics with the protocol's covariance estimator. Logs a warning when either count is
// below the feature dimension (the covariance is then singular; values are not comparable to papers').
FrechetResult frechet_distance(const FeatureStats& a, const FeatureStats& b, CovarianceEstimator estimator,
                               const FrechetOptions& options = {});

// Tr((S1 S2)^(1/2)) for symmetric positive semi-definite S1, S2: the Cholesky route when S1 is positive
// definite, else the symmetric route. `route`, when given, receives which one ran.
double trace_sqrt_product(const Eigen::MatrixXd& s1, const Eigen::MatrixXd& s2, const char** route = nullptr);
// Each route alone (tests and benchmarks compare them). The Cholesky one returns NaN when S1 is not
// positive definite.
double trace_sqrt_product_cholesky(const Eigen::MatrixXd& s1, const Eigen::MatrixXd& s2);
double trace_sqrt_product_symmetric(const Eigen::MatrixXd& s1, const Eigen::MatrixXd& s2);

}  // namespace vdlab
