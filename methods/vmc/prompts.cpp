#include "methods/vmc/prompts.h"

#include <algorithm>
#include <sstream>
#include <vector>

#include "core/error.h"

namespace vdlab {

namespace {

// moving-shapes' words, in its own order (datasets/moving_shapes.cpp).
const std::vector<std::string> kColourWords = {"red", "green", "blue", "yellow", "magenta", "cyan"};
const std::vector<std::string> kShapeWords = {"circle", "square", "triangle"};

std::vector<std::string> words_of(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

int index_in(const std::vector<std::string>& list, const std::string& word) {
  const auto it = std::find(list.begin(), list.end(), word);
  return it == list.end() ? -1 : int(it - list.begin());
}

}  // namespace

std::string appearance_invariant_prompt(const std::string& caption) {
  std::vector<std::string> out;
  bool replaced = false;
  for (const auto& w : words_of(caption)) {
    if (index_in(kColourWords, w) >= 0 || index_in(kShapeWords, w) >= 0) {
      if (!replaced) out.push_back("object");
      replaced = true;
      continue;
    }
    out.push_back(w);
  }
  // "a object" -> "an object"
  for (size_t i = 0; i + 1 < out.size(); ++i)
    if (out[i] == "a" && out[i + 1] == "object") out[i] = "an";
  return joined(out);
}

std::string appearance_changed_caption(const std::string& caption, int colour_shift, int shape_shift) {
  std::vector<std::string> words = words_of(caption);
  bool colour = false, shape = false;
  for (auto& w : words) {
    if (const int c = index_in(kColourWords, w); c >= 0) {
      w = kColourWords[size_t((c + colour_shift) % int(kColourWords.size()))];
      colour = true;
    } else if (const int s = index_in(kShapeWords, w); s >= 0) {
      w = kShapeWords[size_t((s + shape_shift) % int(kShapeWords.size()))];
      shape = true;
    }
  }
  if (!colour || !shape)
    throw ConfigError("vmc target captions: '" + caption +
                      "' names no colour and shape to change (the rule reads moving-shapes captions)");
  return joined(words);
}

}  // namespace vdlab
