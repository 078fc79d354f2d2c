#pragma once
// UniPC-Dynamic (METHODS.md 2, seed 000): the method `unipc-dynamic` (the generation pipeline with UniPC
// order 2 bh2, 20 steps, and the `unipc-dynamic` step hook configured by a mode of the source's table
// A.2) and its component hooks.
namespace vdlab {

// Registers the hooks (unipc-dynamic, half-frame-attention, motion-boost, motion-decomposition,
// sparse-tokens, world-space) and the method. Safe to call more than once.
void register_unipc_dynamic();

}  // namespace vdlab
