#pragma once
// The modes of UniPC-Dynamic: the source's table A.2 (motion_scale, blend_weight and which stages are on)
// plus "off", every component switched off (the method is then plain UniPC). The half-frame attention
// and the stage-1 boost belong to stage 1 ("basic motion boost with temporal attention"), so every mode
// of the source has both.
#include <string>
#include <vector>

namespace vdlab::unipc_dynamic {

struct ModePreset {
  std::string mode;
  double motion_scale = 1.0;  // gamma of the stage-1 boost
  double blend_weight = 0.0;  // bw of the write-back
  bool attention = false;     // half-frame overlapping temporal attention
  bool boost = false;         // stage 1 motion boost
  bool decomposition = false; // stage 2 motion decomposition (enable_decomp)
  bool sparse = false;        // stage 2 sparse-token distillation (enable_sparse)
  bool world = false;         // stage 3 world-space control (enable_world)
};

inline const std::vector<ModePreset>& mode_presets() {
  static const std::vector<ModePreset> presets = {
      {"off", 1.0, 0.0, false, false, false, false, false},
      {"safe", 1.05, 0.05, true, true, false, false, false},
      {"balanced", 1.08, 0.08, true, true, true, true, false},
      {"dynamic", 1.12, 0.12, true, true, true, true, true},
  };
  return presets;
}

inline std::vector<std::string> mode_names() {
  std::vector<std::string> out;
  for (const ModePreset& p : mode_presets()) out.push_back(p.mode);
  return out;
}

// The preset of a mode name; nullptr when there is none.
inline const ModePreset* find_mode_preset(const std::string& mode) {
  for (const ModePreset& p : mode_presets())
    if (p.mode == mode) return &p;
  return nullptr;
}

}  // namespace vdlab::unipc_dynamic
