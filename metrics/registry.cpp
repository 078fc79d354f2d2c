#include "metrics/metric.h"

namespace vdlab {

MetricRegistry& metric_registry() {
  static MetricRegistry registry("metric");
  return registry;
}

}  // namespace vdlab
