// The baseline methods, each the generation pipeline with its parts and nothing else: noise init ->
// sampler (with optional classifier-free guidance and step hooks) -> videos. "uniform" draws i.i.d. noise
// by default; "correlated-noise" is the same with AR(1) noise across frames (METHODS.md 4).
#include "methods/uniform.h"

#include "methods/method.h"
#include "methods/pipeline/pipeline.h"

namespace vdlab {

namespace {

void add_uniform(MethodRegistry& r, const std::string& name, const std::string& description, Json noise_default) {
  const Json sampler_default = {{"name", "unipc"}, {"order", 2}, {"variant", "bh2"}, {"steps", 20}};
  r.add({name, description, pipeline_param_specs(sampler_default, std::move(noise_default)),
         [](const Params& p) -> MethodPtr {
           return std::make_shared<PipelineMethod>(GenerationPipeline(pipeline_parts(p)));
         }});
}

}  // namespace

void register_uniform_methods() {
  static bool done = false;
  if (done) return;
  done = true;
  add_uniform(method_registry(), "uniform", "noise init -> sampler -> videos (i.i.d. noise by default)",
              Json{{"name", "iid"}});
  add_uniform(method_registry(), "correlated-noise", "uniform with AR(1) noise across frames (rho 0.6 by default)",
              Json{{"name", "ar1"}, {"rho", 0.6}});
}

}  // namespace vdlab
