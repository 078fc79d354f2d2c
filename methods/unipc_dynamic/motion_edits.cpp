#include "methods/unipc_dynamic/motion_edits.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "core/error.h"

namespace vdlab::unipc_dynamic {

namespace {

void check_video(const at::Tensor& x, const char* what) {
  if (x.dim() != 5) throw ConfigError(std::string(what) + ": expects a video latent [B, C, F, H, W]");
}

// Per-frame cosine similarity of two [B, C, F, h, W] tensors, flattened over (C, h, W): [B, F]. Sums
// over the non-frame axes rather than a transposed copy: this runs K times per step.
at::Tensor frame_cosine(const at::Tensor& a, const at::Tensor& b) {
  const std::vector<int64_t> dims = {1, 3, 4};
  const at::Tensor dot = (a * b).sum(dims);
  const at::Tensor norms = (a * a).sum(dims) * (b * b).sum(dims);
  return dot / at::sqrt(norms.clamp_min(1e-16));  // eps 1e-8 on the product of the norms, as cosine_similarity
}

// Forward/backward differences at the borders, central inside, along `dim` (numpy.gradient, spacing 1).
at::Tensor gradient(const at::Tensor& g, int64_t dim) {
  const int64_t n = g.size(dim);
  if (n < 2) return at::zeros_like(g);
  const at::Tensor first = g.narrow(dim, 1, 1) - g.narrow(dim, 0, 1);
  const at::Tensor last = g.narrow(dim, n - 1, 1) - g.narrow(dim, n - 2, 1);
  if (n == 2) return at::cat({first, last}, dim);
  const at::Tensor inner = (g.narrow(dim, 2, n - 2) - g.narrow(dim, 0, n - 2)) / 2;
  return at::cat({first, inner, last}, dim);
}

}  // namespace

at::Tensor half_frame_weights(const at::Tensor& x, const std::vector<at::Tensor>& history, double alpha) {
  check_video(x, "half-frame attention");
  const int64_t H = x.size(3), half = H / 2, K = static_cast<int64_t>(history.size());
  std::vector<at::Tensor> rows;
  for (int64_t i = 0; i < K; ++i) {
    const at::Tensor& h = history[static_cast<size_t>(i)];
    const at::Tensor u = frame_cosine(x.narrow(3, 0, half), h.narrow(3, 0, half)).mean(0);
    const at::Tensor l = frame_cosine(x.narrow(3, half, H - half), h.narrow(3, half, H - half)).mean(0);
    rows.push_back((u + l) * (static_cast<double>(i + 1) / static_cast<double>(K) * 0.5 * alpha));
  }
  if (rows.empty()) return at::zeros({0, x.size(2)}, x.options());
  return at::stack(rows);
}

at::Tensor half_frame_attention(const at::Tensor& x, const std::vector<at::Tensor>& history,
                                const AttentionSettings& s) {
  if (history.empty()) return x;
  const at::Tensor w = half_frame_weights(x, history, s.alpha);
  const int64_t F = x.size(2), H = x.size(3), half = H / 2;
  // The blend of each row: `upper` over rows [0, H/2), `lower` below.
  at::Tensor rows = at::full({H}, s.lower, x.options());
  rows.narrow(0, 0, half).fill_(s.upper);
  rows = rows.view({1, 1, 1, H, 1});
  at::Tensor e = x;
  for (int64_t i = 0; i < w.size(0); ++i) {
    const at::Tensor wi = w[i].clamp_min(0).view({1, 1, F, 1, 1});  // entries with w <= 0 leave E as it is
    // overlap = x (1 - overlap w) + entry (overlap w); E = E (1 - a) + overlap a, each as one lerp.
    const at::Tensor overlap = at::lerp(x, history[static_cast<size_t>(i)], (wi * s.overlap).expand_as(x));
    e = at::lerp(e, overlap, (wi * rows).expand_as(x));
  }
  return e;
}

std::vector<at::Tensor> frame_history(const at::Tensor& x, int64_t window) {
  check_video(x, "frame history");
  const int64_t F = x.size(2);
  std::vector<at::Tensor> out;
  for (int64_t i = 0; i < window; ++i) {
    const int64_t lag = window - i;
    std::vector<int64_t> index(static_cast<size_t>(F));
    for (int64_t f = 0; f < F; ++f) index[static_cast<size_t>(f)] = std::max<int64_t>(f - lag, 0);
    out.push_back(x.index_select(2, at::tensor(index, at::kLong).to(x.device())));
  }
  return out;
}

at::Tensor frame_motion(const at::Tensor& x) {
  check_video(x, "frame motion");
  const int64_t F = x.size(2);
  if (F < 2) return x.narrow(2, 0, 0);
  return x.narrow(2, 1, F - 1) - x.narrow(2, 0, F - 1);
}

at::Tensor boosted_motion(const at::Tensor& x, double beta_pred, double gamma) {
  const at::Tensor m = frame_motion(x);
  const int64_t n = m.size(2);
  if (n == 0) return m;
  // The motion one frame earlier; the first motion stands in for its own predecessor (no prediction term).
  const at::Tensor prev = n == 1 ? m : at::cat({m.narrow(2, 0, 1), m.narrow(2, 0, n - 1)}, 2);
  return (m + (m - prev) * beta_pred) * gamma;
}

at::Tensor decomposed_motion(const at::Tensor& x, const DecompositionSettings& s) {
  const at::Tensor m = frame_motion(x);
  const int64_t n = m.size(2);
  if (n == 0) return m;
  const int64_t H = m.size(3), W = m.size(4);
  const int64_t kh = std::min(s.pool, H), kw = std::min(s.pool, W);
  const at::Tensor pooled = at::avg_pool3d(m.abs(), {1, kh, kw}, {1, kh, kw});
  const at::Tensor global = at::upsample_nearest3d(pooled, {n, H, W});
  const at::Tensor local = m - global;
  return local * (s.object_share * s.object_gain) + global * (s.camera_share * s.camera_gain);
}

at::Tensor sparse_tokens(const at::Tensor& x, double threshold, double gain) {
  check_video(x, "sparse tokens");
  const at::Tensor saliency = (x * x).sum(1).sqrt();               // [B, F, H, W] (norm over dim 1 is slow)
  const at::Tensor mean = saliency.mean({2, 3}, /*keepdim=*/true);  // per video and frame
  const at::Tensor mask = (saliency > mean * threshold).to(x.scalar_type());
  return x * (1 + mask * gain).unsqueeze(1);
}

at::Tensor depth_proxy(const at::Tensor& x, double eps) {
  check_video(x, "depth proxy");
  const at::Tensor g = x.mean(1);  // [B, F, H, W]
  const at::Tensor gx = gradient(g, 3), gy = gradient(g, 2);
  return at::sqrt(gx * gx + gy * gy + eps);
}

at::Tensor depth_modulation(const at::Tensor& x, double eps) {
  const at::Tensor d = depth_proxy(x, eps);
  const at::Tensor flat = d.flatten(2);
  const at::Tensor lo = std::get<0>(flat.min(2, true)).unsqueeze(3);
  const at::Tensor hi = std::get<0>(flat.max(2, true)).unsqueeze(3);
  return 0.5 + 0.5 * (d - lo) / (hi - lo + eps);
}

at::Tensor world_motion(const at::Tensor& x, double eps) {
  const at::Tensor m = frame_motion(x);
  const int64_t n = m.size(2);
  if (n == 0) return m;
  return m * depth_modulation(x, eps).narrow(1, 1, n).unsqueeze(1);
}

at::Tensor write_back(const at::Tensor& x, const at::Tensor& motion, double blend_weight, const std::string& mode) {
  const int64_t F = x.size(2);
  if (F < 2) return x;
  if (mode == "prev_frame") {
    const at::Tensor moved = x.narrow(2, 1, F - 1) * (1 - blend_weight) +
                             (x.narrow(2, 0, F - 1) + motion) * blend_weight;
    return at::cat({x.narrow(2, 0, 1), moved}, 2);
  }
  if (mode == "chained") {
    std::vector<at::Tensor> frames = {x.narrow(2, 0, 1)};
    for (int64_t f = 1; f < F; ++f)
      frames.push_back(x.narrow(2, f, 1) * (1 - blend_weight) + (frames.back() + motion.narrow(2, f - 1, 1)) * blend_weight);
    return at::cat(frames, 2);
  }
  throw ConfigError("write_back: unknown mode '" + mode + "' (prev_frame or chained)");
}

}  // namespace vdlab::unipc_dynamic
