#include "metrics/feature_stats.h"

#include <cblas.h>

#include <vector>

#include "core/error.h"

namespace vdlab {

std::string to_string(CovarianceEstimator e) { return e == CovarianceEstimator::unbiased ? "unbiased" : "biased"; }

CovarianceEstimator covariance_estimator_from_string(const std::string& name) {
  if (name == "unbiased") return CovarianceEstimator::unbiased;
  if (name == "biased") return CovarianceEstimator::biased;
  throw ConfigError("covariance estimator '" + name + "': expected 'unbiased' (N - 1) or 'biased' (N)");
}

FeatureStats::FeatureStats(int dim) : dim_(dim), mean_(Eigen::VectorXd::Zero(dim)), scatter_(Eigen::MatrixXd::Zero(dim, dim)) {
  if (dim <= 0) throw ConfigError("feature statistics: dimension must be positive, got " + std::to_string(dim));
}

FeatureStats::FeatureStats(std::int64_t count, Eigen::VectorXd mean, Eigen::MatrixXd scatter)
    : dim_(static_cast<int>(mean.size())), count_(count), mean_(std::move(mean)), scatter_(std::move(scatter)) {
  if (scatter_.rows() != dim_ || scatter_.cols() != dim_ || count_ < 0)
    throw ConfigError("feature statistics: scatter is " + std::to_string(scatter_.rows()) + "x" +
                      std::to_string(scatter_.cols()) + " for a mean of size " + std::to_string(dim_));
}

void FeatureStats::add(const double* rows, std::size_t n) {
  if (n == 0) return;
  const int d = dim_;
  // Column-major [n, d] copy, centred on the batch mean.
  Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> x(rows, Eigen::Index(n), d);
  Eigen::VectorXd batch_mean = x.colwise().mean().transpose();
  Eigen::MatrixXd centred = x.rowwise() - batch_mean.transpose();
  Eigen::MatrixXd batch_scatter(d, d);
  cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, d, static_cast<int>(n), 1.0, centred.data(), static_cast<int>(n),
              0.0, batch_scatter.data(), d);
  batch_scatter.triangularView<Eigen::StrictlyLower>() = batch_scatter.transpose().triangularView<Eigen::StrictlyLower>();
  merge(FeatureStats(static_cast<std::int64_t>(n), std::move(batch_mean), std::move(batch_scatter)));
}

void FeatureStats::add(const float* rows, std::size_t n) {
  std::vector<double> wide(rows, rows + n * std::size_t(dim_));
  add(wide.data(), n);
}

void FeatureStats::add(const Eigen::MatrixXd& rows) {
  if (rows.cols() != dim_)
    throw ConfigError("feature statistics: got vectors of size " + std::to_string(rows.cols()) + ", expected " +
                      std::to_string(dim_));
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> row_major = rows;
  add(row_major.data(), std::size_t(rows.rows()));
}

void FeatureStats::merge(const FeatureStats& other) {
  if (other.count_ == 0) return;
  if (count_ == 0 && dim_ == 0) {
    *this = other;
    return;
  }
  if (other.dim_ != dim_)
    throw ConfigError("feature statistics: cannot merge dimension " + std::to_string(other.dim_) + " into " +
                      std::to_string(dim_));
  if (count_ == 0) {
    count_ = other.count_;
    mean_ = other.mean_;
    scatter_ = other.scatter_;
    return;
  }
  const double na = double(count_), nb = double(other.count_), n = na + nb;
  const Eigen::VectorXd delta = other.mean_ - mean_;
  mean_ += delta * (nb / n);
  scatter_ += other.scatter_;
  scatter_.noalias() += (delta * (na * nb / n)) * delta.transpose();
  count_ += other.count_;
}

Eigen::MatrixXd FeatureStats::covariance(CovarianceEstimator estimator) const {
  const std::int64_t divisor = estimator == CovarianceEstimator::unbiased ? count_ - 1 : count_;
  if (divisor <= 0)
    throw NumericError("feature statistics: " + std::to_string(count_) + " vectors are too few for the " +
                       to_string(estimator) + " covariance");
  return scatter_ / double(divisor);
}

}  // namespace vdlab
