// fuzz/wav.cpp — fuzzes the RIFF/WAVE reader (data/wav.h, read_wav): every accepted file must give
// samples in [-1, 1] and a positive rate and channel count.
#include "data/wav.h"

#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = krait::fuzz::write_input(data, size);
  krait::fuzz::expect_clean([&] {
    const krait::data::WavAudio audio = krait::data::read_wav(path);
    if (audio.sample_rate <= 0 || audio.channels <= 0) __builtin_trap();
    for (const float sample : audio.mono) {
      if (!(sample >= -1.0f && sample <= 1.0f)) __builtin_trap();
    }
  });
  return 0;
}
