#pragma once
// The caption of "no caption": what condition dropout gives a dropped training caption and what the
// unconditional branch of classifier-free guidance receives, one constant so the two cannot drift apart.
// A caption backbone maps it to its unconditional embedding (for the unet: the unconditional token).
#include <string>

namespace vdlab {

inline const std::string& blank_caption() {
  static const std::string blank;
  return blank;
}

}  // namespace vdlab
