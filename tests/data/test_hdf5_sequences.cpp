// tests/data/test_hdf5_sequences.cpp — SequenceSets in HDF5: round trips (uint8 and uint16 ids,
// labels, names, info), and the files the reader rejects, built by editing a good file with the
// HDF5 C API.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "data/hdf5_sequences.h"
#include "data/hdf5_tokens.h"
#include "tests/data/error_text.h"
#include "tests/data/temp_dir.h"

namespace krait::data {
namespace {

using testing::error_text;
using testing::mentions;

std::vector<SequenceRecord> three_records(uint32_t vocab_size, bool labeled) {
  std::vector<SequenceRecord> records(3);
  records[0] = {"chr1", labeled ? 1 : kNoLabel, {0, 1, 2, 3, 4}};
  records[1] = {"chr2 with spaces", labeled ? 0 : kNoLabel, {}};
  records[2] = {"dir/ü.wav", labeled ? 1 : kNoLabel, {static_cast<uint16_t>(vocab_size - 1), 6, 5}};
  return records;
}

InMemorySequenceSet small_set(uint32_t vocab_size = 7, bool labeled = true) {
  return InMemorySequenceSet("<memory>", vocab_size, labeled ? std::vector<std::string>{"human", "mouse"}
                                                             : std::vector<std::string>{},
                             three_records(vocab_size, labeled));
}

const SequenceDatasetInfo kDnaInfo{SequenceKind::dna, "dna-7", 0};

std::vector<int32_t> read_record(const SequenceSet& set, size_t r) {
  std::vector<int32_t> ids(set.record_length(r));
  set.read(r, 0, ids.size(), ids.data());
  return ids;
}

void expect_same(const SequenceSet& a, const SequenceSet& b) {
  ASSERT_EQ(a.num_records(), b.num_records());
  EXPECT_EQ(a.vocab_size(), b.vocab_size());
  EXPECT_EQ(a.class_names(), b.class_names());
  for (size_t r = 0; r < a.num_records(); ++r) {
    EXPECT_EQ(a.record_name(r), b.record_name(r));
    EXPECT_EQ(a.record_label(r), b.record_label(r));
    EXPECT_EQ(read_record(a, r), read_record(b, r));
  }
}

// The stored type's size of /ids.
size_t id_bytes(const std::string& path) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t dataset = H5Dopen2(file, "ids", H5P_DEFAULT);
  const hid_t type = H5Dget_type(dataset);
  const size_t bytes = H5Tget_size(type);
  H5Tclose(type);
  H5Dclose(dataset);
  H5Fclose(file);
  return bytes;
}

// Opens a written file read-write for an edit.
class Edit {
 public:
  explicit Edit(const std::string& path) : file_(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)) {}
  ~Edit() { H5Fclose(file_); }
  hid_t file() const { return file_; }

