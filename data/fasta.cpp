// data/fasta.cpp — the streaming FASTA reader: zlib's gzread reads the file (it decompresses a file
// that starts with the gzip magic 1f 8b, member after member, and passes any other file through
// unchanged), LineReader splits it into lines, read_fasta parses the lines into records.
#include "data/fasta.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "common/error.h"
#include "data/dna_tokenizer.h"

namespace krait::data {

namespace {

constexpr unsigned kReadChunk = 1 << 16;

// The lines of a plain or gzip-compressed file, without their LF or CRLF ending.
class LineReader {
 public:
  explicit LineReader(const std::string& path);
  ~LineReader() { gzclose(file_); }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Puts the next line in `line`; false at the end of the file. Throws on a read or zlib error.
  bool next(std::string& line);
  int64_t line_number() const { return line_number_; }

 private:
  bool fill();                   // reads the next chunk into buffer_; false at the end of the file
  void check_stream() const;     // throws if zlib has noted a read error or a bad gzip stream
  std::string position() const;  // "after line N", for messages

  std::string path_;
  gzFile file_;
  std::vector<char> buffer_;
  size_t pos_ = 0, end_ = 0;
  int64_t line_number_ = 0;
};

LineReader::LineReader(const std::string& path) : path_(path), buffer_(kReadChunk) {
  file_ = gzopen(path.c_str(), "rb");
  KRAIT_CHECK(file_ != nullptr, path, ": cannot open FASTA file: ", std::strerror(errno));
  gzbuffer(file_, kReadChunk);
}

std::string LineReader::position() const {
  return line_number_ == 0 ? "before its first line" : "after line " + std::to_string(line_number_);
}

void LineReader::check_stream() const {
  int err = Z_OK;
  std::string_view message = gzerror(file_, &err);
  KRAIT_CHECK(err != Z_ERRNO, path_, ": read error ", position(), ": ", std::strerror(errno));
  const std::string prefix = path_ + ": ";  // zlib's messages start with the path
  if (message.starts_with(prefix)) message.remove_prefix(prefix.size());
  KRAIT_CHECK(err == Z_OK, path_, ": gzip stream is truncated or corrupt ", position(), " (zlib: ", message, ")");
}

bool LineReader::fill() {
  check_stream();  // an error zlib noted with the last chunk, now that the lines before it are read
  const int n = gzread(file_, buffer_.data(), kReadChunk);
  if (n <= 0) check_stream();
  pos_ = 0;
  end_ = n > 0 ? static_cast<size_t>(n) : 0;
  return n > 0;
}

bool LineReader::next(std::string& line) {
  line.clear();
  if (pos_ == end_ && !fill()) return false;
  for (;;) {
    const char* begin = buffer_.data() + pos_;
    const auto* newline = static_cast<const char*>(std::memchr(begin, '\n', end_ - pos_));
    if (newline != nullptr) {
      line.append(begin, newline);
      pos_ += static_cast<size_t>(newline - begin) + 1;
      break;
    }
    line.append(begin, end_ - pos_);
    pos_ = end_;
    if (!fill()) break;  // a last line without a newline
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  ++line_number_;
  return true;
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

bool is_blank(const std::string& line) {
  return line.find_first_not_of(" \t") == std::string::npos;
}

std::string describe_char(char c) {
  std::ostringstream os;
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) {
    os << "'" << c << "'";
  } else {
    static const char* hex = "0123456789abcdef";
    os << "byte 0x" << hex[byte >> 4] << hex[byte & 15];
  }
  return os.str();
}

FastaRecord parse_header(const std::string& path, const std::string& line, int64_t number) {
  FastaRecord record;
  record.line = number;
  const size_t name_begin = line.find_first_not_of(" \t", 1);
  KRAIT_CHECK(name_begin != std::string::npos, path, ":", number, ": header '", line,
              "' has an empty record name (expected '>NAME description')");
  const size_t name_end = line.find_first_of(" \t", name_begin);
  record.name = line.substr(name_begin, name_end - name_begin);
  const size_t description_begin = line.find_first_not_of(" \t", name_end);
  if (name_end != std::string::npos && description_begin != std::string::npos) {
    const size_t description_end = line.find_last_not_of(" \t") + 1;
    record.description = line.substr(description_begin, description_end - description_begin);
  }
  return record;
}

void append_bases(const std::string& path, const std::string& line, int64_t number, FastaRecord& record) {
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (DnaTokenizer::base_id(c) >= 0) {
      record.sequence.push_back(c);
    } else if (c != '-' && !is_space(c)) {
      KRAIT_FAIL(path, ":", number, ":", i + 1, ": character ", describe_char(c), " in record '", record.name,
                 "' is not an IUPAC nucleotide code (ACGTUN RYKMSWBDHV, either case, or '-' for a gap)");
    }
  }
}

void emit(const std::string& path, FastaRecord& record, const std::function<void(FastaRecord&&)>& on_record) {
  KRAIT_CHECK(!record.sequence.empty(), path, ":", record.line, ": record '", record.name,
              "' has an empty sequence");
  on_record(std::move(record));
}

}  // namespace

void read_fasta(const std::string& path, const std::function<void(FastaRecord&&)>& on_record) {
  LineReader lines(path);
  std::unordered_map<std::string, int64_t> header_lines;  // name -> line of its header
  FastaRecord record;
  bool in_record = false;
  std::string line;
  while (lines.next(line)) {
    const int64_t number = lines.line_number();
    if (is_blank(line) || line[0] == ';') continue;
    if (line[0] != '>') {
      KRAIT_CHECK(in_record, path, ":", number,
                  ": sequence data before the first '>' header (is this a FASTA file?)");
      append_bases(path, line, number, record);
      continue;
    }
    if (in_record) emit(path, record, on_record);
    record = parse_header(path, line, number);
    const auto [first, added] = header_lines.emplace(record.name, number);
    KRAIT_CHECK(added, path, ":", number, ": record name '", record.name, "' is used twice (first at line ",
                first->second, ")");
    in_record = true;
  }
  KRAIT_CHECK(in_record, path, ": no FASTA records (the file is empty or holds only blank and comment lines)");
  emit(path, record, on_record);
}

std::vector<FastaRecord> read_fasta_all(const std::string& path) {
  std::vector<FastaRecord> records;
  read_fasta(path, [&](FastaRecord&& record) { records.push_back(std::move(record)); });
  return records;
}

}  // namespace krait::data
