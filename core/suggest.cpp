#include "core/suggest.h"

#include <algorithm>
#include <cctype>

namespace vdlab {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::vector<std::string> closest_names(const std::string& name, const std::vector<std::string>& candidates,
                                       std::size_t max_results) {
  std::vector<std::pair<std::size_t, std::string>> scored;
  const std::size_t budget = std::max<std::size_t>(2, name.size() / 3 + 1);
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(name, c);
    const bool contains = !name.empty() && (c.find(name) != std::string::npos || name.find(c) != std::string::npos);
    if (d <= budget || contains) scored.emplace_back(contains ? std::min(d, budget) : d, c);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (const auto& s : scored) {
    if (out.size() == max_results) break;
    out.push_back(s.second);
  }
  return out;
}

std::string suggestion_suffix(const std::string& name, const std::vector<std::string>& candidates) {
  if (candidates.empty()) return "";
  const auto close = closest_names(name, candidates);
  std::string out;
  if (!close.empty()) {
    out = " (did you mean ";
    for (std::size_t i = 0; i < close.size(); ++i) out += (i ? ", '" : "'") + close[i] + "'";
    return out + "?)";
  }
  out = " (known: ";
  for (std::size_t i = 0; i < candidates.size(); ++i) out += (i ? ", " : "") + candidates[i];
  return out + ")";
}

}  // namespace vdlab
