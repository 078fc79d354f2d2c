#include "methods/training/stages.h"

namespace vdlab {

std::vector<TrainingStage> training_stages(int64_t image_pretrain_steps, int64_t steps,
                                           const std::vector<std::string>& trainable) {
  std::vector<TrainingStage> out;
  if (image_pretrain_steps > 0) out.push_back({"images", 0, image_pretrain_steps, true, {"all"}, false});
  if (steps > 0)
    out.push_back({"videos", image_pretrain_steps, image_pretrain_steps + steps, false,
                   image_pretrain_steps > 0 ? trainable : std::vector<std::string>{"all"}, true});
  return out;
}

const std::vector<std::string>& video_stage_fields() {
  static const std::vector<std::string> fields = {"steps", "ptss_p", "noise", "loss", "trainable"};
  return fields;
}

Json image_stage_identity(const Json& resolved_backbone, const Json& data, uint64_t seed) {
  Json backbone = resolved_backbone;
  for (const auto& field : video_stage_fields()) backbone["train"].erase(field);
  return Json{{"stage", "images"}, {"backbone", backbone}, {"data", data}, {"seed", seed}, {"trainer", kTrainerRevision}};
}

}  // namespace vdlab
