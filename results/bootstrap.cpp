#include "results/bootstrap.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace vdlab {

namespace {

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / double(v.size());
}

}  // namespace

double linear_quantile(const std::vector<double>& sorted, double p) {
  const double at = p * double(sorted.size() - 1);
  const std::size_t below = std::size_t(std::floor(at));
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  const double fraction = at - double(below);
  return sorted[below] + (sorted[above] - sorted[below]) * fraction;
}

BootstrapInterval paired_bootstrap(const std::vector<std::vector<double>>& groups, std::size_t replicates,
                                   double confidence, std::uint64_t seed) {
  if (groups.empty()) throw std::invalid_argument("paired bootstrap: no groups");
  for (const auto& g : groups)
    if (g.empty()) throw std::invalid_argument("paired bootstrap: an empty group");
  if (!(confidence > 0 && confidence < 1)) throw std::invalid_argument("paired bootstrap: confidence outside (0, 1)");
  if (replicates == 0) throw std::invalid_argument("paired bootstrap: no replicates");

  BootstrapInterval out;
  out.replicates = replicates;
  double total = 0;
  for (const auto& g : groups) total += mean_of(g);
  out.estimate = total / double(groups.size());

  SplitMix64 rng(seed);
  std::vector<double> draws(replicates);
  const std::size_t n_groups = groups.size();
  for (std::size_t r = 0; r < replicates; ++r) {
    double sum_of_means = 0;
    for (std::size_t k = 0; k < n_groups; ++k) {
      const std::vector<double>& g = groups[rng.index(n_groups)];
      double s = 0;
      for (std::size_t i = 0; i < g.size(); ++i) s += g[rng.index(g.size())];
      sum_of_means += s / double(g.size());
    }
    draws[r] = sum_of_means / double(n_groups);
  }
  std::sort(draws.begin(), draws.end());
  out.low = linear_quantile(draws, (1 - confidence) / 2);
  out.high = linear_quantile(draws, (1 + confidence) / 2);
  return out;
}

}  // namespace vdlab
