#pragma once
// Running float64 statistics of feature vectors (mean and scatter), mergeable in any order, so the
// statistics of a large set are accumulated batch by batch and cached without keeping the features.
//
// The state is (N, mean, scatter = sum (x - mean)(x - mean)^T), the running-sum form of
// (N, sum x, sum x x^T) that does not lose digits to cancellation when the mean is large against the
// spread. Two states merge exactly (Chan, Golub and LeVeque): the merged scatter adds
// delta delta^T * na * nb / (na + nb), delta = mean_b - mean_a.
#include <Eigen/Dense>
#include <cstdint>
#include <string>

namespace vdlab {

// The covariance estimator is part of a metric's protocol (METRICS.md): unbiased divides the scatter by
// N - 1 (pytorch-fid, clean-fid, torchmetrics, TF-GAN), biased by N (StyleGAN2-ADA, StyleGAN3, StyleGAN-V).
enum class CovarianceEstimator { unbiased, biased };
std::string to_string(CovarianceEstimator e);
CovarianceEstimator covariance_estimator_from_string(const std::string& name);  // throws ConfigError

class FeatureStats {
 public:
  FeatureStats() = default;
  explicit FeatureStats(int dim);
  // From stored parts (a cache): count, mean [dim], scatter [dim, dim].
  FeatureStats(std::int64_t count, Eigen::VectorXd mean, Eigen::MatrixXd scatter);

  // Adds n feature vectors stored row-major as [n, dim].
  void add(const double* rows, std::size_t n);
  void add(const float* rows, std::size_t n);
  void add(const Eigen::MatrixXd& rows);  // [n, dim], one row per vector
  // Adds another set's statistics (same dimension); the result does not depend on the order.
  void merge(const FeatureStats& other);

  int dim() const { return dim_; }
  std::int64_t count() const { return count_; }
  const Eigen::VectorXd& mean() const { return mean_; }
  // sum (x - mean)(x - mean)^T, symmetric.
  const Eigen::MatrixXd& scatter() const { return scatter_; }
  // scatter / (N - 1) or scatter / N. Throws NumericError when N is too small for the estimator.
  Eigen::MatrixXd covariance(CovarianceEstimator estimator) const;

 private:
  int dim_ = 0;
  std::int64_t count_ = 0;
  Eigen::VectorXd mean_;
  Eigen::MatrixXd scatter_;
};

}  // namespace vdlab
