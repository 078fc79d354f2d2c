#pragma once
// The Gaussian draws of a stochastic step (DDPM, DDIM with eta > 0), and where they come from.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "core/params.h"
#include "methods/samplers/sample_context.h"

namespace vdlab {

// Without an injected step_noise: the fast fill seeded by one 64-bit draw of the context's generator
// (gaussian_fill.h), or LibTorch's randn on the generator itself (the stream Python torch draws from the
// same seed: diffusers' published DDPM loop is reproduced with it).
enum class NoiseDraws { fast, torch };
NoiseDraws parse_noise_draws(const std::string& name);
// The sampler parameter of that choice ("noise_draws", default fast).
ParamSpec noise_draws_spec();

// The seed of a fast draw (NoiseDraws::fast without an injected step_noise): one 64-bit word of the
// context's generator, taken as step_noise takes it (a stochastic sampler that streams the draws itself,
// ancestral_update.h, calls this where it would have called step_noise).
uint64_t fast_noise_seed(const SampleContext& ctx);

// The draw of step `step` shaped and typed like `like`: ctx.step_noise when set, else from ctx.generator.
at::Tensor step_noise(const SampleContext& ctx, int64_t step, const at::Tensor& like, NoiseDraws draws);

}  // namespace vdlab
