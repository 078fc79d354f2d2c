// Fuzz target: a caption (any bytes, not necessarily UTF-8) through CLIP's tokenizer.
#include <stdexcept>
#include <string>

#include "core/error.h"
#include "core/text/clip_tokenizer.h"
#include "fuzz/targets.h"

namespace vdlab::fuzz {

void fuzz_clip_tokenizer(const std::uint8_t* data, std::size_t size) {
  // Loading the vocabulary (48,894 merges) takes far longer than tokenizing: once per process.
  static const ClipTokenizer tokenizer(find_clip_vocab(""));
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto ids = tokenizer.tokenize(text);
    if (ids.size() != std::size_t(ClipTokenizer::kContextLength) || ids.front() != ClipTokenizer::kStartToken)
      throw std::logic_error("CLIP tokenizer: malformed token row");
    bool ended = false;
    for (const auto id : ids) {
      if (id < 0 || id >= std::int64_t(tokenizer.vocab_size()))
        throw std::logic_error("CLIP tokenizer: id " + std::to_string(id) + " outside the vocabulary");
      if (ended && id != 0) throw std::logic_error("CLIP tokenizer: an id after the end token");
      ended = ended || id == ClipTokenizer::kEndToken;
    }
    if (!ended) throw std::logic_error("CLIP tokenizer: no end token");
  } catch (const Error&) {
  }
}

}  // namespace vdlab::fuzz
