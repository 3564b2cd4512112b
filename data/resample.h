// data/resample.h — resample, a band-limited (Kaiser-windowed sinc) sample-rate converter for audio.
#pragma once

#include <span>
#include <vector>

namespace krait::data {

// Converts samples taken at from_rate Hz to to_rate Hz. Each output sample is the input convolved
// with a Kaiser-windowed sinc of 32 zero crossings per side whose cutoff is the lower of the two
// Nyquist frequencies (so downsampling filters out what the new rate cannot hold); samples beyond
// either end count as zero, and each filter phase is normalized to unit DC gain. The output has
// round(n * to_rate / from_rate) samples; equal rates return a copy.
std::vector<float> resample(std::span<const float> input, int from_rate, int to_rate);

}  // namespace krait::data
