// tools/bpe_reference/make_fixtures.js — writes tests/fixtures/bpe/: the tricky test strings, small
// tokenizer files in the styles Krait reads, and the ids reference tokenizers give for each string.
// Run by make_fixtures.sh, which installs the references from the npm registry (pinned versions):
//   Hugging Face tokenizers (Rust, through @anush008/tokenizers' native binding), OpenAI's tiktoken
//   (Rust, compiled to WebAssembly) and gpt-3-encoder (a JavaScript port of GPT-2's encoder.py).
// Usage: node make_fixtures.js OUT_DIR (NODE_PATH pointing at the installed node_modules)
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('@anush008/tokenizers');
const { Tiktoken } = require('tiktoken/lite');
const gpt3Encoder = require('gpt-3-encoder');

const out = process.argv[2];
if (!out) throw new Error('usage: node make_fixtures.js OUT_DIR');

const GPT2_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// The strings every tokenizer is checked on.
function trickyStrings() {
  const s = [
    '', 'Hello world', 'Hello, world!', ' leading space', 'trailing space ', '  two leading spaces',
    'a  b   c    d     e', 'x   ', '     ', '\n', '\n\n\n', ' \n \n ', '\t\ttabs\tand\nnewlines\n\n\n',
    'windows\r\nlines\r\n\r\n', 'line\n  indented\n\tx\n', 'end with newline and spaces\n   ', ' \t\n\r\x0b\x0c',
    "I'm you're we've they'll he'd it's", "SHE'S I'M YOU'RE WE'VE THEY'LL HE'D", "She'S Don'T We'Ve They'lL",
    "'sx ''s 'tis rock'n'roll '", "''", "'", "'\u017f and 'ſt (long s)", '\u2018curly\u2019 quotes, It\u2019s',
    '1', '12', '123', '1234', '12345678901234567890', '3.14159 1,000,000 -42 x2y3 2024-11-25',
    '\u0663\u0664\u0665 Arabic-Indic, \u0967\u0968\u0969 Devanagari digits', '\u00b2\u00b3 \u00bd \u216b Roman', 'v1.2.3-rc4',
    'caf\u00e9 na\u00efve r\u00e9sum\u00e9', 'cafe\u0301 decomposed', 'A\u030angstr\u00f6m \u212b sign',
    '\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac', '\u0420\u0443\u0441\u0441\u043a\u0438\u0439 \u0442\u0435\u043a\u0441\u0442',
    '\u4e2d\u6587\u5b57\u7b26\u6d4b\u8bd5', '\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3002',
    '\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8', '\u1112\u1161\u11ab jamo, \u1100\u1161\u11a8',
    'emoji \ud83d\ude00\ud83d\udc4d\ud83c\udffd \ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67 \ud83c\uddfa\ud83c\uddf8!',
    '\u05d6\u05d4 \u05d8\u05e7\u05e1\u05d8 \u05d1\u05e2\u05d1\u05e8\u05d9\u05ea', '\u0627\u0644\u0639\u0631\u0628\u064a\u0629',
    '\ufb01 ligature', '\u00a0nbsp\u00a0', '\u3000ideographic\u3000space', 'line\u2028separator\u2029para',
    'zero\u200bwidth', '\ufeffBOM', 'next\u0085line', 'a\u0308\u0301 a\u0328\u0301 combining',
    'Z\u0324\u0354\u0367\u0311\u0353a\u0308\u0356\u032d\u0308\u0307l\u036e\u0312\u036b', '\u01c5 titlecase \u01c6',
    '\u00df \u1e9e \u212a Kelvin', '\ud835\udc9c\ud835\udcd1\ud835\udd20 \ud835\udfd8\ud835\udfd9 math',
    'control \u0001\u001f\u007f', 'separators\u001c\u001d\u001e\u001fhere', '\u180e mongolian', '\u0958\u0f73\u1e9b\u0323 NFC',
    'def f(x):\n    return x**2  # square\n', '<|endoftext|>', 'a<|endoftext|>b', 'two <|endoftext|><|endoftext|> eot',
    'http://example.com/path?q=1&r=2#frag', 'C++ std::vector<int> v{1, 2};', '{"json": [1, 2.5, true, null]}',
    '$$$ %%% ^^^ ~~~ ---- ____ ====', '.....!!!???', 'tab\there', 'I\u2019ll see 50% of 1/2',
  ];
  s.push('a'.repeat(10000), 'ab'.repeat(5000), ' '.repeat(1000), '\n'.repeat(1000), 'x'.repeat(1000) + ' ' + 'y'.repeat(1000),
         '\u00e9'.repeat(1000), '1'.repeat(1000), '!'.repeat(2000), '\ud83e\udd17'.repeat(200),
         'Pneumonoultramicroscopicsilicovolcanoconiosis'.repeat(220));
  return s;
}

