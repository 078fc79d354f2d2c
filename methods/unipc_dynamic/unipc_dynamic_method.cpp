// The method `unipc-dynamic`: the generation pipeline with the `unipc-dynamic` hook first in its hook
// list. `mode` picks the source's preset (table A.2, presets.h); each preset value may be overridden
// (null: the mode's value), and every other parameter of the hook is the method's with its default, so
// the resolved variant records every open choice. The effective settings of the hook and what it measured
// are recorded in the cell's stats under "edit" (and under "hooks" like any hook).
#include "methods/unipc_dynamic/unipc_dynamic.h"

#include <set>

#include "core/error.h"
#include "methods/method.h"
#include "methods/pipeline/pipeline.h"
#include "methods/unipc_dynamic/motion_edit_hook.h"
#include "methods/unipc_dynamic/presets.h"

namespace vdlab {

namespace {

using unipc_dynamic::ModePreset;

// The parameters a mode sets; null in a variant means the mode's value.
const std::set<std::string>& preset_fields() {
  static const std::set<std::string> fields = {"motion_scale", "blend_weight", "attention", "boost",
                                               "decomposition", "sparse", "world"};
  return fields;
}

Json preset_value(const ModePreset& m, const std::string& field) {
  if (field == "motion_scale") return m.motion_scale;
  if (field == "blend_weight") return m.blend_weight;
  if (field == "attention") return m.attention;
  if (field == "boost") return m.boost;
  if (field == "decomposition") return m.decomposition;
  if (field == "sparse") return m.sparse;
  return m.world;
}

class UniPCDynamicMethod : public Method {
 public:
  explicit UniPCDynamicMethod(GenerationPipeline pipeline) : pipeline_(std::move(pipeline)) {}
  GenerateResult generate(Backbone& backbone, const GenerateRequest& request) override {
    GenerateResult r = pipeline_.generate(backbone, request);
    r.stats["edit"] = r.stats.at("hooks").at(0);  // the method's own hook comes first
    return r;
  }

 private:
  GenerationPipeline pipeline_;
};

ParamSpecs method_specs() {
  const Json sampler_default = {{"name", "unipc"}, {"order", 2}, {"variant", "bh2"}, {"steps", 20}};
  ParamSpecs specs = pipeline_param_specs(sampler_default, Json{{"name", "iid"}});
  specs.push_back({"mode", "balanced",
                   "preset of the source's table A.2: safe, balanced, dynamic; off = every component off (plain "
                   "UniPC)",
                   unipc_dynamic::mode_names(), {}});
  for (ParamSpec s : unipc_dynamic::unipc_dynamic_hook_specs()) {
    if (preset_fields().count(s.name)) {
      s.help += " (null: the mode's value)";
      s.default_value = Json();
    }
    specs.push_back(std::move(s));
  }
  return specs;
}

}  // namespace

void register_unipc_dynamic() {
  static bool done = false;
  if (done) return;
  done = true;
  register_builtin_hooks();
  unipc_dynamic::register_unipc_dynamic_hooks(hook_registry());
  method_registry().add(
      {"unipc-dynamic",
       "UniPC with the source's motion edits after each step (modes safe / balanced / dynamic of seed 000); "
       "measures the edit and what the next corrector undoes",
       method_specs(), [](const Params& p) -> MethodPtr {
         const ModePreset* preset = unipc_dynamic::find_mode_preset(p.get<std::string>("mode"));
         if (!preset) p.fail("mode", "unknown mode");
         Json hook = {{"name", "unipc-dynamic"}};
         for (const ParamSpec& s : unipc_dynamic::unipc_dynamic_hook_specs()) {
           const Json& v = p.at(s.name);
           if (preset_fields().count(s.name) && v.is_null()) {
             hook[s.name] = preset_value(*preset, s.name);
           } else {
             if (json_type_name(v) != json_type_name(s.default_value) &&
                 !(v.is_number() && s.default_value.is_number_float()))
               p.fail(s.name, "expected " + json_type_name(s.default_value) + " or null, got " + json_type_name(v));
             hook[s.name] = v;
           }
         }
         PipelineParts parts = pipeline_parts(p);
         Json hooks = Json::array({hook_registry().resolve(hook, p.path())});
         for (const Json& h : parts.hooks) hooks.push_back(h);
         parts.hooks = std::move(hooks);
         hook_registry().make_resolved(parts.hooks.at(0), p.path());  // refuses bad values with the method
         return std::make_shared<UniPCDynamicMethod>(GenerationPipeline(std::move(parts)));
       }});
}

}  // namespace vdlab
