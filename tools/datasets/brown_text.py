#!/usr/bin/env python3
"""Untags the Brown corpus: each file of `word/TAG` tokens (sentences on tab-indented lines,
paragraphs between blank lines) becomes plain text, one paragraph a line, paragraphs separated by a
blank line. Words are joined with spaces except before closing punctuation and after opening
punctuation; `` and '' become double quotes.

Usage: brown_text.py OUT_DIR BROWN_FILE...   (writes OUT_DIR/<file name>.txt)
"""
import os
import sys

CLOSING = {",", ".", ";", ":", "?", "!", ")", "''", "'"}
OPENING = {"(", "``"}


def words(line):
    for token in line.split():
        word, slash, _tag = token.rpartition("/")
        yield word if slash else token


def detokenize(tokens):
    out, glue = [], True  # glue: no space before the next word
    for w in tokens:
        text = '"' if w in ("``", "''") else w
        if out and not glue and w not in CLOSING:
            out.append(" ")
        out.append(text)
        glue = w in OPENING
    return "".join(out)


def untag(text):
    paragraphs, current = [], []
    for line in text.splitlines():
        if line.strip():
            current.extend(words(line))
        elif current:
            paragraphs.append(detokenize(current))
            current = []
    if current:
        paragraphs.append(detokenize(current))
    return "\n\n".join(paragraphs) + "\n"


def main():
    out_dir, files = sys.argv[1], sys.argv[2:]
    os.makedirs(out_dir, exist_ok=True)
    for path in files:
        with open(path, encoding="utf-8") as f:
            text = untag(f.read())
        with open(os.path.join(out_dir, os.path.basename(path) + ".txt"), "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
