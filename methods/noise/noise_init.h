#pragma once
// Initial noise for sampling, one axis of every study (METHODS.md 4): i.i.d. Gaussian, AR(1)
// correlated across frames, or a mix of one shared and one per-frame draw. Every draw comes from the
// generator it is given, so a cell's seed fixes its noise.
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <c10/core/TensorOptions.h>

#include <memory>

#include "core/registry.h"

namespace vdlab {

class NoiseInit {
 public:
  virtual ~NoiseInit();
  // A [B, C, F, H, W] draw with unit variance per element.
  virtual at::Tensor draw(at::IntArrayRef shape, at::Generator& gen, const at::TensorOptions& opts) const = 0;
};

using NoiseInitPtr = std::shared_ptr<const NoiseInit>;
using NoiseRegistry = Registry<NoiseInitPtr>;

NoiseRegistry& noise_registry();
// Registers "iid", "ar1", "mixed" and "ddim-inversion" (methods/noise/ddim_inversion.h). Safe to call more than once.
void register_builtin_noise();

}  // namespace vdlab
