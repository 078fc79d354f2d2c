// The one place built-in entries are registered. Adding a method: a new file under its folder and a
// line here.
#include "methods/method.h"

namespace vdlab {

void register_builtin_methods() {
  static bool done = false;
  if (done) return;
  done = true;
}

}  // namespace vdlab
