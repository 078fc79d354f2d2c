#pragma once
// The built-in backbones ("unet", "torchscript") and the experiment-file shorthand for them.
#include <string>

#include "methods/backbone/backbone.h"

namespace vdlab {

// Registers "unet" and "torchscript" in backbone_registry(). Safe to call more than once.
void register_builtin_backbones();

// The experiment-file shorthand: {torchscript: PATH, ...} means {name: torchscript, path: PATH, ...};
// a mapping without a name (for example {preset: tiny, train: {steps: 3000}}) means the "unet" backbone.
Json normalize_backbone_config(const Json& config, const std::string& path = "backbone");

// Resolves `config` (shorthand allowed) and builds the backbone: a "unet" trains on ctx.train_data or
// loads its cached checkpoint; a "torchscript" one loads the user's module.
BackbonePtr make_backbone(const Json& config, const BackboneContext& ctx, const std::string& path = "backbone");

}  // namespace vdlab
