// The one place built-in datasets are registered.
#include "datasets/clip_source.h"

namespace vdlab {

void register_builtin_datasets() {
  static bool done = false;
  if (done) return;
  done = true;
}

}  // namespace vdlab