// GPT-2's bytes_to_unicode: byte -> the character that spells it.
const BYTE_CHARS = (() => {
  const printable = (b) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const chars = [];
  let next = 256;
  for (let b = 0; b < 256; ++b) chars.push(String.fromCodePoint(printable(b) ? b : next++));
  return chars;
})();
const spell = (bytes) => Array.from(bytes, (b) => BYTE_CHARS[b]).join('');

function tokenizerJson({ vocab, merges, preTokenizer, normalizer = null, added = [], ignoreMerges = false }) {
  return JSON.stringify({
    version: '1.0', truncation: null, padding: null, added_tokens: added.map((t) => ({
      id: t.id, content: t.content, single_word: false, lstrip: false, rstrip: false,
      normalized: !t.special, special: t.special })),
    normalizer, pre_tokenizer: preTokenizer, post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
             fuse_unk: false, byte_fallback: false, ignore_merges: ignoreMerges, vocab, merges },
  });
}

const byteLevel = (addPrefixSpace, useRegex) =>
    ({ type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: useRegex });

async function hfIds(json, strings) {
  const tokenizer = Tokenizer.fromString(json);
  const ids = [];
  for (const s of strings) ids.push((await tokenizer.encode(s, null, { addSpecialTokens: false })).getIds());
  return ids;
}

// The expected ids: `ordinary` for every string (special tokens written in it are text), and
// `special` (special tokens matched) only where that differs, by string index.
function expected(source, notes, ordinaryIds, specialIds) {
  const special = {};
  specialIds.forEach((ids, i) => { if (JSON.stringify(ids) !== JSON.stringify(ordinaryIds[i])) special[i] = ids; });
  return { source, references: notes, special, ordinary: ordinaryIds };
}

function writeJson(name, value) {
  const lines = (array) => '[\n' + array.map((v) => JSON.stringify(v)).join(',\n') + '\n]';
  const text = Array.isArray(value) ? lines(value) + '\n' : '{\n' + Object.entries(value).map(([k, v]) =>
      JSON.stringify(k) + ': ' + (k === 'ordinary' ? lines(v) : JSON.stringify(v))).join(',\n') + '\n}\n';
  fs.writeFileSync(path.join(out, name), text);
}

// Compares each reference with the first; reports the strings where they differ.
function agreement(strings, named) {
  const [first, ...rest] = Object.entries(named);
  const notes = [];
  for (const [name, ids] of rest) {
    const differ = strings.map((_, i) => i).filter((i) => JSON.stringify(ids[i]) !== JSON.stringify(first[1][i]));
    notes.push(`${name} vs ${first[0]}: ${strings.length - differ.length} of ${strings.length} agree` +
               (differ.length ? `; differ on ${differ.map((i) => JSON.stringify(strings[i].slice(0, 40))).join(', ')}` : ''));
  }
  return notes;
}

