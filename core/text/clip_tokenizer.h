#pragma once
// CLIP's byte-level BPE tokenizer in C++ (METRICS.md): the vocabulary bpe_simple_vocab_16e6.txt.gz
// (48,894 merges, 49,408 ids, start 49406, end 49407), CLIP's text cleaning and split pattern, padded
// with 0 to the context length and truncated with the end token kept. Its ids equal those of
// scripts/reference/metrics_tokenizer.py (tests/metrics/clip_tokenizer_test.cpp).
//
// Cleaning follows CLIP's basic_clean and whitespace_clean with Python's semantics (tables generated
// from Python by scripts/reference/metrics_unicode_tables.py): ftfy.fix_text is reduced to its
// uncurl_quotes step (ftfy is not in Debian; see the reference script for what is not replicated), then
// html.unescape twice, strip, whitespace runs to one space, str.lower().
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace vdlab {

class ClipTokenizer {
 public:
  static constexpr int kStartToken = 49406;
  static constexpr int kEndToken = 49407;
  static constexpr int kContextLength = 77;

  // Reads the gzipped merges file; throws IoError naming it when missing or malformed.
  explicit ClipTokenizer(const std::string& vocab_path);

  // Ids of the text, without start and end tokens.
  std::vector<int> encode(const std::string& text) const;
  // [start, ids..., end, 0...] of exactly `context_length` ids; too long: cut, last id = end.
  std::vector<std::int64_t> tokenize(const std::string& text, int context_length = kContextLength) const;
  std::size_t vocab_size() const { return ids_.size(); }

  // The cleaned, lower-cased text the pattern is applied to (UTF-8), and its pieces.
  static std::string clean(const std::string& text);
  static std::vector<std::string> split(const std::string& cleaned);

 private:
  std::vector<std::string> merge_word(const std::string& piece) const;

  std::unordered_map<std::string, int> ids_;
  std::map<std::pair<std::string, std::string>, int> ranks_;
  std::string byte_chars_[256];  // byte -> its printable character (UTF-8)
  mutable std::unordered_map<std::string, std::vector<int>> cache_;
};

// Where the vocabulary is looked for: `<weights_dir>/bpe_simple_vocab_16e6.txt.gz`, the file named by
// $VDLAB_CLIP_VOCAB, then the copy vdlab ships (third_party/clip, in the source tree or installed).
// Returns "" when none exists.
std::string find_clip_vocab(const std::string& weights_dir);

}  // namespace vdlab
