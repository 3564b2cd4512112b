// tools/tokenize.cpp — krait-tokenize: encode text to BPE ids, decode ids to text, compare with a
// reference tokenizer (JSON in, JSON out), and time the tokenizer (--bench).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"
#include "data/bpe_files.h"

namespace {

using krait::data::BpeTokenizer;

constexpr const char* kUsage =
    "usage: krait-tokenize --tokenizer PATH [--special] [--decode | --json | --bench [--threads N]] [FILE...]\n"
    "PATH: a tokenizer.json, GPT-2's encoder.json or vocab.bpe (the other beside it), or a directory of them.\n"
    "Encodes each FILE (standard input without one) and prints its ids, space-separated, a line per file.\n"
    "  --special   match special tokens written in the text (e.g. <|endoftext|>); otherwise they are text\n"
    "  --decode    read whitespace-separated ids and write their text\n"
    "  --json      read a JSON array of strings, write a JSON array of their id arrays, one per line\n"
    "  --bench     tokenize the files (read into memory first) on one thread, then on N threads\n"
    "              (--threads, default: one per core) taking whole files in turn; print MB/s for each\n";

struct Options {
  std::string tokenizer;
  bool special = false, decode = false, json = false, bench = false;
  unsigned threads = 0;
  std::vector<std::string> files;
};

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "krait-tokenize: " << message << "\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (arg == "--tokenizer") {
      o.tokenizer = value();
    } else if (arg == "--special") {
      o.special = true;
    } else if (arg == "--decode") {
      o.decode = true;
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "--bench") {
      o.bench = true;
    } else if (arg == "--threads") {
      const std::string n = value();
      if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos || std::stoul(n) == 0)
        fail("--threads expects a positive integer, found '" + n + "'");
      o.threads = static_cast<unsigned>(std::stoul(n));
    } else if (arg.starts_with("-") && arg != "-") {
      fail("unknown option '" + arg + "' (see --help)");
    } else {
      o.files.push_back(arg);
    }
  }
  if (o.tokenizer.empty()) fail("--tokenizer is required (see --help)");
  if (o.decode + o.json + o.bench > 1) fail("--decode, --json and --bench exclude each other");
  if (o.bench && o.files.empty()) fail("--bench needs files to tokenize");
  return o;
}

std::string read_input(const std::string& path) {
  std::ostringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
    return text.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path + ": cannot open");
  text << in.rdbuf();
  return text.str();
}

void print_ids(const std::vector<int32_t>& ids, const char* separator, std::ostream& out) {
  for (size_t i = 0; i < ids.size(); ++i) out << (i ? separator : "") << ids[i];
}

void decode(const BpeTokenizer& tokenizer, const std::string& text) {
  std::istringstream in(text);
  std::vector<int32_t> ids;
  std::string word;
  while (in >> word) {
    try {
      ids.push_back(static_cast<int32_t>(std::stol(word)));
    } catch (const std::exception&) {
      fail("--decode: '" + word + "' is not an id");
    }
  }
  std::cout << tokenizer.decode(ids);
}

void encode_json(const BpeTokenizer& tokenizer, const std::string& text, const std::string& where, bool special) {
  const krait::JsonValue strings = krait::parse_json(text, where);
  if (strings.kind != krait::JsonValue::Kind::Array) fail(where + ": expected a JSON array of strings");
  std::cout << "[\n";
  for (size_t i = 0; i < strings.items.size(); ++i) {
    if (strings.items[i].kind != krait::JsonValue::Kind::String) fail(where + ": item " + std::to_string(i) + " is not a string");
    std::cout << "[";
    print_ids(tokenizer.encode(strings.items[i].text, special), ",", std::cout);
    std::cout << (i + 1 < strings.items.size() ? "],\n" : "]\n");
  }
  std::cout << "]\n";
}

// Seconds to encode all texts on `threads` threads taking whole texts in turn; total ids in *tokens.
double time_encoding(const BpeTokenizer& tokenizer, const std::vector<std::string>& texts, unsigned threads,
                     uint64_t* tokens) {
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> count{0};
  const auto work = [&] {
    for (size_t i = next++; i < texts.size(); i = next++) count += tokenizer.encode(texts[i]).size();
  };
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (unsigned t = 1; t < threads; ++t) workers.emplace_back(work);
  work();
  for (std::thread& w : workers) w.join();
  *tokens = count;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void bench(const BpeTokenizer& tokenizer, const std::vector<std::string>& files, unsigned threads) {
  std::vector<std::string> texts;
  uint64_t bytes = 0;
  for (const std::string& f : files) {
    texts.push_back(read_input(f));
    bytes += texts.back().size();
  }
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  std::printf("%s\n%zu files, %.2f MB\n", tokenizer.description().c_str(), files.size(), bytes / 1e6);
  for (const unsigned n : {1u, threads}) {
    uint64_t tokens = 0;
    const double seconds = time_encoding(tokenizer, texts, n, &tokens);
    std::printf("%u thread%s: %llu tokens (%.2f bytes/token) in %.3f s: %.2f MB/s (%.2f MB/s per thread)\n", n,
                n == 1 ? "" : "s", static_cast<unsigned long long>(tokens), double(bytes) / double(tokens), seconds,
                bytes / 1e6 / seconds, bytes / 1e6 / seconds / n);
    if (threads == 1) break;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  try {
    const BpeTokenizer tokenizer = krait::data::load_bpe_tokenizer(o.tokenizer);
    if (o.bench) {
      bench(tokenizer, o.files, o.threads);
      return 0;
    }
    if (o.files.empty()) o.files.push_back("-");
    for (const std::string& file : o.files) {
      const std::string text = read_input(file);
      if (o.decode) {
        decode(tokenizer, text);
      } else if (o.json) {
        encode_json(tokenizer, text, file, o.special);
      } else {
        print_ids(tokenizer.encode(text, o.special), " ", std::cout);
        std::cout << "\n";
      }
    }
  } catch (const std::exception& e) {
    fail(e.what());
  }
  return 0;
}
