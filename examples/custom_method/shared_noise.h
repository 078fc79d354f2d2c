#pragma once
// An example method: every frame of a video starts from the same noise draw (the rho -> 1 limit of
// correlated noise), then any registered sampler denoises it.
namespace example {

// Adds "shared-noise" to vdlab's method registry.
void register_shared_noise();

}  // namespace example
