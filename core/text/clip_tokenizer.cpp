#include "core/text/clip_tokenizer.h"

#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace vdlab {

namespace {

struct CodeRange {
  std::uint32_t lo, hi;
};
struct LowerEntry {
  std::uint32_t cp;
  std::uint32_t lower[3];
};
struct HtmlEntity {
  const char* name;
  const char* value;
};
struct InvalidCharref {
  std::uint32_t num;
  const char* value;
};

#include "core/text/unicode_tables.inc"

template <std::size_t N>
bool in_ranges(const CodeRange (&table)[N], std::uint32_t cp) {
  const CodeRange* end = table + N;
  const CodeRange* it = std::upper_bound(table, end, cp, [](std::uint32_t v, const CodeRange& r) { return v < r.lo; });
  return it != table && (it - 1)->hi >= cp;
}

bool is_letter(char32_t c) { return in_ranges(kLetters, c); }
bool is_number(char32_t c) { return in_ranges(kNumbers, c); }
bool is_regex_space(char32_t c) { return in_ranges(kRegexSpace, c); }
bool is_py_space(char32_t c) { return in_ranges(kPySpace, c); }
bool is_cased(char32_t c) { return in_ranges(kCased, c); }
bool is_case_ignorable(char32_t c) { return in_ranges(kCaseIgnorable, c); }

using U32 = std::u32string;

U32 decode_utf8(const std::string& s) {
  U32 out;
  std::size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    bool ok = len > 0 && i + len <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      const unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d >> 6) != 2) ok = false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if (!ok) {
      out.push_back(0xFFFD);  // as Python's decode with errors="replace" would give
      ++i;
      continue;
    }
    out.push_back(cp);
    i += std::size_t(len);
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

std::string encode_utf8(const U32& s) {
  std::string out;
  for (char32_t c : s) append_utf8(out, c);
  return out;
}

// ftfy's uncurl_quotes.
U32 uncurl_quotes(U32 s) {
  for (char32_t& c : s) {
    if (c == 0x2BC || (c >= 0x2018 && c <= 0x201B)) c = U'\'';
    else if (c >= 0x201C && c <= 0x201F) c = U'"';
  }
  return s;
}

const std::unordered_map<std::string, U32>& html5_entities() {
  static const auto* table = [] {
    auto* t = new std::unordered_map<std::string, U32>();
    for (const auto& e : kHtml5Entities) (*t)[e.name] = decode_utf8(e.value);
    return t;
  }();
  return *table;
}

bool is_ascii_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_ascii_hex(char32_t c) { return is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Python's html.unescape: the same match rule
// &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?) and the same replacements.
U32 html_unescape(const U32& s) {
  U32 out;
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    if (s[i] != U'&') {
      out.push_back(s[i++]);
      continue;
    }
    std::size_t j = i + 1;
    if (j < n && s[j] == U'#') {
      // Numeric reference.
      std::size_t k = j + 1;
      bool hex = false;
      if (k < n && (s[k] == U'x' || s[k] == U'X') && k + 1 < n && is_ascii_hex(s[k + 1])) {
        hex = true;
        ++k;
      }
      const std::size_t digits_start = k;
      while (k < n && (hex ? is_ascii_hex(s[k]) : is_ascii_digit(s[k]))) ++k;
      if (k == digits_start) {  // no match: a literal '&'
        out.push_back(s[i++]);
        continue;
      }
      unsigned long long num = 0;
      bool huge = false;
      for (std::size_t d = digits_start; d < k; ++d) {
        const char32_t c = s[d];
        const unsigned v = is_ascii_digit(c) ? unsigned(c - '0') : unsigned((c | 0x20) - 'a' + 10);
        num = num * (hex ? 16 : 10) + v;
        if (num > 0x10FFFFull) huge = true, num = 0x110000ull;
      }
      if (k < n && s[k] == U';') ++k;
      i = k;
      const InvalidCharref* invalid = nullptr;
      for (const auto& r : kInvalidCharrefs)
        if (!huge && r.num == num) invalid = &r;
      if (invalid) {
        const U32 v = decode_utf8(invalid->value);
        out += v;
      } else if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) {
        out.push_back(0xFFFD);
      } else if (std::find(std::begin(kInvalidCodepoints), std::end(kInvalidCodepoints), std::uint32_t(num)) !=
                 std::end(kInvalidCodepoints)) {
        // dropped
      } else {
        out.push_back(char32_t(num));
      }
      continue;
    }
    // Named reference: up to 32 characters outside "\t\n\f <&#;", then an optional ';'.
    std::size_t k = j;
    while (k < n && k - j < 32) {
      const char32_t c = s[k];
      if (c == U'\t' || c == U'\n' || c == U'\f' || c == U' ' || c == U'<' || c == U'&' || c == U'#' || c == U';') break;
      ++k;
    }
    if (k == j) {
      out.push_back(s[i++]);
      continue;
    }
    if (k < n && s[k] == U';') ++k;
    const U32 name(s.begin() + j, s.begin() + k);
    i = k;
    const auto& table = html5_entities();
    auto it = table.find(encode_utf8(name));
    if (it != table.end()) {
      out += it->second;
      continue;
    }
    bool replaced = false;
    for (std::size_t x = name.size() - 1; x >= 2 && x < name.size(); --x) {
      auto p = table.find(encode_utf8(name.substr(0, x)));
      if (p != table.end()) {
        out += p->second;
        out += name.substr(x);
        replaced = true;
        break;
      }
    }
    if (!replaced) {
      out.push_back(U'&');
      out += name;
    }
  }
  return out;
}

