#pragma once
// A user's own denoiser as a TorchScript module: `backbone: {torchscript: PATH}`.
//
// The module's signature (checked at load, with a clear error naming what was found):
//   forward(self, x: Tensor, t: Tensor, cond: Tensor) -> Tensor
//     x    [B, C, F, H, W] float32, the noisy video (VP: x_t = alpha_t x0 + sigma_t eps)
//     t    [B, F] float32, the training timestep of every frame, in [0, T)
//     cond [B] int64 class labels, -1 = unconditional (all -1 for unconditional sampling)
//     returns the prediction, shaped like x
// Parameterisation: backbone.prediction (eps | v | x0), or "module" (the default) to read the module's
// string attribute `prediction`. The schedule is backbone.schedule ({betas, beta_start, beta_end,
// num_train_timesteps}); channels are backbone.channels; the module may carry a bool attribute
// `conditional` (else backbone.conditional).
// backbone.sha256 pins the file: all 64 hex digits of its SHA-256; a file with another hash is refused
// in one line naming the file and both hashes, before any of it is deserialised (a TorchScript file is
// code), and what loads is exactly the bytes that were hashed.
#include "methods/backbone/backbone.h"

namespace vdlab {

BackboneRegistry::Entry torchscript_backbone_entry();

// Loads and checks a TorchScript denoiser (the builder's work, also usable directly).
BackbonePtr load_torchscript_backbone(const std::string& path, const Json& resolved_params,
                                      const std::string& device = "cpu", const std::string& where = "backbone");

}  // namespace vdlab
