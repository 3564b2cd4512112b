// common/file_text.h — read_file_text: a whole file's bytes, with errors that name the file and what
// it was expected to be (a directory, a missing or unreadable file).
#pragma once

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/error.h"

namespace krait {

// what: the kind of file the caller wanted, for the messages ("tokenizer file", "prompt file").
inline std::string read_file_text(const std::string& path, const std::string& what) {
  KRAIT_CHECK(!std::filesystem::is_directory(path), path, ": is a directory, not a ", what);
  std::ifstream in(path, std::ios::binary);
  KRAIT_CHECK(in, path, ": cannot open the ", what, ": ", std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  KRAIT_CHECK(!in.bad(), path, ": reading the ", what, " failed");
  return text.str();
}

}  // namespace krait
