#pragma once
// Platform-independent randomness for dataset generators. std::uniform_*_distribution differ between
// standard libraries, so generated clips would differ between machines; these do not.
#include <cstdint>
#include <initializer_list>

namespace vdlab {

// SplitMix64: mixes a key into a well-spread 64-bit seed.
inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

inline std::uint64_t mix_seed(std::initializer_list<std::uint64_t> keys) {
  std::uint64_t h = 0x243f6a8885a308d3ULL;
  for (auto k : keys) h = splitmix64(h ^ splitmix64(k));
  return h;
}

// A small deterministic generator (SplitMix64 stream) with uniform helpers.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() { return splitmix64(state_++ * 0x9e3779b97f4a7c15ULL + 1); }
  // [0, 1) with 53 random bits.
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // [0, n)
  int below(int n) { return int(uniform() * n); }

 private:
  std::uint64_t state_;
};

}  // namespace vdlab
