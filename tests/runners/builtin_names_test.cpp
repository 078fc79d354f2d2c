// Every built-in entry is registered under its documented name (explicit registration, so nothing is
// silently dropped by the linker), and registration twice is harmless.
#include <gtest/gtest.h>

#include "datasets/clip_source.h"
#include "methods/hooks/hook_registry.h"
#include "methods/method.h"
#include "methods/noise/noise_init.h"
#include "methods/samplers/sampler.h"
#include "metrics/metric.h"

namespace vdlab {
namespace {

template <class R>
void expect_names(const R& registry, const std::vector<std::string>& names) {
  for (const auto& n : names) EXPECT_TRUE(registry.contains(n)) << registry.kind() << " '" << n << "' is missing";
  for (const auto& kv : registry.entries()) EXPECT_FALSE(kv.second.description.empty()) << kv.first;
}

TEST(BuiltinNamesTest, EveryExpectedNameIsRegistered) {
  register_builtin_datasets();
  register_builtin_methods();
  register_builtin_metrics();
  register_builtin_methods();  // idempotent
  expect_names(dataset_registry(), {"moving-shapes", "moving-fashion-mnist", "video-folder", "hdf5"});
  expect_names(method_registry(), {"uniform", "correlated-noise", "unipc-dynamic", "fvdm-standard", "fvdm-image-to-video",
                                   "fvdm-interpolation", "fvdm-progressive", "fvdm-long-video", "vmc",
                                   "motion-adaptive"});
  expect_names(sampler_registry(), {"ddpm", "ddim", "euler", "dpmsolver++", "unipc"});
  expect_names(noise_registry(), {"iid", "ar1", "mixed", "ddim-inversion"});
  expect_names(hook_registry(), {"edit-probe"});
  expect_names(backbone_registry(), {"unet", "torchscript", "diffusers-test", "gaussian", "gaussian-mixture"});
  expect_names(metric_registry(), {"fvd", "fid", "clip_sim", "fc", "mm", "flow_motion", "stability", "smoothness",
                                   "frames", "motion_fidelity", "appearance_change"});
}

}  // namespace
}  // namespace vdlab
