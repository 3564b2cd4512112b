#!/usr/bin/env bash
# tools/bpe_reference/make_fixtures.sh [OUT] — (re)writes the BPE test fixtures (default
# tests/fixtures/bpe/) from reference tokenizers installed from the npm registry at pinned versions
# into runs/bpe-reference/: Hugging Face tokenizers 0.22 (Rust; @anush008/tokenizers' native binding),
# OpenAI's tiktoken (Rust as WebAssembly) and gpt-3-encoder (JavaScript port of GPT-2's encoder.py),
# then checks the GPT-2 ids once more with gpt2_encoder.py (Python, the `regex` module). Prints how
# many strings each reference agrees on.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${1:-$ROOT/tests/fixtures/bpe}"
REF="$ROOT/runs/bpe-reference"
mkdir -p "$REF"
if [[ ! -d "$REF/node_modules/@anush008/tokenizers" ]]; then
  (cd "$REF" && npm install --no-audit --no-fund --silent \
    @anush008/tokenizers@0.6.0 tiktoken@1.0.22 gpt-3-encoder@1.1.4 >/dev/null)
fi
NODE_PATH="$REF/node_modules" node "$ROOT/tools/bpe_reference/make_fixtures.js" "$OUT"
python3 "$ROOT/tools/bpe_reference/gpt2_encoder.py" "$OUT"
