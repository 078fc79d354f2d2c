#include "methods/backbone/unet_config.h"

#include "core/error.h"
#include "core/suggest.h"

namespace vdlab {

Json UNetConfig::to_json() const {
  Json j{{"in_channels", in_channels},
              {"out_channels", out_channels},
              {"patch", patch},
              {"base_channels", base_channels},
              {"channel_mult", channel_mult},
              {"res_blocks", res_blocks},
              {"spatial_attention", spatial_attention},
              {"temporal_attention", temporal_attention},
              {"heads", heads},
              {"groups", groups},
              {"time_features", time_features},
              {"emb_dim", emb_dim},
              {"conditioning", conditioning},
              {"num_classes", num_classes},
              {"caption_vocab", caption_vocab}};
  // The temporal block forms only when not the default, so that existing configs hash as before.
  const UNetConfig d;
  if (temporal_block != d.temporal_block) j["temporal_block"] = temporal_block;
  if (temporal_block == "transformer") {
    j["temporal_ffn_mult"] = temporal_ffn_mult;
    j["temporal_max_frames"] = temporal_max_frames;
  }
  if (temporal_placement != d.temporal_placement) {
    j["temporal_placement"] = temporal_placement;
    j["adaptive_beta_min"] = adaptive_beta_min;
    j["adaptive_beta_max"] = adaptive_beta_max;
    j["adaptive_gate_hidden"] = adaptive_gate_hidden;
    j["default_motion"] = default_motion;
  }
  return j;
}

std::vector<std::string> UNetConfig::field_names() {
  return {"in_channels", "out_channels", "patch", "base_channels", "channel_mult", "res_blocks", "spatial_attention",
          "temporal_attention", "heads", "groups", "time_features", "emb_dim", "conditioning", "num_classes",
          "caption_vocab", "temporal_block", "temporal_ffn_mult", "temporal_max_frames", "temporal_placement",
          "adaptive_beta_min", "adaptive_beta_max", "adaptive_gate_hidden", "default_motion"};
}

UNetConfig UNetConfig::from_json(const Json& j, const std::string& path) {
  UNetConfig c;
  auto get = [&](const char* key, auto& field) {
    if (!j.contains(key)) return;
    try {
      j.at(key).get_to(field);
    } catch (const std::exception&) {
      throw ConfigError(path + "." + key + ": wrong type " + j.at(key).dump());
    }
  };
  get("in_channels", c.in_channels);
  get("out_channels", c.out_channels);
  get("patch", c.patch);
  get("base_channels", c.base_channels);
  get("channel_mult", c.channel_mult);
  get("res_blocks", c.res_blocks);
  get("spatial_attention", c.spatial_attention);
  get("temporal_attention", c.temporal_attention);
  get("heads", c.heads);
  get("groups", c.groups);
  get("time_features", c.time_features);
  get("emb_dim", c.emb_dim);
  get("conditioning", c.conditioning);
  get("num_classes", c.num_classes);
  get("caption_vocab", c.caption_vocab);
  get("temporal_block", c.temporal_block);
  get("temporal_ffn_mult", c.temporal_ffn_mult);
  get("temporal_max_frames", c.temporal_max_frames);
  get("temporal_placement", c.temporal_placement);
  get("adaptive_beta_min", c.adaptive_beta_min);
  get("adaptive_beta_max", c.adaptive_beta_max);
  get("adaptive_gate_hidden", c.adaptive_gate_hidden);
  get("default_motion", c.default_motion);
  if (c.temporal_block != "attention" && c.temporal_block != "transformer")
    throw ConfigError(path + ".temporal_block: '" + c.temporal_block + "' is not one of attention, transformer");
  if (c.temporal_placement != "global" && c.temporal_placement != "cascaded")
    throw ConfigError(path + ".temporal_placement: '" + c.temporal_placement + "' is not one of global, cascaded");
  if (c.temporal_ffn_mult < 1) throw ConfigError(path + ".temporal_ffn_mult: must be >= 1");
  if (c.temporal_max_frames < 1) throw ConfigError(path + ".temporal_max_frames: must be >= 1");
  if (c.adaptive_gate_hidden < 1) throw ConfigError(path + ".adaptive_gate_hidden: must be >= 1");
  if (c.adaptive_beta_min < 0 || c.adaptive_beta_max < 0)
    throw ConfigError(path + ".adaptive_beta_min: beta must be >= 0 (a positive bias would favour far frames)");
  if (c.default_motion < 0 || c.default_motion > 1) throw ConfigError(path + ".default_motion: must lie in [0, 1]");
  if (c.channel_mult.empty()) throw ConfigError(path + ".channel_mult: needs at least one level");
  if (c.patch < 1) throw ConfigError(path + ".patch: must be >= 1");
  if (c.time_features % 2 != 0) throw ConfigError(path + ".time_features: must be even");
  for (int64_t m : c.channel_mult)
    if ((m * c.base_channels) % c.groups != 0 || (m * c.base_channels) % c.heads != 0)
      throw ConfigError(path + ".channel_mult: channels " + std::to_string(m * c.base_channels) +
                        " not divisible by groups and heads");
  if (c.conditioning != "none" && c.conditioning != "class" && c.conditioning != "caption" &&
      c.conditioning != "clip-caption")
    throw ConfigError(path + ".conditioning: '" + c.conditioning + "' is not one of none, class, caption, clip-caption");
  return c;
}

std::vector<std::string> UNetConfig::preset_names() { return {"tiny", "small", "base"}; }

UNetConfig UNetConfig::preset(const std::string& name, const std::string& path) {
  UNetConfig c;
  if (name == "tiny") {
    // Sized for minutes of training on two CPU cores at 32x32: the stem folds 4x4 pixels into
    // channels, so the convolutions run on an 8x8 and a 4x4 grid; temporal attention at both levels
    // and in the middle.
    c.patch = 4;
    c.base_channels = 32;
    c.channel_mult = {1, 2};
    c.res_blocks = 1;
    c.spatial_attention = {};
    c.temporal_attention = {0, 1};
    c.heads = 1;  // on a CPU, batched attention cost grows with the number of (pixel, head) sequences
    c.groups = 8;
    c.emb_dim = 128;
  } else if (name == "small") {
    c.patch = 1;
    c.base_channels = 64;
    c.channel_mult = {1, 2, 2, 4};
    c.res_blocks = 2;
    c.spatial_attention = {2, 3};
    c.temporal_attention = {0, 1, 2, 3};
    c.heads = 4;
    c.groups = 32;
    c.emb_dim = 256;
  } else if (name == "base") {
    c.patch = 1;
    c.base_channels = 128;
    c.channel_mult = {1, 2, 2, 4};
    c.res_blocks = 2;
    c.spatial_attention = {1, 2, 3};
    c.temporal_attention = {0, 1, 2, 3};
    c.heads = 8;
    c.groups = 32;
    c.emb_dim = 512;
  } else {
    throw ConfigError(path + ": unknown preset '" + name + "'" + suggestion_suffix(name, preset_names()));
  }
  return c;
}

}  // namespace vdlab
