#pragma once
// The baseline methods "uniform" (noise init -> sampler -> videos) and "correlated-noise" (the same with
// AR(1) noise across frames).
namespace vdlab {

// Registers both in method_registry(). Safe to call more than once.
void register_uniform_methods();

}  // namespace vdlab
