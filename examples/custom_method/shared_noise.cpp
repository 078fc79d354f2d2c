// A method built from the generation pipeline's parts: its own noise init (one draw per video, repeated
// over the frames) with any registered sampler and step hooks. The pipeline does everything else
// (batches, conditioning and guidance, the sampler run, NFE and hook measurements).
#include "shared_noise.h"

#include <ATen/ATen.h>

#include "methods/hooks/hook_registry.h"
#include "methods/method.h"
#include "methods/pipeline/pipeline.h"

namespace example {

using namespace vdlab;

namespace {

// One draw per video, repeated over the frame axis (the rho -> 1 limit of correlated noise).
class SharedNoiseInit : public NoiseInit {
 public:
  at::Tensor draw(at::IntArrayRef shape, at::Generator& gen, const at::TensorOptions& opts) const override {
    return at::randn({shape[0], shape[1], 1, shape[3], shape[4]}, gen, opts).expand(shape).contiguous();
  }
};

}  // namespace

void register_shared_noise() {
  register_builtin_methods();
  if (method_registry().contains("shared-noise")) return;
  method_registry().add(
      {"shared-noise",
       "every frame starts from one shared noise draw, then any sampler",
       {sampler_registry().nested_param("sampler", {{"name", "ddim"}, {"steps", 10}}, "the sampler and its options"),
        hook_registry().nested_list_param("hooks", "step hooks by name with their parameters")},
       [](const Params& p) -> MethodPtr {
         PipelineParts parts;
         parts.sampler = sampler_registry().make_resolved(p.at("sampler"), p.field("sampler"));
         parts.noise = std::make_shared<SharedNoiseInit>();
         parts.hooks = p.at("hooks");
         return std::make_shared<PipelineMethod>(GenerationPipeline(std::move(parts)));
       }});
}

}  // namespace example
