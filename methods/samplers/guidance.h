#pragma once
// The layer between a backbone and a sampler: builds the Denoise callback with the videos'
// conditioning and classifier-free guidance, and counts network evaluations.
#include <ATen/core/Tensor.h>

#include <cstdint>

#include "methods/backbone/backbone.h"
#include "methods/samplers/denoise.h"

namespace vdlab {

struct DenoiseCounter {
  int64_t calls = 0;     // denoise calls (the sampler's NFE)
  int64_t forwards = 0;  // backbone forward passes of a batch (two per call under guidance)
};

// out = uncond + scale (cond - uncond), both branches in one forward of a doubled batch whose second
// half is unconditional: label -1 for each label, blank_caption() for each caption (what training's
// condition dropout feeds the network). With scale 1, or an unconditional backbone, or neither labels nor
// captions, the callback is a plain forward. `counter` may be null.
Denoise guided_denoise(Backbone& backbone, Conditioning cond, double cfg_scale, DenoiseCounter* counter = nullptr);

}  // namespace vdlab
