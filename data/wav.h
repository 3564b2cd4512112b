// data/wav.h — read_wav, a RIFF/WAVE reader (PCM 8/16/24/32-bit, IEEE float32, WAVE_FORMAT_EXTENSIBLE)
// that mixes every file down to mono floats in [-1, 1], and write_wav_pcm16 for tests and tools.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace krait::data {

enum class WavFormat { Pcm, Float };  // integer PCM (format 1) or IEEE float (format 3)

struct WavAudio {
  int sample_rate = 0;
  int channels = 0;  // as in the file; `mono` is their average
  int bits = 0;      // bits per sample of one channel
  WavFormat format = WavFormat::Pcm;
  bool extensible = false;  // the fmt chunk was WAVE_FORMAT_EXTENSIBLE (0xFFFE)
  std::vector<float> mono;  // one sample per frame, in [-1, 1]
};

// Reads a whole WAV file. 8-bit samples are unsigned (128 is silence); n-bit integers are divided by
// 2^(n-1); float samples are clamped to [-1, 1]. Unknown chunks (LIST, fact, ...) are skipped. Every
// malformed or unsupported file throws a krait::Error naming the path, the byte offset and what was
// expected there.
WavAudio read_wav(const std::string& path);

// Writes mono 16-bit PCM: each sample clamped to [-1, 1], scaled by 32768 and rounded (the inverse of
// read_wav for 16-bit files).
void write_wav_pcm16(const std::string& path, std::span<const float> mono, int sample_rate);

}  // namespace krait::data
