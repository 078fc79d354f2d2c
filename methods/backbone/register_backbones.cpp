#include "methods/backbone/register_backbones.h"

#include "core/error.h"
#include "methods/backbone/torchscript_backbone.h"
#include "methods/backbone/unet_backbone.h"

namespace vdlab {

void register_builtin_backbones() {
  static bool done = false;
  if (done) return;
  done = true;
  backbone_registry().add(unet_backbone_entry());
  backbone_registry().add(torchscript_backbone_entry());
}

Json normalize_backbone_config(const Json& config, const std::string& path) {
  if (config.is_string()) return Json{{"name", config}};
  if (!config.is_object()) throw ConfigError(path + ": expected a mapping, got " + json_type_name(config));
  Json out = config;
  if (out.contains("torchscript")) {
    if (out.contains("name") && out.at("name") != "torchscript")
      throw ConfigError(path + ".torchscript: given together with name '" + out.at("name").dump() + "'");
    if (out.contains("path")) throw ConfigError(path + ".torchscript: given together with path");
    out["path"] = out.at("torchscript");
    out.erase("torchscript");
    out["name"] = "torchscript";
  }
  if (!out.contains("name")) out["name"] = "unet";
  if (!out.at("name").is_string()) throw ConfigError(path + ".name: expected string");
  return out;
}

BackbonePtr make_backbone(const Json& config, const BackboneContext& ctx, const std::string& path) {
  register_builtin_backbones();
  Json c = normalize_backbone_config(config, path);
  const std::string name = c.at("name").get<std::string>();
  c.erase("name");
  BackboneBuilder build = backbone_registry().make(name, c, path);
  return build(ctx);
}

}  // namespace vdlab
