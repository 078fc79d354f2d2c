#include "methods/samplers/gaussian_fill.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace vdlab {

namespace {

constexpr int kLanes = GaussianStream::kLanes;
constexpr int kChunk = GaussianStream::kChunk;  // normals per chunk: a cosine and a sine half of kLanes each

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

inline float bits_to_float(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
inline uint32_t float_to_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

struct Lanes {
  uint32_t s0[kLanes], s1[kLanes], s2[kLanes], s3[kLanes];
};

// One xoshiro128++ step of every lane.
inline void next_words(Lanes& st, uint32_t* out) {
  for (int l = 0; l < kLanes; ++l) {
    out[l] = rotl(st.s0[l] + st.s3[l], 7) + st.s0[l];
    const uint32_t t = st.s1[l] << 9;
    st.s2[l] ^= st.s0[l];
    st.s3[l] ^= st.s1[l];
    st.s1[l] ^= st.s2[l];
    st.s0[l] ^= st.s3[l];
    st.s2[l] ^= t;
    st.s3[l] = rotl(st.s3[l], 11);
  }
}

// Natural log of x in (0, 1] (Cephes logf: x = m 2^e with m in [sqrt(1/2), sqrt(2)), a degree-9
// polynomial in m - 1, ln 2 split in two parts), branch-free so the loop vectorises.
inline float log_unit(float x) {
  const uint32_t b = float_to_bits(x);
  const int32_t e0 = static_cast<int32_t>(b >> 23) - 126;  // x = m0 2^e0, m0 in [0.5, 1)
  const float m0 = bits_to_float((b & 0x007FFFFFu) | 0x3F000000u);
  // Below sqrt(1/2): m = 2 m0 and e = e0 - 1 (selected by arithmetic, so the loop has no branch).
  const int32_t low = static_cast<int32_t>(m0 < 0.707106781186547524f);
  const float e = static_cast<float>(e0 - low);
  const float f = m0 * static_cast<float>(1 + low) - 1.0f;
  const float z = f * f;
  float y = 7.0376836292E-2f;
  y = y * f - 1.1514610310E-1f;
  y = y * f + 1.1676998740E-1f;
  y = y * f - 1.2420140846E-1f;
  y = y * f + 1.4249322787E-1f;
  y = y * f - 1.6668057665E-1f;
  y = y * f + 2.0000714765E-1f;
  y = y * f - 2.4999993993E-1f;
  y = y * f + 3.3333331174E-1f;
  y = y * f * z;
  y = y + -2.12194440E-4f * e;
  y = y + -0.5f * z;
  float r = f + y;
  r = r + 0.693359375f * e;
  return r;
}

// A chunk of kChunk normals from 2 kLanes words: out[l] = r cos(theta), out[kLanes + l] = r sin(theta).
inline void box_muller(const uint32_t* radius_words, const uint32_t* angle_words, float* out) {
  constexpr float kCell = 1.0f / 16777216.0f;  // 2^-24
  constexpr float kOctantCell = 0.78539816339744830962f / 2097152.0f;  // (pi / 4) 2^-21
  for (int l = 0; l < kLanes; ++l) {
    const float u = (static_cast<float>(static_cast<int32_t>(radius_words[l] >> 8)) + 0.5f) * kCell;
    const float r = std::sqrt(-2.0f * log_unit(u));
    const uint32_t a = angle_words[l] >> 8;  // 24 bits: octant j (3) and position within it (21)
    const uint32_t j = a >> 21;
    // Odd octants run backwards (the angle to the octant's end): 0x1FFFFF - p = p ^ 0x1FFFFF.
    const uint32_t p = (a & 0x1FFFFFu) ^ ((0u - (j & 1u)) & 0x1FFFFFu);
    const float x = (static_cast<float>(static_cast<int32_t>(p)) + 0.5f) * kOctantCell;  // in (0, pi / 4)
    const float z = x * x;
    float sp = -1.9515295891E-4f;
    sp = sp * z + 8.3321608736E-3f;
    sp = sp * z - 1.6666654611E-1f;
    const float s = x + x * z * sp;
    float cp = 2.443315711809948E-5f;
    cp = cp * z - 1.388731625493765E-3f;
    cp = cp * z + 4.166664568298827E-2f;
    const float c = (1.0f - 0.5f * z) + z * z * cp;
    // theta = j pi / 4 + x (even j) or (j + 1) pi / 4 - x (odd j): swap in octants 1, 2, 5, 6, sign of
    // the cosine in octants 2-5, of the sine in octants 4-7.
    const uint32_t swap = 0u - (((j + 1u) >> 1) & 1u);  // all ones in octants 1, 2, 5, 6
    const uint32_t sb = float_to_bits(s), cb = float_to_bits(c);
    const uint32_t cos_abs = (cb & ~swap) | (sb & swap), sin_abs = (sb & ~swap) | (cb & swap);
    const uint32_t cos_sign = ((j + 2u) & 4u) << 29, sin_sign = (j & 4u) << 29;
    out[l] = r * bits_to_float(cos_abs ^ cos_sign);
    out[kLanes + l] = r * bits_to_float(sin_abs ^ sin_sign);
  }
}

// The loop, compiled for AVX-512, AVX2 and the baseline; all do the same IEEE operations in the same order.
__attribute__((target_clones("avx512f", "avx2", "default"))) void fill_chunks(Lanes& st, float* out, int64_t chunks) {
  uint32_t rw[kLanes], aw[kLanes];
  for (int64_t c = 0; c < chunks; ++c) {
    next_words(st, rw);
    next_words(st, aw);
    box_muller(rw, aw, out + c * kChunk);
  }
}

}  // namespace

GaussianStream::GaussianStream(uint64_t seed) {
  uint64_t sm = seed;
  for (int l = 0; l < kLanes; ++l) {
    const uint64_t a = splitmix64(sm), b = splitmix64(sm);
    state_[0][l] = static_cast<uint32_t>(a);
    state_[1][l] = static_cast<uint32_t>(a >> 32);
    state_[2][l] = static_cast<uint32_t>(b);
    state_[3][l] = static_cast<uint32_t>(b >> 32);
    if ((state_[0][l] | state_[1][l] | state_[2][l] | state_[3][l]) == 0) state_[0][l] = 1;  // xoshiro's one forbidden state
  }
}

void GaussianStream::fill(float* out, int64_t n) {
  if (n <= 0) return;
  // What is left of the chunk a previous fill broke off in.
  const int64_t from_spare = std::min<int64_t>(n, kChunk - spare_used_);
  std::copy(spare_ + spare_used_, spare_ + spare_used_ + from_spare, out);
  spare_used_ += static_cast<int>(from_spare);
  out += from_spare;
  n -= from_spare;
  if (n == 0) return;
  Lanes st;
  std::memcpy(&st, state_, sizeof st);
  const int64_t full = n / kChunk;
  fill_chunks(st, out, full);
  if (const int64_t rest = n - full * kChunk; rest > 0) {
    fill_chunks(st, spare_, 1);
    std::copy(spare_, spare_ + rest, out + full * kChunk);
    spare_used_ = static_cast<int>(rest);
  }
  std::memcpy(state_, &st, sizeof st);
}

void fill_standard_normal(float* out, int64_t n, uint64_t seed) { GaussianStream(seed).fill(out, n); }

}  // namespace vdlab
