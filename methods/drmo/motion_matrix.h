#pragma once
// Dr.Mo's parameter-free motion matrices (METHODS.md 3, the source's eq. 3): each frame's residual (or
// decoder feature map) becomes tokens, one per spatial position or per p x p patch with the channels as
// features; tokens are L2-normalised and M = norm(a) norm(b)^T is the N x N cosine matrix between the
// positions of frame i and frame j. M is what step consistency (NMI) is measured on. To move content
// from frame i to frame j, g(x_i) = x_i^T P with P the transition matrix: M itself (the literal eq. 3), or
// its column softmax at a temperature (sharpening), so each token of frame j is a convex mix of frame
// i's tokens that look like it.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace vdlab {

// x [B, C, H, W] -> tokens [B, N, D] with N = (H / p) (W / p) positions and D = C p p features.
// H and W must be multiples of p.
at::Tensor to_tokens(const at::Tensor& x, int64_t patch);
// The inverse of to_tokens for a map of C channels and H x W positions.
at::Tensor from_tokens(const at::Tensor& tokens, int64_t channels, int64_t height, int64_t width, int64_t patch);

// Cosine matrix [B, N, N] between the tokens of a and b (each [B, C, H, W]); entry (m, n) compares
// position m of a with position n of b. A zero token gives zero cosines, never NaN.
at::Tensor motion_matrix(const at::Tensor& a, const at::Tensor& b, int64_t patch);

// The transition used to move content: softmax over the source positions (dim 1) of M / temperature,
// or M itself when temperature is 0.
at::Tensor transition_matrix(const at::Tensor& m, double temperature);

// g(x) = x^T P: x [B, C, H, W] as tokens [B, N, D]; token n of the result is sum_m P[m, n] x_m.
at::Tensor transform(const at::Tensor& x, const at::Tensor& transition, int64_t patch);

// Transformation error per video [B]: |target - g(source)|_1 / |target|_1 (relative, so errors of steps
// with residuals of very different sizes compare). 0 where the target is all zero and matched.
at::Tensor transformation_error(const at::Tensor& source, const at::Tensor& target, const at::Tensor& transition,
                                int64_t patch);

}  // namespace vdlab