U32 strip_py(const U32& s) {
  std::size_t a = 0, b = s.size();
  while (a < b && is_py_space(s[a])) ++a;
  while (b > a && is_py_space(s[b - 1])) --b;
  return s.substr(a, b - a);
}

U32 collapse_whitespace(const U32& s) {
  U32 out;
  bool in_space = false;
  for (char32_t c : s) {
    if (is_regex_space(c)) {
      if (!in_space) out.push_back(U' ');
      in_space = true;
    } else {
      out.push_back(c);
      in_space = false;
    }
  }
  return out;
}

const std::unordered_map<char32_t, const LowerEntry*>& lower_table() {
  static const auto* table = [] {
    auto* t = new std::unordered_map<char32_t, const LowerEntry*>();
    for (const auto& e : kLower) (*t)[e.cp] = &e;
    return t;
  }();
  return *table;
}

// Python's str.lower(), with its final-sigma rule for U+03A3.
U32 lower_py(const U32& s) {
  U32 out;
  const auto& table = lower_table();
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char32_t c = s[i];
    if (c == 0x3A3) {
      std::size_t j = i;
      bool cased_before = false, cased_after = false;
      while (j > 0) {
        --j;
        if (is_case_ignorable(s[j])) continue;
        cased_before = is_cased(s[j]);
        break;
      }
      for (std::size_t k = i + 1; k < s.size(); ++k) {
        if (is_case_ignorable(s[k])) continue;
        cased_after = is_cased(s[k]);
        break;
      }
      out.push_back(cased_before && !cased_after ? 0x3C2 : 0x3C3);
      continue;
    }
    auto it = table.find(c);
    if (it == table.end()) {
      out.push_back(c);
      continue;
    }
    for (std::uint32_t l : it->second->lower)
      if (l) out.push_back(l);
  }
  return out;
}

bool starts_with(const U32& s, std::size_t i, const char* lit) {
  for (std::size_t k = 0; lit[k]; ++k)
    if (i + k >= s.size() || s[i + k] != char32_t(static_cast<unsigned char>(lit[k]))) return false;
  return true;
}

// Case-insensitive match of an ASCII contraction ("'s", "'ll", ...) at i.
bool contraction_at(const U32& s, std::size_t i, const char* lit) {
  for (std::size_t k = 0; lit[k]; ++k) {
    if (i + k >= s.size()) return false;
    char32_t c = s[i + k];
    if (c >= 'A' && c <= 'Z') c += 32;
    if (c != char32_t(lit[k])) return false;
  }
  return true;
}

}  // namespace

std::string ClipTokenizer::clean(const std::string& text) {
  U32 s = decode_utf8(text);
  s = uncurl_quotes(std::move(s));
  s = html_unescape(html_unescape(s));
  s = strip_py(s);
  s = strip_py(collapse_whitespace(s));
  return encode_utf8(lower_py(s));
}

std::vector<std::string> ClipTokenizer::split(const std::string& cleaned) {
  // <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
  static const char* const contractions[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
  const U32 s = decode_utf8(cleaned);
  std::vector<std::string> pieces;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t len = 0;
    if (starts_with(s, i, "<|startoftext|>")) len = 15;
    else if (starts_with(s, i, "<|endoftext|>")) len = 13;
    if (!len)
      for (const char* c : contractions)
        if (contraction_at(s, i, c)) {
          len = std::char_traits<char>::length(c);
          break;
        }
    if (!len && is_letter(s[i])) {
      while (i + len < s.size() && is_letter(s[i + len])) ++len;
    }
    if (!len && is_number(s[i])) len = 1;
    if (!len && !is_regex_space(s[i])) {
      while (i + len < s.size()) {
        const char32_t c = s[i + len];
        if (is_regex_space(c) || is_letter(c) || is_number(c)) break;
        ++len;
      }
    }
    if (!len) {
      ++i;  // whitespace between pieces
      continue;
    }
    pieces.push_back(encode_utf8(s.substr(i, len)));
    i += len;
  }
  return pieces;
}