  void remove(const char* name) { H5Ldelete(file_, name, H5P_DEFAULT); }
  void remove_attribute(const char* name) { H5Adelete(file_, name); }
  template <typename T>
  void set_int_attribute(const char* name, hid_t type, T value) {
    remove_attribute(name);
    const hid_t scalar = H5Screate(H5S_SCALAR);
    const hid_t attribute = H5Acreate2(file_, name, type, scalar, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(attribute, type, &value);
    H5Aclose(attribute);
    H5Sclose(scalar);
  }
  void set_string_attribute(const char* name, const std::string& value) {  // fixed-length string
    remove_attribute(name);
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, value.size());
    const hid_t scalar = H5Screate(H5S_SCALAR);
    const hid_t attribute = H5Acreate2(file_, name, type, scalar, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(attribute, type, value.data());
    H5Aclose(attribute);
    H5Sclose(scalar);
    H5Tclose(type);
  }
  template <typename T>
  void replace_vector(const char* name, hid_t type, const std::vector<T>& values) {
    remove(name);
    const hsize_t dims[1] = {values.size()};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t dataset = H5Dcreate2(file_, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (!values.empty()) H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
    H5Dclose(dataset);
    H5Sclose(space);
  }

 private:
  hid_t file_;
};

TEST(Hdf5Sequences, RoundTripsDnaAsUint8) {
  testing::TempDir dir;
  const auto set = small_set();
  write_sequence_hdf5(dir.file("a.h5"), set, kDnaInfo);
  EXPECT_FALSE(std::filesystem::exists(dir.file("a.h5.tmp")));
  EXPECT_EQ(id_bytes(dir.file("a.h5")), 1u);
  SequenceDatasetInfo info;
  const auto opened = open_sequence_hdf5(dir.file("a.h5"), &info);
  expect_same(set, *opened);
  EXPECT_EQ(opened->path(), dir.file("a.h5"));
  EXPECT_EQ(info, kDnaInfo);
  EXPECT_EQ(read_sequence_info(dir.file("a.h5")), kDnaInfo);
}

TEST(Hdf5Sequences, RoundTripsWideVocabAsUint16WithoutClasses) {
  testing::TempDir dir;
  const auto set = small_set(257, false);
  const SequenceDatasetInfo info{SequenceKind::text, "bytes-257", 0};
  write_sequence_hdf5(dir.file("t.h5"), set, info);
  EXPECT_EQ(id_bytes(dir.file("t.h5")), 2u);
  const auto opened = open_sequence_hdf5(dir.file("t.h5"));
  expect_same(set, *opened);
  EXPECT_FALSE(opened->labeled());
  EXPECT_EQ(read_sequence_info(dir.file("t.h5")), info);
}

TEST(Hdf5Sequences, RoundTripsAudioInfoAndLargeRecordsInChunks) {
  testing::TempDir dir;
  std::vector<SequenceRecord> records(2);
  records[0] = {"a.wav", kNoLabel, std::vector<uint16_t>(3'000'000)};
  records[1] = {"b.wav", kNoLabel, std::vector<uint16_t>(10)};
  for (size_t i = 0; i < records[0].ids.size(); ++i) records[0].ids[i] = static_cast<uint16_t>((i * 7) % 256);
  const InMemorySequenceSet set("<memory>", 256, {}, std::move(records));
  const SequenceDatasetInfo info{SequenceKind::audio, "mu-law-256", 16000};
  std::vector<uint64_t> progress;
  write_sequence_hdf5(dir.file("a.h5"), set, info, [&](uint64_t done, uint64_t total) {
    EXPECT_EQ(total, 3'000'010u);
    progress.push_back(done);
  });
  ASSERT_GE(progress.size(), 3u);
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
  EXPECT_EQ(progress.back(), 3'000'010u);
  SequenceDatasetInfo read_info;
  expect_same(set, *open_sequence_hdf5(dir.file("a.h5"), &read_info));
  EXPECT_EQ(read_info, info);
}

TEST(Hdf5Sequences, ReadsFixedLengthStringAttributes) {
  testing::TempDir dir;
  write_sequence_hdf5(dir.file("a.h5"), small_set(), kDnaInfo);
  Edit(dir.file("a.h5")).set_string_attribute("tokenizer", "dna-7-fixed");
  EXPECT_EQ(read_sequence_info(dir.file("a.h5")).tokenizer, "dna-7-fixed");
}

TEST(Hdf5Sequences, WriterRejectsBadInput) {
  testing::TempDir dir;
  const InMemorySequenceSet empty("<memory>", 7, {}, {});
  EXPECT_TRUE(mentions(error_text([&] { write_sequence_hdf5(dir.file("e.h5"), empty, kDnaInfo); }), "no records"));
  EXPECT_FALSE(std::filesystem::exists(dir.file("e.h5")));
  EXPECT_TRUE(mentions(error_text([&] {
                         write_sequence_hdf5(dir.file("a.h5"), small_set(), {SequenceKind::dna, "dna-7", 16000});
                       }),
                       "sample_rate"));
  EXPECT_TRUE(mentions(error_text([&] {
                         write_sequence_hdf5(dir.file("a.h5"), small_set(), {SequenceKind::audio, "mu-law-256", 0});
                       }),
                       "sample_rate"));
  EXPECT_TRUE(mentions(
      error_text([&] { write_sequence_hdf5(dir.file("a.h5"), small_set(), {SequenceKind::dna, "", 0}); }),
      "tokenizer"));
  EXPECT_FALSE(std::filesystem::exists(dir.file("a.h5")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("a.h5.tmp")));
}

TEST(Hdf5Sequences, KindNames) {
  EXPECT_EQ(parse_sequence_kind("audio", "x"), SequenceKind::audio);
  EXPECT_STREQ(sequence_kind_name(SequenceKind::dna), "dna");
  EXPECT_TRUE(mentions(error_text([] { parse_sequence_kind("video", "where"); }), "where: unknown kind 'video'"));
}

// Each case breaks a good file one way; the error must name the file and the fault.
struct BadCase {
  const char* name;
  std::function<void(Edit&)> edit;
  const char* expected;
};

TEST(Hdf5Sequences, ReaderRejectsBrokenFiles) {
  const std::vector<BadCase> cases = {
      {"no format", [](Edit& e) { e.remove_attribute("format"); }, "not a Krait sequence dataset"},
      {"wrong format", [](Edit& e) { e.set_string_attribute("format", "other"); }, "format is 'other'"},
      {"wrong version", [](Edit& e) { e.set_int_attribute("version", H5T_NATIVE_INT32, 2); }, "version 2"},
      {"no vocab", [](Edit& e) { e.remove_attribute("vocab_size"); }, "no 'vocab_size' attribute"},
      {"vocab too big", [](Edit& e) { e.set_int_attribute("vocab_size", H5T_NATIVE_UINT32, 70000u); },
       "vocab_size 70000"},
      {"bad kind", [](Edit& e) { e.set_string_attribute("kind", "video"); }, "unknown kind 'video'"},
      {"no tokenizer", [](Edit& e) { e.remove_attribute("tokenizer"); }, "no 'tokenizer' attribute"},
      {"dna with a rate", [](Edit& e) { e.set_int_attribute("sample_rate", H5T_NATIVE_UINT32, 8000u); },
       "sample_rate is 8000"},
      {"no class_names", [](Edit& e) { e.remove_attribute("class_names"); }, "no 'class_names' attribute"},
      {"no ids", [](Edit& e) { e.remove("ids"); }, "no /ids dataset"},
      {"no offsets", [](Edit& e) { e.remove("offsets"); }, "no /offsets dataset"},
      {"no labels", [](Edit& e) { e.remove("labels"); }, "no /labels dataset"},
      {"no names", [](Edit& e) { e.remove("names"); }, "no /names dataset"},
      {"signed ids", [](Edit& e) { e.replace_vector<int16_t>("ids", H5T_NATIVE_INT16, {0, 1, 2, 3, 4, 6, 6, 5}); },
       "/ids must hold unsigned integers"},
      {"offsets not from 0",
       [](Edit& e) { e.replace_vector<uint64_t>("offsets", H5T_NATIVE_UINT64, {1, 5, 5, 8}); }, "/offsets[0] is 1"},
      {"offsets decrease",
       [](Edit& e) { e.replace_vector<uint64_t>("offsets", H5T_NATIVE_UINT64, {0, 5, 4, 8}); }, "decreases at 2"},
      {"offsets short of ids",
       [](Edit& e) { e.replace_vector<uint64_t>("offsets", H5T_NATIVE_UINT64, {0, 5, 5, 7}); },
       "/offsets ends at 7 but /ids holds 8 ids"},
      {"no records", [](Edit& e) { e.replace_vector<uint64_t>("offsets", H5T_NATIVE_UINT64, {0}); },
       "empty (no records)"},
      {"label out of range",
       [](Edit& e) { e.replace_vector<int32_t>("labels", H5T_NATIVE_INT32, {1, 2, 0}); },
       "record 1 ('chr2 with spaces') has label 2, out of range of the 2 class_names"},
      {"unlabeled record in a labeled set",
       [](Edit& e) { e.replace_vector<int32_t>("labels", H5T_NATIVE_INT32, {1, -1, 0}); }, "has label -1"},
      {"labels too short", [](Edit& e) { e.replace_vector<int32_t>("labels", H5T_NATIVE_INT32, {1, 0}); },
       "/labels holds 2 entries for 3 records"},
      {"id too big",
       [](Edit& e) { e.replace_vector<uint8_t>("ids", H5T_NATIVE_UINT8, {0, 1, 2, 3, 4, 6, 7, 5}); },
       "/ids[6] is 7 (record 'dir/ü.wav'), not below vocab_size 7"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    testing::TempDir dir;
    const std::string path = dir.file("bad.h5");
    write_sequence_hdf5(path, small_set(), kDnaInfo);
    {
      Edit edit(path);
      c.edit(edit);
    }
    const std::string message = error_text([&] { open_sequence_hdf5(path); });
    EXPECT_TRUE(mentions(message, path));
    EXPECT_TRUE(mentions(message, c.expected));
  }
}

// Found by fuzz/hdf5_sequences.cpp: an /offsets dataset declaring 2^31 entries that were never
// written (HDF5 reads them as the fill value) made the reader allocate 16 GB before looking at them.
// The reader now refuses a dataset that is not stored in full.
TEST(Hdf5Sequences, ReaderRejectsDatasetsDeclaredButNeverWritten) {
  testing::TempDir dir;
  const std::string path = dir.file("unwritten.h5");
  write_sequence_hdf5(path, small_set(), kDnaInfo);
  {
    Edit edit(path);
    edit.remove("offsets");
    const hsize_t dims[1] = {hsize_t{1} << 31};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    H5Dclose(H5Dcreate2(edit.file(), "offsets", H5T_STD_U64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Sclose(space);
  }
  const std::string message = error_text([&] { open_sequence_hdf5(path); });
  EXPECT_TRUE(mentions(message, path + ": /offsets declares 2147483648 elements but the file stores none")) << message;
}

TEST(Hdf5Sequences, ReaderRejectsOtherFiles) {
  testing::TempDir dir;
  EXPECT_TRUE(mentions(error_text([&] { open_sequence_hdf5(dir.file("missing.h5")); }), "missing.h5: no such file"));
  testing::write_text(dir.file("text.h5"), "not hdf5");
  EXPECT_TRUE(mentions(error_text([&] { open_sequence_hdf5(dir.file("text.h5")); }), "cannot open as HDF5"));
  write_token_hdf5(dir.file("tokens.h5"), std::vector<int32_t>{1, 2}, 257, 2);
  EXPECT_TRUE(mentions(error_text([&] { read_sequence_info(dir.file("tokens.h5")); }),
                       "tokens.h5: not a Krait sequence dataset"));
}

}  // namespace
}  // namespace krait::data
