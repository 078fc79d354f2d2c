#include "methods/motion_adaptive/motion_prompt.h"

#include <algorithm>
#include <cctype>

namespace vdlab {

namespace {

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> out;
  std::string word;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      word.push_back(char(std::tolower(static_cast<unsigned char>(c))));
    } else if (!word.empty()) {
      out.push_back(word);
      word.clear();
    }
  }
  if (!word.empty()) out.push_back(word);
  return out;
}

// The first word of `words` that is in `list` (compared in lower case), or "".
std::string first_match(const std::vector<std::string>& words, const std::vector<std::string>& list) {
  for (const auto& w : words)
    for (const auto& k : list) {
      std::string key = k;
      std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return char(std::tolower(c)); });
      if (w == key) return w;
    }
  return "";
}

}  // namespace

PromptMotion motion_from_prompt(const std::string& prompt, const MotionKeywords& keywords) {
  const std::vector<std::string> words = words_of(prompt);
  const std::string high = first_match(words, keywords.high), low = first_match(words, keywords.low);
  if (!high.empty() && low.empty()) return {keywords.high_motion, high};
  if (!low.empty() && high.empty()) return {keywords.low_motion, low};
  return {keywords.neutral_motion, ""};
}

}  // namespace vdlab
