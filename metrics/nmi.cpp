#include "metrics/nmi.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <map>
#include <string>
#include <utility>

#include "core/error.h"

namespace vdlab {

int nmi_bin(double v, const NmiBinning& b) {
  if (std::isnan(v)) throw NumericError("NMI: cannot bin a NaN value");
  if (!(b.hi > b.lo) || b.bins < 1) throw ConfigError("NMI: binning needs hi > lo and at least one bin");
  const double pos = std::floor((v - b.lo) / (b.hi - b.lo) * double(b.bins));
  if (pos < 0.0) return 0;
  if (pos >= double(b.bins)) return b.bins - 1;
  return static_cast<int>(pos);
}

std::vector<int> nmi_bin_all(const double* values, std::size_t n, const NmiBinning& binning) {
  std::vector<int> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = nmi_bin(values[i], binning);
  return out;
}

namespace {

// Dense relabelling 0..k-1 in sorted order, with counts.
std::vector<int> relabel(const std::vector<int>& labels, std::vector<double>& counts) {
  std::map<int, int> index;
  for (int l : labels) index.emplace(l, 0);
  int next = 0;
  for (auto& kv : index) kv.second = next++;
  counts.assign(index.size(), 0.0);
  std::vector<int> out(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    out[i] = index[labels[i]];
    counts[out[i]] += 1.0;
  }
  return out;
}

double entropy(const std::vector<double>& counts) {
  if (counts.size() <= 1) return 0.0;
  double total = 0.0;
  for (double c : counts) total += c;
  const double log_total = std::log(total);
  double h = 0.0;
  for (double c : counts) h += (c / total) * (std::log(c) - log_total);
  return -h;
}

}  // namespace

double nmi_labels(const std::vector<int>& x, const std::vector<int>& y) {
  if (x.size() != y.size())
    throw ConfigError("NMI: labellings differ in length (" + std::to_string(x.size()) + " and " +
                      std::to_string(y.size()) + ")");
  std::vector<double> px, py;
  const std::vector<int> a = relabel(x, px), b = relabel(y, py);
  if ((px.size() == 1 && py.size() == 1) || (px.empty() && py.empty())) return 1.0;
  if (px.size() == 1 || py.size() == 1) return 0.0;  // one side has zero entropy: I = 0
  // Contingency counts of the non-zero cells.
  std::map<std::pair<int, int>, double> cells;
  for (std::size_t i = 0; i < a.size(); ++i) cells[{a[i], b[i]}] += 1.0;
  const double n = double(a.size());
  const double log_n = std::log(n);
  double mi = 0.0;
  for (const auto& cell : cells) {
    const double c = cell.second;
    const double p = c / n;
    const double outer = px[cell.first.first] * py[cell.first.second];
    const double term = p * (std::log(c) - log_n) + p * (-std::log(outer) + log_n + log_n);
    if (std::abs(term) >= DBL_EPSILON) mi += term;  // scikit-learn drops terms below machine epsilon
  }
  mi = std::max(mi, 0.0);
  if (mi == 0.0) return 0.0;
  const double normaliser = std::max(std::sqrt(entropy(px) * entropy(py)), DBL_EPSILON);
  return mi / normaliser;
}

double nmi(const double* x, const double* y, std::size_t n, const NmiBinning& binning) {
  return nmi_labels(nmi_bin_all(x, n, binning), nmi_bin_all(y, n, binning));
}

double nmi(const std::vector<double>& x, const std::vector<double>& y, const NmiBinning& binning) {
  if (x.size() != y.size())
    throw ConfigError("NMI: arrays differ in length (" + std::to_string(x.size()) + " and " +
                      std::to_string(y.size()) + ")");
  return nmi(x.data(), y.data(), x.size(), binning);
}

}  // namespace vdlab
