// The one place built-in entries are registered. Adding a method: a new file under its folder and a
// line here.
#include "methods/method.h"
#include "methods/backbone/register_backbones.h"
#include "methods/hooks/hook_registry.h"
#include "methods/noise/noise_init.h"
#include "methods/samplers/sampler.h"
#include "methods/backbone/analytic.h"
#include "methods/drmo/drmo.h"
#include "methods/fvdm/fvdm_methods.h"
#include "methods/motion_adaptive/motion_adaptive.h"
#include "methods/uniform.h"
#include "methods/unipc_dynamic/unipc_dynamic.h"
#include "methods/vmc/vmc.h"

namespace vdlab {

void register_builtin_methods() {
  static bool done = false;
  if (done) return;
  done = true;
  register_builtin_noise();
  register_builtin_samplers();
  register_builtin_hooks();
  register_analytic_backbones();
  register_uniform_methods();
  register_unipc_dynamic();
  register_fvdm_methods();
  register_vmc_method();
  register_drmo_method();
  register_motion_adaptive_method();
  register_builtin_backbones();
}

}  // namespace vdlab
