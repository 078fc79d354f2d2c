// The C++ CLIP tokenizer gives the reference tokenizer's exact ids (fixture from metrics_tokenizer.py).
#include <gtest/gtest.h>

#include "fixture_support.h"
#include "core/text/clip_tokenizer.h"

namespace vdlab {
namespace {

std::string vocab_path() { return std::string(VDLAB_SHARED_DIR) + "/data/bpe_simple_vocab_16e6.txt.gz"; }

const ClipTokenizer& tokenizer() {
  static const ClipTokenizer t(vocab_path());
  return t;
}

TEST(ClipTokenizer, VocabularyHasClipsSize) { EXPECT_EQ(tokenizer().vocab_size(), 49408u); }

TEST(ClipTokenizer, IdsEqualTheReferenceTokenizer) {
  const Json ref = test::read_json(test::metrics_fixture("tokenizer_reference.json"));
  ASSERT_GE(ref.at("cases").size(), 30u);
  std::size_t longest = 0;
  for (const Json& c : ref.at("cases")) {
    const std::string text = c.at("text");
    EXPECT_EQ(tokenizer().encode(text), c.at("ids").get<std::vector<int>>()) << text;
    EXPECT_EQ(tokenizer().tokenize(text), c.at("context").get<std::vector<std::int64_t>>()) << text;
    longest = std::max(longest, c.at("ids").size());
  }
  EXPECT_GT(longest, 77u);  // the truncation path is exercised
}

TEST(ClipTokenizer, PaddingAndTruncationKeepTheEndToken) {
  const auto short_ids = tokenizer().tokenize("a cat");
  ASSERT_EQ(short_ids.size(), 77u);
  EXPECT_EQ(short_ids[0], ClipTokenizer::kStartToken);
  EXPECT_EQ(short_ids[3], ClipTokenizer::kEndToken);
  EXPECT_EQ(short_ids[4], 0);
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "cat ";
  const auto long_ids = tokenizer().tokenize(long_text);
  ASSERT_EQ(long_ids.size(), 77u);
  EXPECT_EQ(long_ids.back(), ClipTokenizer::kEndToken);
}

TEST(ClipTokenizer, CleaningFollowsPython) {
  EXPECT_EQ(ClipTokenizer::clean("  A&amp;amp;B \t\n C  "), "a&b c");
  EXPECT_EQ(ClipTokenizer::clean("it\xe2\x80\x99s"), "it's");
  EXPECT_EQ(ClipTokenizer::split("it's a test!!"), (std::vector<std::string>{"it", "'s", "a", "test", "!!"}));
}

TEST(ClipTokenizer, MissingVocabularyIsAClearError) {
  EXPECT_THROW(ClipTokenizer("/nonexistent/bpe.txt.gz"), IoError);
}

}  // namespace
}  // namespace vdlab
