#pragma once
// Seed 002's motion score at sampling time (METHODS.md 4): from keywords of the prompt ("running",
// "dancing" -> high motion; "still", "landscape" -> low), with configurable word lists. moving-shapes
// captions end in a speed word ("quickly" / "slowly"), so the defaults include those.
#include <string>
#include <vector>

namespace vdlab {

struct MotionKeywords {
  std::vector<std::string> high = {"running", "dancing", "jumping", "fast", "quickly"};
  std::vector<std::string> low = {"still", "landscape", "static", "slow", "slowly"};
  double high_motion = 0.8;     // m of a prompt with a high word (and no low word)
  double low_motion = 0.2;      // m of a prompt with a low word (and no high word)
  double neutral_motion = 0.5;  // m of a prompt with neither, or with both
};

struct PromptMotion {
  double motion = 0;
  std::string word;  // the keyword that decided it ("" for neutral)
};

// Whole lower-case words of the prompt (split at every non-alphanumeric character) against the lists.
PromptMotion motion_from_prompt(const std::string& prompt, const MotionKeywords& keywords);

}  // namespace vdlab