ClipTokenizer::ClipTokenizer(const std::string& vocab_path) {
  gzFile f = gzopen(vocab_path.c_str(), "rb");
  if (!f) throw IoError(vocab_path + ": cannot open the CLIP vocabulary (bpe_simple_vocab_16e6.txt.gz)");
  std::string text;
  char buf[1 << 16];
  int got = 0;
  while ((got = gzread(f, buf, sizeof buf)) > 0) text.append(buf, std::size_t(got));
  const bool failed = got < 0;
  gzclose(f);
  if (failed) throw IoError(vocab_path + ": not a readable gzip file");

  // Byte characters in vocabulary order: printable Latin-1 first (as themselves), then the rest.
  std::vector<int> order;
  auto keep = [](int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); };
  for (int b = 0; b < 256; ++b)
    if (keep(b)) order.push_back(b);
  int extra = 0;
  for (int b = 0; b < 256; ++b)
    if (!keep(b)) order.push_back(b);
  for (int b = 0; b < 256; ++b) {
    byte_chars_[b].clear();
    append_utf8(byte_chars_[b], keep(b) ? char32_t(b) : char32_t(256 + extra++));
  }
  std::vector<std::string> vocab;
  for (int b : order) vocab.push_back(byte_chars_[b]);
  for (int b : order) vocab.push_back(byte_chars_[b] + "</w>");

  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);  // version header
  const int merges = 49152 - 256 - 2;
  for (int r = 0; r < merges; ++r) {
    if (!std::getline(lines, line))
      throw IoError(vocab_path + ": has " + std::to_string(r) + " merges, expected " + std::to_string(merges));
    const auto space = line.find(' ');
    if (space == std::string::npos) throw IoError(vocab_path + ": malformed merge line " + std::to_string(r + 2));
    std::string a = line.substr(0, space), b = line.substr(space + 1);
    ranks_.emplace(std::make_pair(a, b), r);
    vocab.push_back(a + b);
  }
  vocab.push_back("<|startoftext|>");
  vocab.push_back("<|endoftext|>");
  for (std::size_t i = 0; i < vocab.size(); ++i) ids_.emplace(vocab[i], int(i));
}

std::vector<std::string> ClipTokenizer::merge_word(const std::string& piece) const {
  if (piece == "<|startoftext|>" || piece == "<|endoftext|>") return {piece};
  // Split into characters (UTF-8 sequences), the last one marked as the word's end.
  std::vector<std::string> parts;
  for (char32_t c : decode_utf8(piece)) {
    parts.emplace_back();
    append_utf8(parts.back(), c);
  }
  if (parts.empty()) return parts;
  parts.back() += "</w>";
  while (parts.size() > 1) {
    int best = -1;
    std::size_t at = 0;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      auto it = ranks_.find({parts[i], parts[i + 1]});
      if (it != ranks_.end() && (best < 0 || it->second < best)) {
        best = it->second;
        at = i;
      }
    }
    if (best < 0) break;
    const std::string a = parts[at], b = parts[at + 1];
    std::vector<std::string> merged;
    for (std::size_t i = 0; i < parts.size();) {
      if (i + 1 < parts.size() && parts[i] == a && parts[i + 1] == b) {
        merged.push_back(a + b);
        i += 2;
      } else {
        merged.push_back(parts[i]);
        ++i;
      }
    }
    parts.swap(merged);
  }
  return parts;
}

std::vector<int> ClipTokenizer::encode(const std::string& text) const {
  std::vector<int> out;
  for (const std::string& piece : split(clean(text))) {
    std::string mapped;
    for (unsigned char b : piece) mapped += byte_chars_[b];
    auto cached = cache_.find(mapped);
    if (cached == cache_.end()) {
      std::vector<int> ids;
      for (const std::string& part : merge_word(mapped)) {
        auto it = ids_.find(part);
        if (it == ids_.end()) throw Error("CLIP tokenizer: no id for '" + part + "'");
        ids.push_back(it->second);
      }
      cached = cache_.emplace(mapped, std::move(ids)).first;
    }
    out.insert(out.end(), cached->second.begin(), cached->second.end());
  }
  return out;
}

std::vector<std::int64_t> ClipTokenizer::tokenize(const std::string& text, int context_length) const {
  if (context_length < 2) throw ConfigError("CLIP tokenizer: context length must be at least 2");
  std::vector<std::int64_t> out;
  out.push_back(kStartToken);
  for (int id : encode(text)) out.push_back(id);
  out.push_back(kEndToken);
  if (out.size() > std::size_t(context_length)) {
    out.resize(std::size_t(context_length));
    out.back() = kEndToken;
  }
  out.resize(std::size_t(context_length), 0);
  return out;
}

std::string find_clip_vocab(const std::string& weights_dir) {
  auto exists = [](const std::string& p) { return !p.empty() && std::ifstream(p).good(); };
  if (!weights_dir.empty() && exists(weights_dir + "/bpe_simple_vocab_16e6.txt.gz"))
    return weights_dir + "/bpe_simple_vocab_16e6.txt.gz";
  if (const char* env = std::getenv("VDLAB_CLIP_VOCAB"))
    if (exists(env)) return env;
  for (const char* shipped : {VDLAB_CLIP_VOCAB_SOURCE, VDLAB_CLIP_VOCAB_INSTALLED})
    if (exists(shipped)) return shipped;
  return "";
}

}  // namespace vdlab
