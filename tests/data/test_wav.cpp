// tests/data/test_wav.cpp — read_wav on the real fixtures in fixtures/audio (see its README): header
// fields, samples checked against the raw bytes and across bit depths, stereo mixdown, EXTENSIBLE,
// skipped chunks, the writer, and every rejected file, crafted by breaking copies of the real bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "data/wav.h"
#include "tests/data/error_text.h"
#include "tests/data/temp_dir.h"

namespace krait::data {
namespace {

using testing::error_text;
using testing::mentions;

std::string fixture(const std::string& name) { return std::string(KRAIT_FIXTURES_DIR) + "/audio/" + name; }

// Byte offsets in the canonical 44-byte header of the 16-bit fixture.
constexpr size_t kFormatAt = 20, kChannelsAt = 22, kRateAt = 24, kBlockAlignAt = 32, kBitsAt = 34, kDataAt = 36,
                 kSamplesAt = 44;
constexpr size_t kFloatSamplesAt = 58;  // the float fixture: 18-byte fmt chunk, then a 12-byte fact chunk

void put_u16(std::vector<char>& bytes, size_t at, uint16_t v) { std::memcpy(bytes.data() + at, &v, 2); }
void put_u32(std::vector<char>& bytes, size_t at, uint32_t v) { std::memcpy(bytes.data() + at, &v, 4); }

int16_t i16_at(const std::vector<char>& bytes, size_t at) {
  int16_t v;
  std::memcpy(&v, bytes.data() + at, 2);
  return v;
}

std::vector<char> chars(std::string_view s) { return {s.begin(), s.end()}; }

// A RIFF/WAVE file of a fmt chunk with this body and a data chunk with these bytes.
std::vector<char> wav_file(const std::vector<char>& fmt_body, const std::vector<char>& data) {
  std::vector<char> b = chars("RIFF....WAVEfmt ....");
  b.insert(b.end(), fmt_body.begin(), fmt_body.end());
  const std::vector<char> data_header = chars("data....");
  b.insert(b.end(), data_header.begin(), data_header.end());
  b.insert(b.end(), data.begin(), data.end());
  put_u32(b, 4, static_cast<uint32_t>(b.size() - 8));
  put_u32(b, 16, static_cast<uint32_t>(fmt_body.size()));
  put_u32(b, 24 + fmt_body.size(), static_cast<uint32_t>(data.size()));
  return b;
}

// A mono fmt body: 16 bytes, or 40 with an EXTENSIBLE subformat of the given code.
std::vector<char> fmt_body(uint16_t format, int bits, bool extensible) {
  std::vector<char> body(extensible ? 40 : 16);
  put_u16(body, 0, extensible ? 0xFFFE : format);
  put_u16(body, 2, 1);
  put_u32(body, 4, 16000);
  put_u32(body, 8, 16000 * bits / 8);
  put_u16(body, 12, static_cast<uint16_t>(bits / 8));
  put_u16(body, 14, static_cast<uint16_t>(bits));
  if (extensible) {
    put_u16(body, 16, 22);  // cbSize
    put_u16(body, 18, static_cast<uint16_t>(bits));
    put_u32(body, 20, 4);  // front centre
    const unsigned char guid[16] = {0, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71};
    std::memcpy(body.data() + 24, guid, 16);
    put_u16(body, 24, format);
  }
  return body;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

const std::vector<float>& pcm16_samples() {
  static const std::vector<float> samples = read_wav(fixture("seven_16k_pcm16.wav")).mono;
  return samples;
}

TEST(Wav, Reads16BitPcmHeaderAndSamplesFromTheRawBytes) {
  const WavAudio audio = read_wav(fixture("seven_16k_pcm16.wav"));
  EXPECT_EQ(audio.sample_rate, 16000);
  EXPECT_EQ(audio.channels, 1);
  EXPECT_EQ(audio.bits, 16);
  EXPECT_EQ(audio.format, WavFormat::Pcm);
  EXPECT_FALSE(audio.extensible);
  ASSERT_EQ(audio.mono.size(), 16000u);
  const auto bytes = testing::read_bytes(fixture("seven_16k_pcm16.wav"));
  for (size_t i = 0; i < audio.mono.size(); ++i) {
    ASSERT_EQ(audio.mono[i], i16_at(bytes, kSamplesAt + 2 * i) / 32768.0f) << "sample " << i;
  }
  const float peak = std::abs(*std::max_element(audio.mono.begin(), audio.mono.end(),
                                                [](float a, float b) { return std::abs(a) < std::abs(b); }));
  EXPECT_GT(peak, 0.5f);  // the spoken word, not silence
  EXPECT_LE(peak, 1.0f);
}

TEST(Wav, Reads8BitUnsignedWithinOneStepOf16Bit) {
  const WavAudio audio = read_wav(fixture("seven_16k_pcm8.wav"));
  EXPECT_EQ(audio.bits, 8);
  EXPECT_EQ(audio.sample_rate, 16000);
  const auto bytes = testing::read_bytes(fixture("seven_16k_pcm8.wav"));
  EXPECT_EQ(audio.mono[100], (static_cast<unsigned char>(bytes[kSamplesAt + 100]) - 128) / 128.0f);
  EXPECT_LE(max_abs_diff(audio.mono, pcm16_samples()), 1.0f / 128);
}

TEST(Wav, Reads24BitExtensibleEqualTo16Bit) {
  const WavAudio audio = read_wav(fixture("seven_16k_pcm24_extensible.wav"));
  EXPECT_TRUE(audio.extensible);
  EXPECT_EQ(audio.format, WavFormat::Pcm);
  EXPECT_EQ(audio.bits, 24);
  EXPECT_EQ(audio.channels, 1);
  EXPECT_EQ(max_abs_diff(audio.mono, pcm16_samples()), 0.0f);  // 16-bit values widened exactly
}

TEST(Wav, ReadsFloat32SkippingItsFactChunk) {
  const WavAudio audio = read_wav(fixture("seven_16k_float32.wav"));
  EXPECT_EQ(audio.format, WavFormat::Float);
  EXPECT_FALSE(audio.extensible);
  EXPECT_EQ(audio.bits, 32);
  EXPECT_EQ(max_abs_diff(audio.mono, pcm16_samples()), 0.0f);
}

TEST(Wav, MixesStereoDownByAveraging) {
  const WavAudio audio = read_wav(fixture("seven_16k_pcm16_stereo.wav"));
  EXPECT_EQ(audio.channels, 2);
  ASSERT_EQ(audio.mono.size(), 16000u);
  const auto bytes = testing::read_bytes(fixture("seven_16k_pcm16_stereo.wav"));
  for (size_t i = 0; i < audio.mono.size(); ++i) {
    const float left = i16_at(bytes, kSamplesAt + 4 * i) / 32768.0f,
                right = i16_at(bytes, kSamplesAt + 4 * i + 2) / 32768.0f;
    ASSERT_FLOAT_EQ(audio.mono[i], (left + right) / 2) << "frame " << i;
  }
  // The right channel is the left at half volume (see the fixtures' README), so the mix is 3/4 of it.
  std::vector<float> three_quarters = pcm16_samples();
  for (float& x : three_quarters) x *= 0.75f;
  EXPECT_LE(max_abs_diff(audio.mono, three_quarters), 1.0f / 32768);
}

TEST(Wav, ReadsTheRecorded8kHzDigit) {
  const WavAudio audio = read_wav(fixture("allison_7_8k.wav"));
  EXPECT_EQ(audio.sample_rate, 8000);
  EXPECT_EQ(audio.channels, 1);
  EXPECT_EQ(audio.bits, 16);
  ASSERT_EQ(audio.mono.size(), 6561u);
  const auto bytes = testing::read_bytes(fixture("allison_7_8k.wav"));
  EXPECT_EQ(audio.mono[3000], i16_at(bytes, kSamplesAt + 6000) / 32768.0f);
  double energy = 0;
  for (float x : audio.mono) energy += x * x;
  EXPECT_GT(std::sqrt(energy / audio.mono.size()), 0.01);
}

TEST(Wav, Reads32BitIntegerPcm) {
  testing::TempDir dir;
  const auto pcm16 = testing::read_bytes(fixture("seven_16k_pcm16.wav"));
  std::vector<char> data(4 * 16000);
  for (size_t i = 0; i < 16000; ++i)
    put_u32(data, 4 * i, static_cast<uint32_t>(i16_at(pcm16, kSamplesAt + 2 * i)) << 16);
  testing::write_bytes(dir.file("s32.wav"), wav_file(fmt_body(1, 32, false), data));
  const WavAudio audio = read_wav(dir.file("s32.wav"));
  EXPECT_EQ(audio.bits, 32);
  EXPECT_EQ(max_abs_diff(audio.mono, pcm16_samples()), 0.0f);
}

TEST(Wav, ReadsExtensibleFloat) {
  testing::TempDir dir;
  const auto f32 = testing::read_bytes(fixture("seven_16k_float32.wav"));
  const std::vector<char> data(f32.begin() + kFloatSamplesAt, f32.end());
  testing::write_bytes(dir.file("xf.wav"), wav_file(fmt_body(3, 32, true), data));
  const WavAudio audio = read_wav(dir.file("xf.wav"));
  EXPECT_TRUE(audio.extensible);
  EXPECT_EQ(audio.format, WavFormat::Float);
  EXPECT_EQ(max_abs_diff(audio.mono, pcm16_samples()), 0.0f);
}

TEST(Wav, SkipsAnOddSizedListChunkAndItsPadByte) {
  testing::TempDir dir;
  auto bytes = testing::read_bytes(fixture("seven_16k_pcm16.wav"));
  const std::vector<char> list = {'L', 'I', 'S', 'T', 5, 0, 0, 0, 'I', 'N', 'F', 'O', '!', 0};
  bytes.insert(bytes.begin() + kDataAt, list.begin(), list.end());
  put_u32(bytes, 4, static_cast<uint32_t>(bytes.size() - 8));
  testing::write_bytes(dir.file("list.wav"), bytes);
  EXPECT_EQ(read_wav(dir.file("list.wav")).mono, pcm16_samples());
}

TEST(Wav, WritePcm16ReproducesTheFixtureByteForByte) {
  testing::TempDir dir;
  write_wav_pcm16(dir.file("out.wav"), pcm16_samples(), 16000);
  EXPECT_EQ(testing::read_bytes(dir.file("out.wav")), testing::read_bytes(fixture("seven_16k_pcm16.wav")));
}

TEST(Wav, WritePcm16ClampsToTheInt16Range) {
  testing::TempDir dir;
  write_wav_pcm16(dir.file("out.wav"), std::vector<float>{-2.0f, -1.0f, 0.0f, 0.5f, 1.0f, 3.0f}, 8000);
  const WavAudio audio = read_wav(dir.file("out.wav"));
  EXPECT_EQ(audio.sample_rate, 8000);
  EXPECT_EQ(audio.mono, (std::vector<float>{-1.0f, -1.0f, 0.0f, 0.5f, 32767 / 32768.0f, 32767 / 32768.0f}));
  EXPECT_TRUE(mentions(
      error_text([&] {
        write_wav_pcm16(dir.file("nan.wav"), std::vector<float>{0.0f, std::numeric_limits<float>::quiet_NaN()}, 8000);
      }),
      "sample 1"));
}

// A copy of a fixture, broken by `edit`, and the error that reading it throws.
class WavErrors : public ::testing::Test {
 protected:
  std::string broken(const std::string& name, const std::function<void(std::vector<char>&)>& edit) {
    auto bytes = testing::read_bytes(fixture(name));
    edit(bytes);
    path_ = dir_.file("broken_" + name);
    testing::write_bytes(path_, bytes);
    const std::string message = error_text([&] { read_wav(path_); });
    EXPECT_TRUE(mentions(message, path_));
    return message;
  }
  std::string broken16(const std::function<void(std::vector<char>&)>& edit) {
    return broken("seven_16k_pcm16.wav", edit);
  }

  testing::TempDir dir_;
  std::string path_;
};

TEST_F(WavErrors, MissingFile) {
  const std::string path = dir_.file("nope.wav");
  const std::string message = error_text([&] { read_wav(path); });
  EXPECT_TRUE(mentions(message, path));
  EXPECT_TRUE(mentions(message, "cannot open"));
}

TEST_F(WavErrors, ShorterThanTheHeader) {
  const std::string message = broken16([](auto& b) { b.resize(10); });
  EXPECT_TRUE(mentions(message, "byte 0"));
  EXPECT_TRUE(mentions(message, "10 bytes"));
}

TEST_F(WavErrors, NotRiff) {
  const std::string message = broken16([](auto& b) { std::memcpy(b.data(), "RIFX", 4); });
  EXPECT_TRUE(mentions(message, "byte 0"));
  EXPECT_TRUE(mentions(message, "expected \"RIFF\", found \"RIFX\""));
  EXPECT_TRUE(mentions(message, "big-endian"));
}

TEST_F(WavErrors, NotWave) {
  const std::string message = broken16([](auto& b) { std::memcpy(b.data() + 8, "AVI ", 4); });
  EXPECT_TRUE(mentions(message, "byte 8"));
  EXPECT_TRUE(mentions(message, "expected \"WAVE\", found \"AVI \""));
}

TEST_F(WavErrors, MuLawALawAndAdpcmAreNamed) {
  for (const auto& [code, name] : std::vector<std::pair<uint16_t, std::string>>{
           {7, "mu-law"}, {6, "A-law"}, {2, "Microsoft ADPCM"}, {0x11, "IMA ADPCM"}}) {
    const std::string message = broken16([code](auto& b) { put_u16(b, kFormatAt, code); });
    EXPECT_TRUE(mentions(message, "byte 20"));
    EXPECT_TRUE(mentions(message, "format code " + std::to_string(code) + " (" + name + ")"));
  }
}

TEST_F(WavErrors, ExtensibleWithAMuLawSubformat) {
  // The 24-bit fixture's fmt body starts at byte 20; its subformat GUID at 20 + 24.
  const std::string message = broken("seven_16k_pcm24_extensible.wav", [](auto& b) { put_u16(b, 44, 7); });
  EXPECT_TRUE(mentions(message, "byte 44"));
  EXPECT_TRUE(mentions(message, "mu-law"));
}

TEST_F(WavErrors, ExtensibleWithAForeignGuid) {
  const std::string message = broken("seven_16k_pcm24_extensible.wav", [](auto& b) { b[50] = 0x7f; });
  EXPECT_TRUE(mentions(message, "byte 44"));
  EXPECT_TRUE(mentions(message, "GUID"));
}

TEST_F(WavErrors, ExtensibleFmtChunkTooShort) {
  const std::string message = broken16([](auto& b) { put_u16(b, kFormatAt, 0xFFFE); });
  EXPECT_TRUE(mentions(message, "byte 16"));
  EXPECT_TRUE(mentions(message, "EXTENSIBLE fmt chunk is 16 bytes, expected at least 40"));
}

TEST_F(WavErrors, UnsupportedBitDepth) {
  const std::string message = broken16([](auto& b) { put_u16(b, kBitsAt, 12); });
  EXPECT_TRUE(mentions(message, "byte 34"));
  EXPECT_TRUE(mentions(message, "12 bits"));
}

TEST_F(WavErrors, Float64IsNotSupported) {
  const std::string message = broken("seven_16k_float32.wav", [](auto& b) { put_u16(b, kBitsAt, 64); });
  EXPECT_TRUE(mentions(message, "byte 34"));
  EXPECT_TRUE(mentions(message, "IEEE float samples of 64 bits"));
}

TEST_F(WavErrors, BlockAlignInconsistentWithChannelsAndBits) {
  const std::string message = broken16([](auto& b) { put_u16(b, kBlockAlignAt, 4); });
  EXPECT_TRUE(mentions(message, "byte 32"));
  EXPECT_TRUE(mentions(message, "block_align 4, expected 2 (1 channels x 2 bytes)"));
}

TEST_F(WavErrors, ZeroChannels) {
  const std::string message = broken16([](auto& b) { put_u16(b, kChannelsAt, 0); });
  EXPECT_TRUE(mentions(message, "byte 22"));
  EXPECT_TRUE(mentions(message, "0 channels"));
}

TEST_F(WavErrors, ZeroSampleRate) {
  const std::string message = broken16([](auto& b) { put_u32(b, kRateAt, 0); });
  EXPECT_TRUE(mentions(message, "byte 24"));
  EXPECT_TRUE(mentions(message, "sample rate 0"));
}

TEST_F(WavErrors, FmtChunkTooShort) {
  const std::string message = broken16([](auto& b) { put_u32(b, 16, 14); });
  EXPECT_TRUE(mentions(message, "byte 16"));
  EXPECT_TRUE(mentions(message, "fmt chunk is 14 bytes, expected at least 16"));
}

TEST_F(WavErrors, MissingFmtChunk) {
  const std::string message = broken16([](auto& b) { std::memcpy(b.data() + 12, "junk", 4); });
  EXPECT_TRUE(mentions(message, "byte 36"));
  EXPECT_TRUE(mentions(message, "expected a 'fmt ' chunk before the 'data' chunk"));
}

TEST_F(WavErrors, MissingDataChunk) {
  const std::string message = broken16([](auto& b) { std::memcpy(b.data() + kDataAt, "dat!", 4); });
  EXPECT_TRUE(mentions(message, "byte 32044"));
  EXPECT_TRUE(mentions(message, "expected a 'data' chunk, found the end of the file"));
}

TEST_F(WavErrors, TruncatedDataChunk) {
  const std::string message = broken16([](auto& b) { b.resize(1000); });
  EXPECT_TRUE(mentions(message, "byte 40"));
  EXPECT_TRUE(mentions(message, "truncated data chunk: expected 32000 bytes of samples from byte 44, found 956"));
}

TEST_F(WavErrors, TruncatedInsideTheFmtChunk) {
  const std::string message = broken16([](auto& b) { b.resize(30); });
  EXPECT_TRUE(mentions(message, "byte 16"));
  EXPECT_TRUE(mentions(message, "truncated 'fmt ' chunk: expected 16 bytes, found 10"));
}

TEST_F(WavErrors, DataSizeNotAMultipleOfBlockAlign) {
  const std::string message = broken("seven_16k_pcm16_stereo.wav", [](auto& b) {
    put_u32(b, 40, 6);
    b.resize(kSamplesAt + 6);
  });
  EXPECT_TRUE(mentions(message, "byte 40"));
  EXPECT_TRUE(mentions(message, "data chunk size 6 is not a multiple of block_align 4"));
}

TEST_F(WavErrors, NonFiniteFloatSample) {
  const std::string message = broken("seven_16k_float32.wav", [](auto& b) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(b.data() + kFloatSamplesAt + 4 * 100, &nan, 4);
  });
  EXPECT_TRUE(mentions(message, "byte 458"));
  EXPECT_TRUE(mentions(message, "expected a finite value"));
}

}  // namespace
}  // namespace krait::data
