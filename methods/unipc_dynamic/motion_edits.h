#pragma once
// The edits of UniPC-Dynamic (METHODS.md 2, seed 000) as pure functions of a video latent
// x [B, C, F, H, W]: half-frame overlapping temporal attention, the stage-1 motion boost, the stage-2
// motion decomposition and sparse-token distillation, the stage-3 world-space control, and the write-back
// of an edited motion into the sample. The step hooks (motion_edit_hook.cpp) place them in the sampling
// loop; keeping them pure lets the tests check each against numbers computed by hand.
//
// "Motion" is along the frame axis of the current sample: M[f] = x[f] - x[f - 1] for f = 1..F-1, a tensor
// [B, C, F - 1, H, W] whose entry j belongs to frame j + 1. Frame 0 has no motion and is never edited by
// a motion stage.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vdlab::unipc_dynamic {

struct AttentionSettings {
  double overlap = 0.3;  // the history's share in the overlap sample, times w
  double upper = 0.4;    // blend of the upper half (rows [0, H/2)), times w
  double lower = 0.2;    // blend of the lower half, times w
  double alpha = 0.5;    // the overlap ratio alpha_overlap in w_i = ((i+1)/K) (u + l)/2 alpha
};

// w [K, F] of the half-frame attention: for history entry i (0-based, oldest first) and frame f,
// ((i + 1) / K) * (u + l) * 0.5 * alpha, where u and l are the batch means of the per-video cosine
// similarities of frame f's flattened upper and lower halves with the entry's (K = history.size()).
at::Tensor half_frame_weights(const at::Tensor& x, const std::vector<at::Tensor>& history, double alpha);

// The attention's result E: starts as x; for each entry in order, on the frames where its w > 0,
// overlap = x (1 - overlap w) + entry (overlap w), E_upper <- E_upper (1 - upper w) + overlap_upper (upper w)
// and E_lower likewise with `lower`. An empty history returns x itself.
at::Tensor half_frame_attention(const at::Tensor& x, const std::vector<at::Tensor>& history,
                                const AttentionSettings& s);

// History entries read along the frame axis instead of the trajectory: entry i of K (oldest first) is x
// shifted by K - i frames (frame f sees frame max(f - (K - i), 0)).
std::vector<at::Tensor> frame_history(const at::Tensor& x, int64_t window);

// M [B, C, F - 1, H, W] (empty along F when F < 2).
at::Tensor frame_motion(const at::Tensor& x);

// Stage 1: M_pred = M + (M - M_prev) beta_pred, M_enh = gamma M_pred, where M_prev of frame f is the
// motion of frame f - 1; frame 1 has no earlier motion and gets no prediction term.
at::Tensor boosted_motion(const at::Tensor& x, double beta_pred, double gamma);

struct DecompositionSettings {
  int64_t pool = 8;            // avg-pool kernel (and stride) over H and W, capped at the frame size
  double object_gain = 1.2;    // M_object = object_gain M_local
  double camera_gain = 0.8;    // M_camera = camera_gain M_global
  double object_share = 0.7;   // M_comb = object_share M_object + camera_share M_camera
  double camera_share = 0.3;
};

// Stage 2: M_global = nearest-upsample(avgpool(|M|, pool), (H, W)); M_local = M - M_global;
// M_comb = object_share object_gain M_local + camera_share camera_gain M_global.
at::Tensor decomposed_motion(const at::Tensor& x, const DecompositionSettings& s);

// Stage 2, sparse tokens (a token: the channel vector at one position of one frame): I = ||token||_2,
// each token with I > threshold * mean(I over its frame's positions) is multiplied by 1 + gain.
at::Tensor sparse_tokens(const at::Tensor& x, double threshold, double gain);

// Stage 3 depth proxy D [B, F, H, W] = sqrt(grad_x(G)^2 + grad_y(G)^2 + eps) of the channel mean G, with
// central differences inside and one-sided differences at the borders (numpy.gradient, spacing 1).
at::Tensor depth_proxy(const at::Tensor& x, double eps);
// D_n = (D - min) / (max - min + eps) per video and frame; the modulation is 0.5 + 0.5 D_n.
at::Tensor depth_modulation(const at::Tensor& x, double eps);
// Stage 3: M_world = M (0.5 + 0.5 D_n), D_n of frame f from the current sample's frame f.
at::Tensor world_motion(const at::Tensor& x, double eps);

// How an edited motion goes back into the sample (the source leaves it open):
// - "prev_frame": x[f] <- (1 - bw) x[f] + bw (x[f - 1] + M'[f]) with the unedited previous frame;
// - "chained": the same, frame after frame, with the already written-back previous frame.
at::Tensor write_back(const at::Tensor& x, const at::Tensor& motion, double blend_weight, const std::string& mode);

}  // namespace vdlab::unipc_dynamic
