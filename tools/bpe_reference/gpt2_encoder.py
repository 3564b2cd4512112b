#!/usr/bin/env python3
"""An independent check of the GPT-2 fixture: GPT-2's encoder.py algorithm (bytes_to_unicode, the
pre-tokenizer regex through the `regex` module, merges applied by rank, all occurrences of the best
pair at once) written out plainly, run on tests/fixtures/bpe/tricky.json and compared with
expected-gpt2.json's ids. Prints the agreement; exits 1 on any difference.

Usage: gpt2_encoder.py [FIXTURE_DIR]   (default tests/fixtures/bpe)
"""
import json
import os
import sys

import regex

PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def byte_chars():
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    chars, extra = {}, 256
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(extra)
            extra += 1
    return chars


def bpe(word, ranks):
    parts = list(word)
    while len(parts) > 1:
        pairs = {(parts[i], parts[i + 1]) for i in range(len(parts) - 1)}
        best = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if best not in ranks:
            break
        merged, i = [], 0
        while i < len(parts):
            if i + 1 < len(parts) and (parts[i], parts[i + 1]) == best:
                merged.append(parts[i] + parts[i + 1])
                i += 2
            else:
                merged.append(parts[i])
                i += 1
        parts = merged
    return parts


def main():
    fixtures = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../tests/fixtures/bpe")
    with open(os.path.join(fixtures, "gpt2/encoder.json"), encoding="utf-8") as f:
        encoder = json.load(f)
    with open(os.path.join(fixtures, "gpt2/vocab.bpe"), encoding="utf-8") as f:
        merges = [tuple(line.split()) for line in f.read().split("\n")[1:] if line]
    ranks = {pair: rank for rank, pair in enumerate(merges)}
    chars = byte_chars()
    with open(os.path.join(fixtures, "tricky.json"), encoding="utf-8") as f:
        strings = json.load(f)
    with open(os.path.join(fixtures, "expected-gpt2.json"), encoding="utf-8") as f:
        expected = json.load(f)["ordinary"]
    differ = []
    for i, text in enumerate(strings):
        ids = []
        for piece in PATTERN.findall(text):
            ids += [encoder[t] for t in bpe("".join(chars[b] for b in piece.encode("utf-8")), ranks)]
        if ids != expected[i]:
            differ.append(i)
    print(f"gpt2: gpt2_encoder.py (Python regex {regex.__version__}) vs the fixture: "
          f"{len(strings) - len(differ)} of {len(strings)} agree" +
          (f"; differ on {[strings[i][:40] for i in differ]}" if differ else ""))
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
