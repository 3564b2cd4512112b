// data/wav.cpp — the RIFF/WAVE reader and the 16-bit PCM writer (see wav.h). The file is read whole;
// every field is checked against the bytes that remain before it is trusted.
#include "data/wav.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <sstream>

#include "common/error.h"

namespace krait::data {

static_assert(std::endian::native == std::endian::little, "the WAV reader assumes a little-endian host");

namespace {

constexpr uint16_t kFormatPcm = 1, kFormatFloat = 3, kFormatExtensible = 0xFFFE;
constexpr size_t kRiffHeaderBytes = 12, kChunkHeaderBytes = 8, kFmtBytes = 16, kExtensibleFmtBytes = 40;
// Bytes 2..15 of the KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT GUIDs; bytes 0..1 hold the format code.
constexpr unsigned char kSubformatGuidTail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                                  0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

// What the fmt chunk says, EXTENSIBLE resolved to its subformat.
struct Fmt {
  WavFormat format = WavFormat::Pcm;
  bool extensible = false;
  int channels = 0, sample_rate = 0, bits = 0, block_align = 0;
};

// The file's bytes with little-endian field loads.
class WavBytes {
 public:
  explicit WavBytes(const std::string& path) : path_(path) {
    std::ifstream in(path, std::ios::binary);
    KRAIT_CHECK(in, path, ": cannot open WAV file: ", std::strerror(errno));
    bytes_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    KRAIT_CHECK(!in.bad(), path, ": read failed");
  }

  const std::string& path() const { return path_; }
  size_t size() const { return bytes_.size(); }
  const unsigned char* at(size_t offset) const { return bytes_.data() + offset; }
  uint16_t u16(size_t offset) const { return load<uint16_t>(offset); }
  uint32_t u32(size_t offset) const { return load<uint32_t>(offset); }

  // The 4 bytes at offset as text, non-printable bytes as \xNN.
  std::string tag(size_t offset) const {
    std::ostringstream os;
    for (size_t i = offset; i < std::min(offset + 4, size()); ++i) {
      if (bytes_[i] >= 0x20 && bytes_[i] < 0x7f) {
        os << static_cast<char>(bytes_[i]);
      } else {
        static const char* hex = "0123456789abcdef";
        os << "\\x" << hex[bytes_[i] >> 4] << hex[bytes_[i] & 15];
      }
    }
    return os.str();
  }

 private:
  template <typename T>
  T load(size_t offset) const {
    T value;
    std::memcpy(&value, bytes_.data() + offset, sizeof(T));
    return value;
  }