// tiktoken-style ranks (token bytes by rank) -> merges, as Hugging Face converts them: each token
// is split where BPE over the lower ranks leaves it in two pieces.
function mergesFromRanks(ranks) {
  const rankOf = new Map(ranks.map((b, r) => [Buffer.from(b).toString('latin1'), r]));
  const merges = [];
  for (let r = 0; r < ranks.length; ++r) {
    if (ranks[r].length < 2) continue;
    let parts = Array.from(ranks[r], (b) => Buffer.from([b]).toString('latin1'));
    while (parts.length > 2) {
      let best = -1, bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; ++i) {
        const pr = rankOf.get(parts[i] + parts[i + 1]);
        if (pr !== undefined && pr < r && pr < bestRank) best = i, bestRank = pr;
      }
      if (best < 0) throw new Error(`rank ${r} cannot be built from lower ranks`);
      parts.splice(best, 2, parts[best] + parts[best + 1]);
    }
    merges.push([r, parts.map((p) => spell(Buffer.from(p, 'latin1')))]);
  }
  return merges.sort((a, b) => a[0] - b[0]).map((m) => m[1]);
}

async function main() {
  fs.mkdirSync(path.join(out, 'gpt2'), { recursive: true });
  const strings = trickyStrings();
  writeJson('tricky.json', strings);
  const ordinary = strings;
  const references = {};

  // GPT-2: the real files.
  const g3 = path.dirname(require.resolve('gpt-3-encoder'));
  for (const f of ['encoder.json', 'vocab.bpe']) fs.copyFileSync(path.join(g3, f), path.join(out, 'gpt2', f));
  const encoder = JSON.parse(fs.readFileSync(path.join(g3, 'encoder.json'), 'utf8'));
  const gpt2Merges = fs.readFileSync(path.join(g3, 'vocab.bpe'), 'utf8').split('\n').slice(1).filter((l) => l);
  const gpt2Json = (added) => tokenizerJson({ vocab: encoder, merges: gpt2Merges, preTokenizer: byteLevel(false, true), added });
  const eot = [{ id: 50256, content: '<|endoftext|>', special: true }];
  const gpt2 = {
    ordinary: await hfIds(gpt2Json([]), ordinary),
    special: await hfIds(gpt2Json(eot), ordinary),
  };
  const tiktokenGpt2 = JSON.parse(fs.readFileSync(require.resolve('tiktoken/encoders/gpt2.json'), 'utf8'));
  const tk = new Tiktoken(tiktokenGpt2.bpe_ranks, tiktokenGpt2.special_tokens, tiktokenGpt2.pat_str);
  references.gpt2 = [
    ...agreement(ordinary, { 'HF tokenizers': gpt2.ordinary, 'tiktoken gpt2 (encode_ordinary)': ordinary.map((s) => Array.from(tk.encode_ordinary(s))),
                             'gpt-3-encoder': ordinary.map((s) => gpt3Encoder.encode(s)) }),
    ...agreement(ordinary, { 'HF tokenizers, <|endoftext|> added': gpt2.special,
                             'tiktoken gpt2 (all special allowed)': ordinary.map((s) => Array.from(tk.encode(s, 'all'))) }),
  ];
  tk.free();
  writeJson('expected-gpt2.json', expected('gpt2/encoder.json + gpt2/vocab.bpe', references.gpt2, gpt2.ordinary, gpt2.special));

  // Llama-3 style: the first 5,000 ranks of cl100k_base (the Llama-3 pattern is cl100k's) as a
  // tokenizer.json with merges as pairs, ignore_merges and two special tokens.
  const cl100k = JSON.parse(fs.readFileSync(require.resolve('tiktoken/encoders/cl100k_base.json'), 'utf8'));
  const parts = cl100k.bpe_ranks.split(' ');
  if (parts[0] !== '!' || parts[1] !== '0') throw new Error('unexpected cl100k_base.json layout');
  const ranks = parts.slice(2, 2 + 5000).map((b64) => Buffer.from(b64, 'base64'));
  const llamaVocab = Object.fromEntries(ranks.map((b, r) => [spell(b), r]));
  const llamaAdded = [{ id: 5000, content: '<|begin_of_text|>', special: true }, { id: 5001, content: '<|end_of_text|>', special: true }];
  const llamaJson = (added) => tokenizerJson({
    vocab: llamaVocab, merges: mergesFromRanks(ranks), ignoreMerges: true, added,
    preTokenizer: { type: 'Sequence', pretokenizers: [
      { type: 'Split', pattern: { Regex: LLAMA3_REGEX }, behavior: 'Isolated', invert: false }, byteLevel(false, false)] },
  });
  fs.writeFileSync(path.join(out, 'llama3-style.json'), llamaJson(llamaAdded));
  const llamaStrings = ordinary.map((s) => s.replaceAll('<|endoftext|>', '<|end_of_text|>'));
  const llama = { ordinary: await hfIds(llamaJson([]), llamaStrings), special: await hfIds(llamaJson(llamaAdded), llamaStrings) };
  const rankText = '! 0 ' + ranks.map((b) => b.toString('base64')).join(' ');
  const tkLlama = new Tiktoken(rankText, { '<|begin_of_text|>': 5000, '<|end_of_text|>': 5001 }, LLAMA3_REGEX);
  references['llama3-style'] = [
    ...agreement(llamaStrings, { 'HF tokenizers': llama.ordinary, 'tiktoken, same ranks and pattern (encode_ordinary)':
                                 llamaStrings.map((s) => Array.from(tkLlama.encode_ordinary(s))) }),
    ...agreement(llamaStrings, { 'HF tokenizers, special tokens added': llama.special,
                                 'tiktoken (all special allowed)': llamaStrings.map((s) => Array.from(tkLlama.encode(s, 'all'))) }),
  ];
  tkLlama.free();
  writeJson('expected-llama3-style.json', expected('llama3-style.json; <|endoftext|> in the strings replaced by <|end_of_text|>',
                                                   references['llama3-style'], llama.ordinary, llama.special));

  // GPT-NeoX style: GPT-2's first 5,000 merges with NFC, merges as "a b" strings, and added tokens
  // for runs of spaces (matched always) besides the special <|endoftext|>.
  const neoxVocab = Object.fromEntries(Object.entries(encoder).filter(([, id]) => id < 5256));
  gpt2Merges.slice(0, 5000).forEach((m, i) => {
    if (encoder[m.replace(' ', '')] !== 256 + i) throw new Error(`GPT-2 merge ${i} does not make id ${256 + i}`);
  });
  const neoxSpaces = [2, 3, 4, 8].map((n, i) => ({ id: 5256 + i, content: ' '.repeat(n), special: false }));
  const neoxAdded = [...neoxSpaces, { id: 5260, content: '<|endoftext|>', special: true }];
  const neoxJson = (added, prefixSpace = false, nfc = true) => tokenizerJson({
    vocab: neoxVocab, merges: gpt2Merges.slice(0, 5000), preTokenizer: byteLevel(prefixSpace, true),
    normalizer: nfc ? { type: 'NFC' } : null, added });
  fs.writeFileSync(path.join(out, 'neox-style.json'), neoxJson(neoxAdded));
  const neox = { ordinary: await hfIds(neoxJson(neoxSpaces), ordinary), special: await hfIds(neoxJson(neoxAdded), ordinary) };
  writeJson('expected-neox-style.json', expected('neox-style.json', ['HF tokenizers only'], neox.ordinary, neox.special));

  // add_prefix_space (RoBERTa style): the same vocabulary, no normalizer, only <|endoftext|>.
  const prefixAdded = [{ id: 5256, content: '<|endoftext|>', special: true }];
  fs.writeFileSync(path.join(out, 'prefix-space.json'), neoxJson(prefixAdded, true, false));
  const prefix = { ordinary: await hfIds(neoxJson([], true, false), ordinary),
                   special: await hfIds(neoxJson(prefixAdded, true, false), ordinary) };
  writeJson('expected-prefix-space.json', expected('prefix-space.json', ['HF tokenizers only'], prefix.ordinary, prefix.special));

  for (const [name, notes] of Object.entries(references)) for (const n of notes) console.log(`${name}: ${n}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
