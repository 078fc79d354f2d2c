#pragma once
// UniPC-Dynamic's components as step hooks (METHODS.md 2). One hook class applies the enabled components
// in the source's order (half-frame attention, stage-1 boost, stage-2 decomposition, sparse tokens,
// stage-3 world-space control) at the chosen place, and measures what it did: the edit's norm per step
// and the share of it the next UniPC corrector undoes.
//
// Registered hooks:
//   unipc-dynamic          every component with an on/off switch (what the method `unipc-dynamic` attaches)
//   half-frame-attention   motion-boost   motion-decomposition   sparse-tokens   world-space
//                          one component each, for use on any pipeline method (`hooks: [...]`)
#include <string>

#include "core/params.h"
#include "methods/hooks/hook_registry.h"
#include "methods/unipc_dynamic/motion_edits.h"

namespace vdlab::unipc_dynamic {

struct EditSettings {
  bool attention = false, boost = false, decomposition = false, sparse = false, world = false;
  // Where the edit is applied: "after_step" (the source: after UniPC's step, before the next corrector),
  // "after_step_corrector_off" (after the step, the next corrector switched off) or "model_input"
  // (on the model input before each denoise call).
  std::string place = "after_step";
  // The history of the attention: "trajectory" (the last `window` post-step samples of the denoising
  // trajectory, as the source's code keeps them) or "frames" (the `window` preceding frames of the video).
  std::string history = "trajectory";
  int64_t window = 4;
  AttentionSettings attn;
  double motion_scale = 1.08, beta_pred = 0.3, blend_weight = 0.08;
  std::string writeback = "prev_frame";
  DecompositionSettings decomposition_settings;
  double sparse_threshold = 1.2, sparse_gain = 0.03;
  double depth_eps = 1e-6;
  // Measure each edit (norm, attenuation by the next corrector); off only to time the edits alone.
  bool measure = true;

  bool any() const { return attention || boost || decomposition || sparse || world; }
};

// The enabled components applied to x in order; `history` is the attention's (oldest first).
at::Tensor apply_edits(const at::Tensor& x, const std::vector<at::Tensor>& history, const EditSettings& s);

// The parameters of the full hook ("unipc-dynamic"), switches included, with their defaults.
ParamSpecs unipc_dynamic_hook_specs();
// Settings from resolved parameters (any subset of unipc_dynamic_hook_specs; absent ones keep their
// defaults); refuses values out of range with the parameter's path.
EditSettings edit_settings_from(const Params& p);

void register_unipc_dynamic_hooks(HookRegistry& registry);

}  // namespace vdlab::unipc_dynamic
