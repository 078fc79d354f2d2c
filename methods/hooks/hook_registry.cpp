#include "methods/hooks/hook_registry.h"

namespace vdlab {

HookRegistry& hook_registry() {
  static HookRegistry registry("hook");
  return registry;
}

void register_builtin_hooks() {
  static bool done = false;
  if (done) return;
  done = true;
  register_edit_probe(hook_registry());
}

}  // namespace vdlab
