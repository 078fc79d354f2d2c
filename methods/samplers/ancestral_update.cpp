#include "methods/samplers/ancestral_update.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>

#include "core/error.h"

namespace vdlab {

namespace {

// Per-row coefficients, rounded to float as FramePlan::combine rounds them.
struct RowCoefs {
  float x0_x, x0_out, c_x0, c_x, c_noise;
};

// One row: the same operations, in the same order, as the tensor sequence (ancestral_update.h).
template <bool kDirect, bool kClip, bool kNoise>
inline __attribute__((always_inline)) void update_row(float* __restrict d, const float* __restrict x,
                                                      const float* __restrict o, const float* __restrict z,
                                                      const RowCoefs& w, float lo, float hi, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float x0 = kDirect ? o[i] : w.x0_x * x[i] + w.x0_out * o[i];
    if (kClip) {  // at::clamp: NaN stays NaN (neither comparison holds)
      x0 = x0 < lo ? lo : x0;
      x0 = x0 > hi ? hi : x0;
    }
    float acc = w.c_x0 * x0;
    acc = acc + w.c_x * x[i];
    if (kNoise) acc = acc + w.c_noise * z[i];
    d[i] = acc;
  }
}

// The row loop compiled for AVX-512, AVX2 and baseline x86-64, picked at load time; all do the same
// IEEE operations in the same order (this file is compiled without FMA contraction): bitwise equal.
__attribute__((target_clones("avx512f", "avx2", "default"))) void update_row_wide(
    float* d, const float* x, const float* o, const float* z, const RowCoefs& w, float lo, float hi, int64_t n,
    bool direct, bool clip, bool noise) {
  const int variant = (direct ? 4 : 0) | (clip ? 2 : 0) | (noise ? 1 : 0);
  switch (variant) {
    case 0: return update_row<false, false, false>(d, x, o, z, w, lo, hi, n);
    case 1: return update_row<false, false, true>(d, x, o, z, w, lo, hi, n);
    case 2: return update_row<false, true, false>(d, x, o, z, w, lo, hi, n);
    case 3: return update_row<false, true, true>(d, x, o, z, w, lo, hi, n);
    case 4: return update_row<true, false, false>(d, x, o, z, w, lo, hi, n);
    case 5: return update_row<true, false, true>(d, x, o, z, w, lo, hi, n);
    case 6: return update_row<true, true, false>(d, x, o, z, w, lo, hi, n);
    default: return update_row<true, true, true>(d, x, o, z, w, lo, hi, n);
  }
}

// Draws per block of a row: small enough for the block's draws to stay in L1 beside its inputs.
constexpr int64_t kBlock = 2048;

}  // namespace

bool ancestral_update_applies(const at::Tensor& x, const at::Tensor& out) {
  return x.device().is_cpu() && out.device().is_cpu() && x.scalar_type() == at::kFloat &&
         out.scalar_type() == at::kFloat && x.dim() == 5 && x.is_contiguous() && out.is_contiguous() &&
         x.sizes().equals(out.sizes());
}

at::Tensor ancestral_update(const FramePlan& plan, const at::Tensor& x, const at::Tensor& out,
                            const AncestralUpdate& u, GaussianStream* noise) {
  if (!ancestral_update_applies(x, out)) throw Error("ancestral_update: needs float32 contiguous CPU tensors of one shape");
  const bool direct = u.x0_x == nullptr;
  const bool with_noise = u.c_noise != nullptr;
  if (with_noise && noise == nullptr) throw Error("ancestral_update: a noise term without a stream");
  at::Tensor next = at::empty_like(x, at::MemoryFormat::Contiguous);
  const int64_t channels = x.size(1), frames = plan.frames, inner = x.size(3) * x.size(4);
  const int64_t rows = plan.batch * channels * frames;  // one row = the H x W plane of (b, c, f)
  const float lo = static_cast<float>(-u.clip_range), hi = static_cast<float>(u.clip_range);
  const float* xp = x.data_ptr<float>();
  const float* op = out.data_ptr<float>();
  float* dp = next.data_ptr<float>();
  auto coefs_of = [&](int64_t r) {
    const size_t k = plan.frame_of_row(r, channels);
    RowCoefs w{};
    if (!direct) {
      w.x0_x = static_cast<float>((*u.x0_x)[k]);
      w.x0_out = static_cast<float>((*u.x0_out)[k]);
    }
    w.c_x0 = static_cast<float>((*u.c_x0)[k]);
    w.c_x = static_cast<float>((*u.c_x)[k]);
    if (with_noise) w.c_noise = static_cast<float>((*u.c_noise)[k]);
    return w;
  };
  if (!with_noise) {
    const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(inner, 1));
    at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r)
        update_row_wide(dp + r * inner, xp + r * inner, op + r * inner, nullptr, coefs_of(r), lo, hi, inner, direct,
                        u.clip, false);
    });
    return next;
  }
  // The stream is sequential: draw each block just before it is used, in the tensor's flat order.
  float z[kBlock];
  for (int64_t r = 0; r < rows; ++r) {
    const RowCoefs w = coefs_of(r);
    for (int64_t i = 0; i < inner; i += kBlock) {
      const int64_t n = std::min(kBlock, inner - i);
      const int64_t pos = r * inner + i;
      noise->fill(z, n);
      update_row_wide(dp + pos, xp + pos, op + pos, z, w, lo, hi, n, direct, u.clip, true);
    }
  }
  return next;
}

}  // namespace vdlab
