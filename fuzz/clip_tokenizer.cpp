// Fuzz target: a caption (any bytes, not necessarily UTF-8) through CLIP's tokenizer.
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/text/clip_tokenizer.h"
#include "fuzz/targets.h"

namespace vdlab::fuzz {

void fuzz_clip_tokenizer(const std::uint8_t* data, std::size_t size) {
  // Loading the vocabulary (48,894 merges) takes far longer than tokenizing: once per process.
  static const ClipTokenizer tokenizer(find_clip_vocab(""));
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    // The row is [start, encode(text)..., end] cut to the context length with the end token kept, then
    // padded with 0. (The text may itself hold "<|endoftext|>": its id then appears earlier too, as
    // with CLIP's own tokenizer.)
    const auto ids = tokenizer.tokenize(text);
    std::vector<std::int64_t> expected = {ClipTokenizer::kStartToken};
    for (const int id : tokenizer.encode(text)) expected.push_back(id);
    expected.push_back(ClipTokenizer::kEndToken);
    if (expected.size() > std::size_t(ClipTokenizer::kContextLength)) {
      expected.resize(std::size_t(ClipTokenizer::kContextLength));
      expected.back() = ClipTokenizer::kEndToken;
    }
    expected.resize(std::size_t(ClipTokenizer::kContextLength), 0);
    if (ids != expected) throw std::logic_error("CLIP tokenizer: tokenize() is not encode() framed and padded");
    for (const auto id : ids)
      if (id < 0 || id >= std::int64_t(tokenizer.vocab_size()))
        throw std::logic_error("CLIP tokenizer: id " + std::to_string(id) + " outside the vocabulary");
  } catch (const Error&) {
  }
}

}  // namespace vdlab::fuzz
