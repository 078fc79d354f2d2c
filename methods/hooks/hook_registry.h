#pragma once
// Step hooks by name, so an experiment file attaches them to a variant with their parameters:
//   variants: [{method: uniform, hooks: [{name: edit-probe, step: 5, scale: 0.1}]}]
// Each generate call builds its hooks afresh from their resolved configs; what they measure lands in
// the cell's stats under "hooks".
#include "core/registry.h"
#include "methods/hooks/step_hooks.h"

namespace vdlab {

using HookRegistry = Registry<StepHookPtr>;

HookRegistry& hook_registry();
// Registers the built-in hooks ("edit-probe"). Safe to call more than once.
void register_builtin_hooks();

// Registration of each built-in hook (one file each).
void register_edit_probe(HookRegistry& registry);

}  // namespace vdlab
