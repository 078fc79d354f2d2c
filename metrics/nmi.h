#pragma once
// Normalised mutual information (METRICS.md, Dr.Mo step consistency):
//   NMI(X, Y) = I(X; Y) / sqrt(H(X) H(Y)), natural logs,
// over labels. Real values are first put in fixed equal-width bins (default 64 over [-1, 1]); raw floats
// are never compared directly (all-distinct values would score 1 for every pair). Matches scikit-learn's
// normalized_mutual_info_score(average_method="geometric") on the same labels, special cases included:
// both labellings constant (or empty) give 1; zero mutual information gives 0.
#include <cstddef>
#include <vector>

namespace vdlab {

struct NmiBinning {
  int bins = 64;
  double lo = -1.0, hi = 1.0;  // values outside are put in the first or last bin
};

// Bin index of v: floor((v - lo) / (hi - lo) * bins), clamped to [0, bins - 1]. Throws NumericError on NaN.
int nmi_bin(double v, const NmiBinning& binning);
std::vector<int> nmi_bin_all(const double* values, std::size_t n, const NmiBinning& binning);

// NMI of two labellings of the same items (labels are any integers).
double nmi_labels(const std::vector<int>& x, const std::vector<int>& y);
// NMI of two real arrays of the same length (two motion matrices flattened), after binning both.
double nmi(const double* x, const double* y, std::size_t n, const NmiBinning& binning = {});
double nmi(const std::vector<double>& x, const std::vector<double>& y, const NmiBinning& binning = {});

}  // namespace vdlab
