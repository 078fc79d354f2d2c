#include "methods/drmo/motion_matrix.h"

#include <ATen/ATen.h>

#include <string>

#include "core/error.h"

namespace vdlab {

at::Tensor to_tokens(const at::Tensor& x, int64_t patch) {
  if (x.dim() != 4) throw Error("motion matrix: expected [B, C, H, W]");
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (patch < 1 || h % patch != 0 || w % patch != 0)
    throw ConfigError("motion matrix: patch " + std::to_string(patch) + " does not divide " + std::to_string(h) + " x " +
                      std::to_string(w));
  // [B, C, H/p, p, W/p, p] -> [B, H/p, W/p, C, p, p] -> [B, N, C p p]
  return x.reshape({b, c, h / patch, patch, w / patch, patch})
      .permute({0, 2, 4, 1, 3, 5})
      .reshape({b, (h / patch) * (w / patch), c * patch * patch});
}

at::Tensor from_tokens(const at::Tensor& tokens, int64_t channels, int64_t height, int64_t width, int64_t patch) {
  const int64_t b = tokens.size(0);
  return tokens.reshape({b, height / patch, width / patch, channels, patch, patch})
      .permute({0, 3, 1, 4, 2, 5})
      .reshape({b, channels, height, width});
}

at::Tensor motion_matrix(const at::Tensor& a, const at::Tensor& b, int64_t patch) {
  if (!a.sizes().equals(b.sizes())) throw Error("motion matrix: the two maps differ in shape");
  auto unit = [&](const at::Tensor& x) {
    const at::Tensor t = to_tokens(x, patch);
    return t / t.norm(2, -1, true).clamp_min(1e-12);
  };
  return at::bmm(unit(a), unit(b).transpose(1, 2));
}

at::Tensor transition_matrix(const at::Tensor& m, double temperature) {
  if (temperature < 0) throw ConfigError("motion matrix: temperature must be 0 (none) or positive");
  if (temperature == 0) return m;
  return at::softmax(m / temperature, 1);
}

at::Tensor transform(const at::Tensor& x, const at::Tensor& transition, int64_t patch) {
  const at::Tensor t = to_tokens(x, patch);  // [B, N, D]
  if (transition.size(1) != t.size(1) || transition.size(2) != t.size(1))
    throw Error("motion matrix: " + std::to_string(t.size(1)) + " tokens but a " + std::to_string(transition.size(1)) +
                " x " + std::to_string(transition.size(2)) + " transition");
  const at::Tensor moved = at::bmm(transition.transpose(1, 2).to(t.dtype()), t);  // token n = sum_m P[m, n] x_m
  return from_tokens(moved, x.size(1), x.size(2), x.size(3), patch);
}

at::Tensor transformation_error(const at::Tensor& source, const at::Tensor& target, const at::Tensor& transition,
                                int64_t patch) {
  const at::Tensor diff = (target - transform(source, transition, patch)).abs().flatten(1).sum(1);
  const at::Tensor size = target.abs().flatten(1).sum(1);
  return at::where(size > 0, diff / size.clamp_min(1e-30), diff);
}

}  // namespace vdlab
