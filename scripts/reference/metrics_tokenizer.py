#!/usr/bin/python3
"""Reference ids for vdlab's C++ CLIP tokenizer: our own transcription of the algorithm of CLIP's
simple_tokenizer (byte-level BPE over bpe_simple_vocab_16e6.txt.gz), written for this check.

Text cleaning: CLIP's basic_clean calls ftfy.fix_text, then html.unescape twice, then strip. ftfy is
not packaged in Debian, so both this script and the C++ tokenizer replace ftfy.fix_text by its
uncurl_quotes step only (U+02BC and U+2018..U+201B become "'", U+201C..U+201F become '"'). ftfy's other
fixes (mojibake repair, NFC normalisation, ligatures, full-width characters, control characters) are
not applied: text that needs them tokenises differently from OpenAI's package, and the committed strings
avoid them. Then whitespace runs become one space (the `regex` module's \\s), the text is lower-cased,
split with CLIP's pattern, mapped to byte characters and merged by rank.

Writes tests/fixtures/metrics/tokenizer_reference.json: per string the encoded ids (no start or end
token) and the 77-token context (start 49406, ids, end 49407, zeros; truncated with the end token kept).
Run: /usr/bin/python3 scripts/reference/metrics_tokenizer.py [path/to/bpe_simple_vocab_16e6.txt.gz]
"""
import gzip
import html
import json
import os
import sys

import regex

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_VOCAB = os.path.join(os.path.dirname(ROOT), "shared", "data", "bpe_simple_vocab_16e6.txt.gz")
OUT = os.path.join(ROOT, "tests", "fixtures", "metrics", "tokenizer_reference.json")

PATTERN = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE)


def byte_alphabet():
    """Byte value -> printable character, in vocabulary order: the 188 printable Latin-1 bytes map to
    themselves and come first, then the other 68 bytes, in byte order, map to code points 256, 257, ..."""
    keep = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    order = keep + [b for b in range(256) if b not in keep]
    table = {}
    for b in range(256):
        table[b] = chr(b) if b in keep else chr(256 + order.index(b) - len(keep))
    return table, order


def uncurl_quotes(text):
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0x2BC or 0x2018 <= cp <= 0x201B:
            out.append("'")
        elif 0x201C <= cp <= 0x201F:
            out.append('"')
        else:
            out.append(ch)
    return "".join(out)


def clean(text):
    text = html.unescape(html.unescape(uncurl_quotes(text))).strip()
    return regex.sub(r"\s+", " ", text).strip().lower()


class Tokenizer:
    def __init__(self, vocab_path):
        lines = gzip.open(vocab_path).read().decode("utf-8").split("\n")
        merges = [tuple(line.split()) for line in lines[1:49152 - 256 - 2 + 1]]
        self.bytes, order = byte_alphabet()
        symbols = [self.bytes[b] for b in order]
        words = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
        words += ["<|startoftext|>", "<|endoftext|>"]
        self.ids = {w: i for i, w in enumerate(words)}
        self.rank = {m: i for i, m in enumerate(merges)}

    def merge_word(self, token):
        if token in ("<|startoftext|>", "<|endoftext|>"):
            return [token]
        parts = list(token[:-1]) + [token[-1] + "</w>"]
        while len(parts) > 1:
            best = None
            for pair in zip(parts, parts[1:]):
                r = self.rank.get(pair)
                if r is not None and (best is None or r < best[0]):
                    best = (r, pair)
            if best is None:
                break
            a, b = best[1]
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == a and parts[i + 1] == b:
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        return parts

    def encode(self, text):
        ids = []
        for piece in PATTERN.findall(clean(text)):
            mapped = "".join(self.bytes[b] for b in piece.encode("utf-8"))
            ids.extend(self.ids[p] for p in self.merge_word(mapped))
        return ids

    def context(self, text, length=77):
        ids = [self.ids["<|startoftext|>"]] + self.encode(text) + [self.ids["<|endoftext|>"]]
        if len(ids) > length:
            ids = ids[:length]
            ids[-1] = self.ids["<|endoftext|>"]
        return ids + [0] * (length - len(ids))


STRINGS = [
    "a red square moving to the right",
    "A RED Square Moving To The LEFT",
    "",
    "   leading and trailing spaces   ",
    "tabs\tand\nnewlines\r\nmixed   together",
    "Hello, world!",
    "what's up? it's the dog's bone; they're here, we've gone, I'm done, you'll see, he'd know",
    "don't can't won't shouldn't",
    "'quoted' and \"double quoted\" text",
    "rock'n'roll and o'clock",
    "Tom & Jerry &amp; friends",
    "5 &lt; 7 &gt; 3 &quot;quoted&quot; &#39;single&#39;",
    "&amp;amp; is unescaped twice",
    "&#x263A; smiley and &#9731; snowman, &copy; 2024, &eacute;t&eacute;",
    "bad refs: &notanentity; &#0; &#x110000; &#128; &ampfoo",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 co\u00f6perate",
    "stra\u00dfe M\u00dcNCHEN \u00c5ngstr\u00f6m",
    "\u0394\u0399\u0391\u039b\u039f\u0393\u039f\u03a3 and \u03bf\u03b4\u03bf\u03c2",
    "\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8",
    "\u4e00\u53ea\u732b\u5728\u8dd1",
    "emoji \U0001F600\U0001F680 and symbols \u2605\u2192",
    "numbers 12345 and 3.14159 and 1,000,000",
    "\u0661\u0662\u0663 arabic digits and \u00bd fraction",
    "punctuation!!! ??? ... --- ;;; :: (parens) [brackets] {braces}",
    "email@example.com and https://example.org/path?q=1&r=2",
    "under_score snake_case CamelCase kebab-case",
    "curly \u2018single\u2019 and \u201cdouble\u201d quotes, it\u2019s",
    "non-breaking\u00a0space and\u2003em space",
    "<|startoftext|> literal special tokens <|endoftext|>",
    "a" * 40,
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    " ".join(["word%d" % i for i in range(60)]),
    "a very long caption " * 30,
    "x\u0301 combining accent and e\u0301",
]


def main():
    vocab = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_VOCAB
    tok = Tokenizer(vocab)
    cases = [{"text": s, "ids": tok.encode(s), "context": tok.context(s)} for s in STRINGS]
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"generator": "scripts/reference/metrics_tokenizer.py", "vocab": os.path.basename(vocab),
                   "context_length": 77, "cases": cases}, f, ensure_ascii=True)
        f.write("\n")
    longest = max(len(c["ids"]) for c in cases)
    print(f"{len(cases)} strings, longest {longest} ids -> {OUT}")


if __name__ == "__main__":
    main()
