// The one place built-in metrics are registered.
#include "metrics/metric.h"

namespace vdlab {

void register_builtin_metrics() {
  static bool done = false;
  if (done) return;
  done = true;
}

}  // namespace vdlab
