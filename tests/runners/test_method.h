#pragma once
// A method for planner tests that needs no backbone or sampler: registered once under "test-constant".
#include "methods/method.h"
#include "methods/noise/noise_init.h"

namespace vdlab::testing {

inline void register_test_method() {
  register_builtin_methods();
  if (method_registry().contains("test-constant")) return;
  method_registry().add({"test-constant",
                         "fills every video with one value (planner and runner tests)",
                         {{"value", 0.0, "the value"},
                          {"steps", 10, "pretend step count"},
                          {"tags", Json::array(), "a list-typed parameter (never a grid axis)"},
                          noise_registry().nested_param("noise", {{"name", "iid"}}, "noise init")},
                         [](const Params& p) -> MethodPtr {
                           struct Constant : Method {
                             double value;
                             explicit Constant(double v) : value(v) {}
                             GenerateResult generate(Backbone&, const GenerateRequest& r) override {
                               GenerateResult out;
                               out.videos = torch::full({r.count, 3, r.frames, r.height, r.width}, value);
                               return out;
                             }
                           };
                           return std::make_shared<Constant>(p.get<double>("value"));
                         }});
}

}  // namespace vdlab::testing
