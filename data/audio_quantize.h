// data/audio_quantize.h — turning audio samples in [-1, 1] into class ids and back: mu-law companding
// (WaveNet, SaShiMi) and linear quantization on the PCM grid.
#pragma once

#include <cstdint>
#include <span>

namespace krait::data {

enum class Quantization { MuLaw, Linear };

// bits in [1, 16]; 2^bits classes either way.
//  MuLaw:  mu = 2^bits - 1; y = sign(x) ln(1 + mu |x|) / ln(1 + mu), class = floor((y + 1) / 2 * mu + 0.5).
//  Linear: half = 2^(bits-1); class = clamp(round(x * half), -half, half - 1) + half, so the classes of
//          8- and 16-bit PCM are the file's unsigned sample values and silence is class `half`.
// Samples outside [-1, 1] are clipped first.
struct QuantizeOptions {
  Quantization kind = Quantization::MuLaw;
  int bits = 8;
};

uint32_t num_classes(const QuantizeOptions& options);  // 2^bits; throws unless bits is in [1, 16]

// 8-bit mu-law (mu = 255): encode(-1) = 0, encode(0) = 128, encode(1) = 255.
int mu_law_encode(float x);
float mu_law_decode(int id);  // the inverse companding of the class's centre value; id in [0, 255]

void quantize(std::span<const float> samples, const QuantizeOptions& options, uint16_t* out);
// Throws if an id is not below num_classes(options).
void dequantize(std::span<const uint16_t> ids, const QuantizeOptions& options, float* out);

}  // namespace krait::data
