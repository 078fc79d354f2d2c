#pragma once
// VMC's prompts (METHODS.md 5) for captions that name an object's appearance by colour and shape words
// (moving-shapes: "a red circle moving left quickly"):
// - the appearance-invariant prompt tunes on the motion alone: colour and shape words give way to
//   "object" ("an object moving left quickly");
// - a target caption keeps the motion words and changes the appearance: each colour and shape word moves
//   on by a shift in moving-shapes' lists ("a green square moving left quickly" with shifts 1 and 1).
#include <string>

namespace vdlab {

std::string appearance_invariant_prompt(const std::string& caption);
// ConfigError naming the caption when it has no colour or no shape word to change.
std::string appearance_changed_caption(const std::string& caption, int colour_shift, int shape_shift);

}  // namespace vdlab
