// tests/data/test_audio_quantize.cpp — turning samples into ids and rates into rates: mu-law and linear
// quantization (known values, round trips, the real fixtures) and the windowed-sinc resampler (sines
// keep their frequency and amplitude; what the new rate cannot hold is filtered out).
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "data/audio_quantize.h"
#include "data/resample.h"
#include "data/wav.h"
#include "tests/data/error_text.h"
#include "tests/data/temp_dir.h"

namespace krait::data {
namespace {

using testing::error_text;
using testing::mentions;

std::string fixture(const std::string& name) { return std::string(KRAIT_FIXTURES_DIR) + "/audio/" + name; }

std::vector<uint16_t> quantized(const std::vector<float>& x, const QuantizeOptions& options) {
  std::vector<uint16_t> ids(x.size());
  quantize(x, options, ids.data());
  return ids;
}

std::vector<float> dequantized(const std::vector<uint16_t>& ids, const QuantizeOptions& options) {
  std::vector<float> x(ids.size());
  dequantize(ids, options, x.data());
  return x;
}

double compand(double x) { return std::copysign(std::log1p(255 * std::abs(x)) / std::log1p(255.0), x); }

TEST(MuLaw, KnownValues) {
  EXPECT_EQ(mu_law_encode(0.0f), 128);
  EXPECT_EQ(mu_law_encode(1.0f), 255);
  EXPECT_EQ(mu_law_encode(-1.0f), 0);
  EXPECT_EQ(mu_law_encode(2.5f), 255);  // clipped
  EXPECT_EQ(mu_law_encode(-7.0f), 0);
  EXPECT_FLOAT_EQ(mu_law_decode(255), 1.0f);
  EXPECT_FLOAT_EQ(mu_law_decode(0), -1.0f);
  // Class 128 is y = 1/255: (256^(1/255) - 1) / 255.
  EXPECT_NEAR(mu_law_decode(128), (std::pow(256.0, 1.0 / 255) - 1) / 255, 1e-9);
  EXPECT_TRUE(mentions(error_text([] { mu_law_decode(256); }), "256"));
}

TEST(MuLaw, EveryClassRoundTrips) {
  for (int c = 0; c < 256; ++c) EXPECT_EQ(mu_law_encode(mu_law_decode(c)), c) << "class " << c;
}

TEST(MuLaw, RoundTripIsWithinHalfAStepOfTheCompandedValue) {
  for (int i = -1000; i <= 1000; ++i) {
    const float x = i / 1000.0f;
    const double back = mu_law_decode(mu_law_encode(x));
    EXPECT_LE(std::abs(compand(back) - compand(x)), 1.0 / 255 + 1e-9) << "x " << x;
  }
  // Steps are finer near zero than near full scale.
  EXPECT_LT(mu_law_decode(129) - mu_law_decode(128), (mu_law_decode(255) - mu_law_decode(254)) / 50);
}

TEST(MuLaw, QuantizeMatchesTheScalarFunctionsAndKeepsSpeechAbove30Db) {
  const std::vector<float> speech = read_wav(fixture("seven_16k_pcm16.wav")).mono;
  const QuantizeOptions options{Quantization::MuLaw, 8};
  const auto ids = quantized(speech, options);
  for (size_t i = 0; i < speech.size(); i += 97) EXPECT_EQ(ids[i], mu_law_encode(speech[i]));
  const auto back = dequantized(ids, options);
  double signal = 0, noise = 0;
  for (size_t i = 0; i < speech.size(); ++i) {
    signal += speech[i] * speech[i];
    noise += (speech[i] - back[i]) * (speech[i] - back[i]);
  }
  EXPECT_GT(10 * std::log10(signal / noise), 30.0);
}

TEST(AudioQuantize, NumClassesAndBitsRange) {
  EXPECT_EQ(num_classes({Quantization::MuLaw, 8}), 256u);
  EXPECT_EQ(num_classes({Quantization::Linear, 16}), 65536u);
  EXPECT_EQ(num_classes({Quantization::Linear, 1}), 2u);
  EXPECT_TRUE(mentions(error_text([] { num_classes({Quantization::Linear, 17}); }), "bits 17 is not in [1, 16]"));
  EXPECT_TRUE(mentions(error_text([] { num_classes({Quantization::MuLaw, 0}); }), "bits 0"));
}

TEST(AudioQuantize, WiderMuLawUsesAllItsClasses) {
  const QuantizeOptions options{Quantization::MuLaw, 10};
  const auto ids = quantized({-1.0f, 0.0f, 1.0f}, options);
  EXPECT_EQ(ids, (std::vector<uint16_t>{0, 512, 1023}));
  EXPECT_EQ(dequantized(ids, options), (std::vector<float>{-1.0f, dequantized({512}, options)[0], 1.0f}));
}

TEST(AudioQuantize, LinearKnownValues) {
  const QuantizeOptions eight{Quantization::Linear, 8};
  EXPECT_EQ(quantized({-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 2.0f}, eight),
            (std::vector<uint16_t>{0, 64, 128, 192, 255, 255}));
  EXPECT_EQ(dequantized({0, 64, 128, 192, 255}, eight), (std::vector<float>{-1.0f, -0.5f, 0.0f, 0.5f, 127 / 128.0f}));
  const QuantizeOptions one{Quantization::Linear, 1};
  EXPECT_EQ(quantized({-1.0f, -0.6f, -0.4f, 0.0f, 1.0f}, one), (std::vector<uint16_t>{0, 0, 1, 1, 1}));
}

TEST(AudioQuantize, Linear8OfAn8BitFileIsItsBytes) {
  const std::vector<float> samples = read_wav(fixture("seven_16k_pcm8.wav")).mono;
  const auto bytes = testing::read_bytes(fixture("seven_16k_pcm8.wav"));
  const auto ids = quantized(samples, {Quantization::Linear, 8});
  for (size_t i = 0; i < ids.size(); ++i) ASSERT_EQ(ids[i], static_cast<unsigned char>(bytes[44 + i])) << i;
  EXPECT_EQ(dequantized(ids, {Quantization::Linear, 8}), samples);
}

TEST(AudioQuantize, Linear16RoundTripsA16BitFileExactly) {
  const std::vector<float> samples = read_wav(fixture("allison_7_8k.wav")).mono;
  const QuantizeOptions sixteen{Quantization::Linear, 16};
  EXPECT_EQ(dequantized(quantized(samples, sixteen), sixteen), samples);
}

TEST(AudioQuantize, DequantizeRejectsIdsOutOfRange) {
  const std::string message = error_text([] { dequantized({3, 256}, {Quantization::MuLaw, 8}); });
  EXPECT_TRUE(mentions(message, "id 256 at position 1"));
}

std::vector<float> sine(int rate, size_t n, double hz = 440, double amplitude = 0.5) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>(amplitude * std::sin(2 * std::numbers::pi * hz * i / rate));
  return x;
}

// A 440 Hz sine resampled from_rate -> to_rate against the ideal sine at to_rate, away from the edges.
void expect_sine_kept(int from_rate, int to_rate) {
  const size_t n = static_cast<size_t>(from_rate);  // one second
  const std::vector<float> out = resample(sine(from_rate, n), from_rate, to_rate);
  ASSERT_EQ(out.size(), static_cast<size_t>(std::llround(static_cast<double>(n) * to_rate / from_rate)));
  const std::vector<float> ideal = sine(to_rate, out.size());
  const size_t edge = 256;
  double worst = 0, dot = 0, out_energy = 0, ideal_energy = 0;
  for (size_t i = edge; i < out.size() - edge; ++i) {
    worst = std::max(worst, static_cast<double>(std::abs(out[i] - ideal[i])));
    dot += out[i] * ideal[i];
    out_energy += out[i] * out[i];
    ideal_energy += ideal[i] * ideal[i];
  }
  EXPECT_LT(worst, 1e-2) << from_rate << " -> " << to_rate;
  EXPECT_GT(dot / std::sqrt(out_energy * ideal_energy), 0.9999) << from_rate << " -> " << to_rate;
  EXPECT_NEAR(std::sqrt(out_energy / ideal_energy), 1.0, 1e-2) << from_rate << " -> " << to_rate;
}

TEST(Resample, UpsamplingKeepsASinesFrequencyAndAmplitude) { expect_sine_kept(8000, 16000); }
TEST(Resample, DownsamplingKeepsASinesFrequencyAndAmplitude) { expect_sine_kept(44100, 16000); }
TEST(Resample, OddRatiosKeepASine) {
  expect_sine_kept(11025, 16000);
  expect_sine_kept(16000, 22050);
}

TEST(Resample, LengthIsTheRoundedRatio) {
  const std::vector<float> x(1001, 0.25f);
  EXPECT_EQ(resample(x, 44100, 16000).size(), 363u);   // 363.17
  EXPECT_EQ(resample(x, 16000, 44100).size(), 2759u);  // 2758.8
  EXPECT_EQ(resample(x, 3, 2).size(), 667u);           // 667.33
  EXPECT_EQ(resample(x, 16000, 16000), x);
  EXPECT_TRUE(resample(std::vector<float>{}, 8000, 16000).empty());
}

TEST(Resample, KeepsAConstantAwayFromTheEdges) {
  const std::vector<float> out = resample(std::vector<float>(4410, 0.3f), 44100, 16000);
  for (size_t i = 100; i < out.size() - 100; ++i) ASSERT_NEAR(out[i], 0.3f, 1e-5) << i;
}

TEST(Resample, DownsamplingRemovesWhatTheNewRateCannotHold) {
  const std::vector<float> out = resample(sine(44100, 44100, 7000), 44100, 8000);  // above 4 kHz Nyquist
  double energy = 0;
  for (size_t i = 256; i < out.size() - 256; ++i) energy += out[i] * out[i];
  EXPECT_LT(std::sqrt(energy / (out.size() - 512)), 1e-3);
}

TEST(Resample, RejectsNonPositiveRates) {
  EXPECT_TRUE(mentions(error_text([] { resample(std::vector<float>(4), 0, 16000); }), "rates must be positive"));
}

}  // namespace
}  // namespace krait::data
