#pragma once
namespace vdlab {
// Registers the method "vmc" (methods/vmc/vmc.cpp). Safe to call more than once.
void register_vmc_method();
}  // namespace vdlab
