#pragma once
namespace vdlab {
// Registers the method "motion-adaptive" (methods/motion_adaptive/motion_adaptive.cpp). Safe to call
// more than once.
void register_motion_adaptive_method();
}  // namespace vdlab
