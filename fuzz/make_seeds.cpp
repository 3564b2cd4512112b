// fuzz/make_seeds.cpp — writes the binary seed corpora of the byte-level fuzz targets with Krait's
// own writers (the text seeds, and the gzip FASTA, are written by hand; the structure-aware HDF5
// targets' seeds are inputs libFuzzer found): `krait_fuzz_make_seeds fuzz/corpus`. Each seed is small
// (a few KB) so that libFuzzer mutates it quickly; together they reach every stored type and layout
// the readers accept.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <vector>

#include "autograd/tensor.h"
#include "data/hdf5_sequences.h"
#include "data/hdf5_tokens.h"
#include "data/token_shard.h"
#include "data/wav.h"
#include "fuzz/example_checkpoint.h"
#include "train/checkpoint_file.h"
#include "train/safetensors.h"

namespace {

namespace fs = std::filesystem;
using namespace krait;

std::vector<int32_t> counting(size_t n, uint32_t vocab_size) {
  std::vector<int32_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int32_t>((i * 7) % vocab_size);
  return ids;
}

void token_seeds(const fs::path& dir) {
  fs::create_directories(dir / "token_shard");
  data::write_token_shard((dir / "token_shard/u16.bin").string(), counting(48, 257), 257, 2);
  data::write_token_shard((dir / "token_shard/u32.bin").string(), counting(12, 70000), 70000, 4);
  data::write_token_shard((dir / "token_shard/empty.bin").string(), {}, 5, 2);
  data::write_token_hdf5((dir / "hdf5_bytes/tokens_u16.h5").string(), counting(48, 257), 257, 2);
  data::write_token_hdf5((dir / "hdf5_bytes/tokens_u32.h5").string(), counting(12, 70000), 70000, 4);
}

void sequence_seeds(const fs::path& dir) {
  const std::vector<data::SequenceRecord> dna = {
      {"a.fa:chr1", 0, {0, 1, 2, 3, 4, 0, 1}}, {"a.fa:chr2", 1, {3, 2, 1}}, {"b.fa:x", 0, {4}}};
  data::write_sequence_hdf5((dir / "hdf5_bytes/sequences_dna.h5").string(),
                            data::InMemorySequenceSet("dna", 7, {"human", "mouse"}, dna),
                            {data::SequenceKind::dna, "dna-7", 0});
  const std::vector<data::SequenceRecord> audio = {{"one.wav", data::kNoLabel, {0, 128, 255, 300}},
                                                   {"two.wav", data::kNoLabel, {}}};
  data::write_sequence_hdf5((dir / "hdf5_bytes/sequences_audio.h5").string(),
                            data::InMemorySequenceSet("audio", 512, {}, audio),
                            {data::SequenceKind::audio, "mu-law-512", 16000});
}

void checkpoint_seed(const fs::path& dir) {
  fuzz::write_example_checkpoint((dir / "hdf5_bytes/checkpoint.h5").string());
}

void safetensors_seed(const fs::path& dir) {
  fs::create_directories(dir / "safetensors");
  train::SafetensorsWriter writer;
  writer.add_f32("backbone.norm_f.weight", {4}, {1, 0.5f, -2, 0});
  writer.add_16bit("lm_head.weight", "BF16", {2, 2}, {0x3f80, 0xbf80, 0x0000, 0x7f80});
  writer.add_16bit("embeddings.weight", "F16", {3}, {0x3c00, 0x0001, 0xfc00});
  writer.add_f32("empty", {0, 5}, {});
  writer.set_metadata("format", "pt");
  writer.write((dir / "safetensors/model.safetensors").string());
}

// A RIFF/WAVE file of `frames` frames in the given format (the reader's other layouts than the
// 16-bit PCM that write_wav_pcm16 makes).
void write_wav(const fs::path& path, uint16_t code, int channels, int bits, bool extensible, int frames) {
  std::string fmt, data;
  auto put = [](std::string& out, auto value) { out.append(reinterpret_cast<const char*>(&value), sizeof(value)); };
  put(fmt, static_cast<uint16_t>(extensible ? 0xFFFE : code));
  put(fmt, static_cast<uint16_t>(channels));
  put(fmt, static_cast<uint32_t>(8000));
  put(fmt, static_cast<uint32_t>(8000 * channels * bits / 8));
  put(fmt, static_cast<uint16_t>(channels * bits / 8));
  put(fmt, static_cast<uint16_t>(bits));
  if (extensible) {
    put(fmt, static_cast<uint16_t>(22));  // extension size
    put(fmt, static_cast<uint16_t>(bits));
    put(fmt, static_cast<uint32_t>(channels == 1 ? 4 : 3));  // channel mask
    put(fmt, code);
    fmt.append("\x00\x00\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38\x9B\x71", 14);
  }
  for (int i = 0; i < frames * channels; ++i) {
    if (code == 3) {
      put(data, static_cast<float>(i % 5) * 0.5f - 1.0f);
    } else {
      for (int b = 0; b < bits / 8; ++b) data += static_cast<char>(i * 37 + b * 11);
    }
  }
  std::string file = "RIFF";
  put(file, static_cast<uint32_t>(4 + 8 + fmt.size() + 8 + data.size()));
  file += "WAVEfmt ";
  put(file, static_cast<uint32_t>(fmt.size()));
  file += fmt + "data";
  put(file, static_cast<uint32_t>(data.size()));
  file += data;
  std::ofstream(path, std::ios::binary) << file;
}

void wav_seeds(const fs::path& dir) {
  fs::create_directories(dir / "wav");
  std::vector<float> samples(64);
  for (size_t i = 0; i < samples.size(); ++i) samples[i] = static_cast<float>(i % 16) / 8.0f - 1.0f;
  data::write_wav_pcm16((dir / "wav/pcm16.wav").string(), samples, 16000);
  write_wav(dir / "wav/pcm8_stereo.wav", 1, 2, 8, false, 32);
  write_wav(dir / "wav/pcm24_extensible.wav", 1, 1, 24, true, 32);
  write_wav(dir / "wav/pcm32.wav", 1, 1, 32, false, 16);
  write_wav(dir / "wav/float32_stereo.wav", 3, 2, 32, false, 16);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: krait_fuzz_make_seeds CORPUS_DIR\n";
    return 2;
  }
  try {
    const fs::path dir(argv[1]);
    fs::create_directories(dir / "hdf5_bytes");  // one corpus for the three HDF5 readers on raw bytes
    token_seeds(dir);
    sequence_seeds(dir);
    checkpoint_seed(dir);
    safetensors_seed(dir);
    wav_seeds(dir);
  } catch (const std::exception& e) {
    std::cerr << "krait_fuzz_make_seeds: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
