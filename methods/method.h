#pragma once
// A method turns noise into videos with a backbone: noise init, sampler, step hooks, guidance, and
// whatever the method adds (METHODS.md 2 to 6). Adding a method is one new file under its folder and
// one registration line in methods/register_builtin.cpp.
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "core/params.h"
#include "core/registry.h"
#include "datasets/video.h"
#include "methods/backbone/backbone.h"

namespace vdlab {

struct GenerateRequest {
  int64_t count = 0;                 // videos to generate
  int64_t frames = 16, height = 32, width = 32;
  int64_t batch_size = 8;            // videos per sampler call
  std::vector<int64_t> labels;       // per video, or empty (unconditional)
  std::vector<std::string> captions; // per video, or empty
  std::vector<Clip> references;      // source clips for methods that start from one (VMC, FVDM i2v)
  uint64_t seed = 0;                 // every random draw of the cell comes from this seed
  std::string device = "cpu";
};

struct GenerateResult {
  torch::Tensor videos;  // [N, C, F, H, W] float in [-1, 1] (not yet clamped or quantised)
  int64_t nfe = 0;       // network evaluations per video (the sampler's NFE; a guided call counts once)
  Json stats = Json::object();  // method-specific measurements recorded with the cell
  // The captions the videos were made for, when a method changes the request's (VMC's target captions);
  // empty: the request's. Text alignment is scored against these.
  std::vector<std::string> captions;
};

class Method {
 public:
  virtual ~Method() = default;
  virtual GenerateResult generate(Backbone& backbone, const GenerateRequest& request) = 0;
};

using MethodPtr = std::shared_ptr<Method>;
using MethodRegistry = Registry<MethodPtr>;

MethodRegistry& method_registry();
// Registers every built-in method, sampler, noise init, hook and backbone. Safe to call more than once.
void register_builtin_methods();

}  // namespace vdlab
