#pragma once
// Paired bootstrap confidence intervals over seeds and the per-sample pairs inside each seed, with a
// random stream simple enough to reproduce exactly in a few lines of Python
// (scripts/reference/compare_bootstrap.py does, and tests check the two agree).
//
// The stream is splitmix64 (Steele, Lea and Flood 2014): state += 0x9E3779B97F4A7C15; z = state;
// z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB; return z ^ (z >> 31)
// (all arithmetic modulo 2^64). An index in [0, n) is next() % n (the bias, below 2^-40 for n < 2^24,
// is far under the interval's own resampling noise, and keeps the rule one line long).
//
// One replicate draws, for k = 0..G-1: a group g = index(G), then index(n_g) n_g times, and takes the
// mean of the drawn differences of that group; the replicate is the mean over the G drawn groups. A
// group is one seed's paired differences (per-sample pairs), or one value (a set-level metric such as
// FVD, which has one number per seed). Groups are drawn in replicate order, k order, then samples.
// The interval takes the (1-c)/2 and (1+c)/2 quantiles of the replicates with linear interpolation
// between order statistics (numpy.quantile's default).
#include <cstdint>
#include <vector>

namespace vdlab {

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  std::size_t index(std::size_t n) { return std::size_t(next() % n); }

 private:
  std::uint64_t state_;
};

struct BootstrapInterval {
  double estimate = 0;  // mean over groups of each group's mean difference (the statistic on the data)
  double low = 0, high = 0;
  std::size_t replicates = 0;
};

// Throws std::invalid_argument for no groups, an empty group or a confidence outside (0, 1).
BootstrapInterval paired_bootstrap(const std::vector<std::vector<double>>& groups, std::size_t replicates,
                                   double confidence, std::uint64_t seed);

// numpy.quantile(values, p) with the default linear method; `sorted` must be ascending and non-empty.
double linear_quantile(const std::vector<double>& sorted, double p);

}  // namespace vdlab
