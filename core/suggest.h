#pragma once
// "Did you mean" for unknown names: registry entries, config fields, CLI subcommands.
#include <string>
#include <vector>

namespace vdlab {

// Edit distance (insertions, deletions, substitutions), case-insensitive.
std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidates closest to `name`, best first: at most `max_results`, and only those within a
// distance that still looks like a typo (or that contain `name` as a substring).
std::vector<std::string> closest_names(const std::string& name, const std::vector<std::string>& candidates,
                                       std::size_t max_results = 3);

// " (did you mean 'a', 'b'?)" or " (known: a, b, c)" when nothing is close; empty if no candidates.
std::string suggestion_suffix(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace vdlab
