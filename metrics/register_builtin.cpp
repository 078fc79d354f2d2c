// The one place built-in metrics are registered.
#include "metrics/builtin_metrics.h"
#include "metrics/metric.h"

namespace vdlab {

void register_builtin_metrics() {
  static bool done = false;
  if (done) return;
  done = true;
  MetricRegistry& r = metric_registry();
  register_frechet_metrics(r);  // fid, fvd
  register_clip_metrics(r);     // clip_sim, fc
  register_pixel_metrics(r);    // mm, flow_motion, stability
  register_smoothness_metric(r);
  register_frame_range_metric(r);
  register_source_fidelity_metrics(r);  // motion_fidelity, appearance_change
}

}  // namespace vdlab