  std::string path_;
  std::vector<unsigned char> bytes_;
};

const char* format_name(uint16_t code) {
  switch (code) {
    case 0x0002: return "Microsoft ADPCM";
    case 0x0006: return "A-law";
    case 0x0007: return "mu-law";
    case 0x0011: return "IMA ADPCM";
    case 0x0031: return "GSM 6.10";
    case 0x0050: return "MPEG";
    case 0x0055: return "MPEG layer 3";
    default: return "unknown";
  }
}

void check_riff_header(const WavBytes& b) {
  KRAIT_CHECK(b.size() >= kRiffHeaderBytes, b.path(), ": byte 0: file is ", b.size(),
              " bytes, shorter than the 12-byte RIFF/WAVE header");
  KRAIT_CHECK(b.tag(0) == "RIFF", b.path(), ": byte 0: not a WAV file: expected \"RIFF\", found \"", b.tag(0), "\"",
              b.tag(0) == "RIFX" ? " (big-endian RIFX is not supported)" : "");
  KRAIT_CHECK(b.tag(8) == "WAVE", b.path(), ": byte 8: not a WAV file: expected \"WAVE\", found \"", b.tag(8), "\"");
}

// The format code, resolving EXTENSIBLE to its subformat; body is the fmt chunk's first byte.
uint16_t format_code(const WavBytes& b, size_t body, uint32_t chunk_size, Fmt& fmt) {
  const uint16_t code = b.u16(body);
  if (code != kFormatExtensible) return code;
  KRAIT_CHECK(chunk_size >= kExtensibleFmtBytes, b.path(), ": byte ", body - 4,
              ": WAVE_FORMAT_EXTENSIBLE fmt chunk is ", chunk_size, " bytes, expected at least ", kExtensibleFmtBytes);
  const size_t guid = body + 24;
  KRAIT_CHECK(std::memcmp(b.at(guid + 2), kSubformatGuidTail, sizeof(kSubformatGuidTail)) == 0, b.path(), ": byte ",
              guid, ": WAVE_FORMAT_EXTENSIBLE subformat is not a standard KSDATAFORMAT_SUBTYPE GUID");
  fmt.extensible = true;
  return b.u16(guid);
}

void check_bits(const WavBytes& b, size_t at, const Fmt& fmt) {
  if (fmt.format == WavFormat::Float) {
    KRAIT_CHECK(fmt.bits == 32, b.path(), ": byte ", at, ": IEEE float samples of ", fmt.bits,
                " bits are not supported, expected 32");
  } else {
    KRAIT_CHECK(fmt.bits == 8 || fmt.bits == 16 || fmt.bits == 24 || fmt.bits == 32, b.path(), ": byte ", at,
                ": PCM samples of ", fmt.bits, " bits are not supported, expected 8, 16, 24 or 32");
  }
}

// Parses the fmt chunk whose 8-byte header is at chunk (its size already checked against the file).
Fmt parse_fmt(const WavBytes& b, size_t chunk, uint32_t chunk_size) {
  const size_t body = chunk + kChunkHeaderBytes;
  KRAIT_CHECK(chunk_size >= kFmtBytes, b.path(), ": byte ", chunk + 4, ": fmt chunk is ", chunk_size,
              " bytes, expected at least ", kFmtBytes);
  Fmt fmt;
  const uint16_t code = format_code(b, body, chunk_size, fmt);
  KRAIT_CHECK(code == kFormatPcm || code == kFormatFloat, b.path(), ": byte ", fmt.extensible ? body + 24 : body,
              ": unsupported WAV format code ", code, " (", format_name(code),
              "), expected PCM (1), IEEE float (3) or EXTENSIBLE (0xFFFE) with a PCM or float subformat");
  fmt.format = code == kFormatFloat ? WavFormat::Float : WavFormat::Pcm;
  fmt.channels = b.u16(body + 2);
  KRAIT_CHECK(fmt.channels > 0, b.path(), ": byte ", body + 2, ": 0 channels, expected at least 1");
  const uint32_t rate = b.u32(body + 4);
  KRAIT_CHECK(rate > 0 && rate <= static_cast<uint32_t>(std::numeric_limits<int>::max()), b.path(), ": byte ", body + 4,
              ": sample rate ", rate, ", expected a positive rate");
  fmt.sample_rate = static_cast<int>(rate);
  fmt.bits = b.u16(body + 14);
  check_bits(b, body + 14, fmt);
  fmt.block_align = b.u16(body + 12);
  const int expected_align = fmt.channels * fmt.bits / 8;
  KRAIT_CHECK(fmt.block_align == expected_align, b.path(), ": byte ", body + 12, ": block_align ", fmt.block_align,
              ", expected ", expected_align, " (", fmt.channels, " channels x ", fmt.bits / 8, " bytes)");
  return fmt;
}

// One channel's sample at p as a float; float samples are checked finite (at names p's offset).
float sample_at(const WavBytes& b, size_t at, const Fmt& fmt) {
  const unsigned char* p = b.at(at);
  if (fmt.format == WavFormat::Float) {
    float v;
    std::memcpy(&v, p, sizeof(v));
    KRAIT_CHECK(std::isfinite(v), b.path(), ": byte ", at, ": float sample ", v, ", expected a finite value");
    return std::clamp(v, -1.0f, 1.0f);
  }
  switch (fmt.bits) {
    case 8: return static_cast<float>(p[0] - 128) / 128.0f;
    case 16: return static_cast<float>(static_cast<int16_t>(b.u16(at))) / 32768.0f;
    case 24: {
      const int32_t raw = p[0] | (p[1] << 8) | (p[2] << 16);
      return static_cast<float>((raw ^ 0x800000) - 0x800000) / 8388608.0f;
    }
    default: return static_cast<float>(static_cast<int32_t>(b.u32(at)) / 2147483648.0);
  }
}

// Checks the data chunk whose header is at chunk and averages each frame's channels.
std::vector<float> decode_data(const WavBytes& b, size_t chunk, const Fmt& fmt) {
  const size_t data = chunk + kChunkHeaderBytes;
  const uint32_t size = b.u32(chunk + 4);
  const size_t found = b.size() - data;
  KRAIT_CHECK(size <= found, b.path(), ": byte ", chunk + 4, ": truncated data chunk: expected ", size,
              " bytes of samples from byte ", data, ", found ", found);
  KRAIT_CHECK(size % fmt.block_align == 0, b.path(), ": byte ", chunk + 4, ": data chunk size ", size,
              " is not a multiple of block_align ", fmt.block_align);
  const size_t frames = size / fmt.block_align, width = fmt.bits / 8;
  std::vector<float> mono(frames);
  for (size_t f = 0; f < frames; ++f) {
    double sum = 0;
    for (int c = 0; c < fmt.channels; ++c) sum += sample_at(b, data + f * fmt.block_align + c * width, fmt);
    mono[f] = static_cast<float>(sum / fmt.channels);
  }
  return mono;
}

}  // namespace

WavAudio read_wav(const std::string& path) {
  const WavBytes b(path);
  check_riff_header(b);
  std::optional<Fmt> fmt;
  for (size_t chunk = kRiffHeaderBytes;;) {
    KRAIT_CHECK(chunk + kChunkHeaderBytes <= b.size(), path, ": byte ", chunk,
                ": expected a 'data' chunk, found the end of the file", fmt ? "" : " (and no 'fmt ' chunk)");
    const std::string id = b.tag(chunk);
    if (id == "data") {
      KRAIT_CHECK(fmt.has_value(), path, ": byte ", chunk, ": expected a 'fmt ' chunk before the 'data' chunk");
      return {fmt->sample_rate, fmt->channels, fmt->bits, fmt->format, fmt->extensible, decode_data(b, chunk, *fmt)};
    }
    const uint32_t size = b.u32(chunk + 4);
    const size_t remaining = b.size() - chunk - kChunkHeaderBytes;
    KRAIT_CHECK(size <= remaining, path, ": byte ", chunk + 4, ": truncated '", id, "' chunk: expected ", size,
                " bytes, found ", remaining);
    if (id == "fmt ") fmt = parse_fmt(b, chunk, size);
    chunk += kChunkHeaderBytes + size + (size & 1);  // chunks are padded to an even size
  }
}

void write_wav_pcm16(const std::string& path, std::span<const float> mono, int sample_rate) {
  KRAIT_CHECK(sample_rate > 0, path, ": sample rate ", sample_rate, ", expected > 0");
  KRAIT_CHECK(mono.size() <= (std::numeric_limits<uint32_t>::max() - 36) / 2, path, ": ", mono.size(),
              " samples do not fit a WAV file");
  const auto data_bytes = static_cast<uint32_t>(mono.size() * 2);
  std::vector<unsigned char> bytes(44 + data_bytes);
  auto put = [&](size_t at, auto value) { std::memcpy(bytes.data() + at, &value, sizeof(value)); };
  std::memcpy(bytes.data(), "RIFF", 4);
  put(4, static_cast<uint32_t>(36 + data_bytes));
  std::memcpy(bytes.data() + 8, "WAVEfmt ", 8);
  put(16, static_cast<uint32_t>(kFmtBytes));
  put(20, kFormatPcm);
  put(22, static_cast<uint16_t>(1));  // channels
  put(24, static_cast<uint32_t>(sample_rate));
  put(28, static_cast<uint32_t>(sample_rate) * 2);  // byte rate
  put(32, static_cast<uint16_t>(2));                // block_align
  put(34, static_cast<uint16_t>(16));               // bits
  std::memcpy(bytes.data() + 36, "data", 4);
  put(40, data_bytes);
  for (size_t i = 0; i < mono.size(); ++i) {
    KRAIT_CHECK(std::isfinite(mono[i]), path, ": sample ", i, " is ", mono[i], ", expected a finite value");
    const float scaled = std::round(std::clamp(mono[i], -1.0f, 1.0f) * 32768.0f);
    put(44 + 2 * i, static_cast<int16_t>(std::min(scaled, 32767.0f)));
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  KRAIT_CHECK(out, path, ": cannot open for writing: ", std::strerror(errno));
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  KRAIT_CHECK(out, path, ": write failed (disk full?)");
}

}  // namespace krait::data
