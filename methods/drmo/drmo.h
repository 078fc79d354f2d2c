#pragma once
namespace vdlab {
// Registers the method "drmo" and the step hook "nmi" (methods/drmo/). Safe to call more than once.
void register_drmo_method();
}  // namespace vdlab
