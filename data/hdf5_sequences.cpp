// data/hdf5_sequences.cpp — writing and reading SequenceSets as HDF5 files (see hdf5_sequences.h)
// through the HDF5 C API.
#include "data/hdf5_sequences.h"

#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

#include "common/error.h"
#include "data/hdf5_util.h"

namespace krait::data {

namespace {
using hdf5::Handle;
using hdf5::hdf5_reason;
using hdf5::QuietHdf5Errors;

constexpr const char* kIds = "ids";
constexpr const char* kOffsets = "offsets";
constexpr const char* kLabels = "labels";
constexpr const char* kNames = "names";
constexpr uint64_t kChunk = uint64_t{1} << 20;  // ids per write step
constexpr uint32_t kMaxVocab = 65536;            // ids are stored as uint16 at most

// ---- writing ---------------------------------------------------------------------------------

// Handle is neither copyable nor movable, so the helpers below return raw ids for the caller to wrap.
hid_t utf8_string_type() {
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  return type;
}

void write_string_attribute(const std::string& path, hid_t object, const char* name, const std::string& value) {
  Handle type(utf8_string_type(), H5Tclose);
  Handle scalar(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attribute(H5Acreate2(object, name, type.get(), scalar.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  const char* text = value.c_str();
  KRAIT_CHECK(attribute.ok() && H5Awrite(attribute.get(), type.get(), &text) >= 0, path, ": cannot write the ",
              name, " attribute: ", hdf5_reason());
}

void write_string_array_attribute(const std::string& path, hid_t object, const char* name,
                                  const std::vector<std::string>& values) {
  Handle type(utf8_string_type(), H5Tclose);
  const hsize_t dims[1] = {values.size()};
  Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  Handle attribute(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  KRAIT_CHECK(attribute.ok(), path, ": cannot create the ", name, " attribute: ", hdf5_reason());
  if (values.empty()) return;
  std::vector<const char*> texts;
  for (const std::string& value : values) texts.push_back(value.c_str());
  KRAIT_CHECK(H5Awrite(attribute.get(), type.get(), texts.data()) >= 0, path, ": cannot write the ", name,
              " attribute: ", hdf5_reason());
}

template <typename T>
void write_scalar_attribute(const std::string& path, hid_t object, const char* name, hid_t file_type,
                            hid_t memory_type, T value) {
  Handle scalar(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attribute(H5Acreate2(object, name, file_type, scalar.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  KRAIT_CHECK(attribute.ok() && H5Awrite(attribute.get(), memory_type, &value) >= 0, path, ": cannot write the ",
              name, " attribute: ", hdf5_reason());
}

hid_t create_dataset(const std::string& path, hid_t file, const char* name, hid_t type, hsize_t size) {
  const hsize_t dims[1] = {size};
  Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  const hid_t dataset = H5Dcreate2(file, name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  KRAIT_CHECK(dataset >= 0, path, ": cannot create /", name, ": ", hdf5_reason());
  return dataset;
}

void write_whole(const std::string& path, hid_t dataset, const char* name, hid_t memory_type, const void* data) {
  KRAIT_CHECK(H5Dwrite(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0, path, ": cannot write /",
              name, ": ", hdf5_reason());
}

// Appends ids to /ids in chunks of at most kChunk.
class IdWriter {
 public:
  IdWriter(const std::string& path, hid_t dataset, uint64_t total, const WriteProgress& progress)
      : path_(path), dataset_(dataset), total_(total), progress_(progress) {
    buffer_.reserve(std::min(total, kChunk));
  }

  uint16_t* append(uint64_t count) {  // room for count <= room() ids
    const size_t at = buffer_.size();
    buffer_.resize(at + count);
    return buffer_.data() + at;
  }
  uint64_t room() const { return kChunk - buffer_.size(); }

  void flush() {
    if (buffer_.empty()) return;
    Handle space(H5Dget_space(dataset_), H5Sclose);
    const hsize_t start[1] = {written_};
    const hsize_t n[1] = {buffer_.size()};
    Handle memory(H5Screate_simple(1, n, nullptr), H5Sclose);
    H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, n, nullptr);
    KRAIT_CHECK(H5Dwrite(dataset_, H5T_NATIVE_UINT16, memory.get(), space.get(), H5P_DEFAULT, buffer_.data()) >= 0,
                path_, ": cannot write /", kIds, " ", written_, "..", written_ + buffer_.size(), ": ", hdf5_reason());
    written_ += buffer_.size();
    buffer_.clear();
    if (progress_) progress_(written_, total_);
  }

 private:
  const std::string& path_;
  hid_t dataset_;
  uint64_t total_;
  const WriteProgress& progress_;
  uint64_t written_ = 0;
  std::vector<uint16_t> buffer_;
};

void check_info(const std::string& path, const SequenceDatasetInfo& info) {
  KRAIT_CHECK(!info.tokenizer.empty(), path, ": the tokenizer attribute is empty");
  if (info.kind == SequenceKind::audio) {
    KRAIT_CHECK(info.sample_rate > 0, path, ": an audio dataset needs a sample_rate > 0");
  } else {
    KRAIT_CHECK(info.sample_rate == 0, path, ": sample_rate is ", info.sample_rate, " but the kind is ",
                sequence_kind_name(info.kind), " (only audio has one; expected 0)");
  }
}

void write_file(const std::string& path, const SequenceSet& set, const SequenceDatasetInfo& info,
                const WriteProgress& progress) {
  const size_t n = set.num_records();
  const uint32_t vocab_size = set.vocab_size();
  const auto classes = static_cast<int32_t>(set.class_names().size());
  std::vector<uint64_t> offsets(n + 1, 0);
  std::vector<int32_t> labels(n);
  std::vector<const char*> names(n);
  for (size_t r = 0; r < n; ++r) {
    offsets[r + 1] = offsets[r] + set.record_length(r);
    labels[r] = set.record_label(r);
    names[r] = set.record_name(r).c_str();
    KRAIT_CHECK(classes == 0 ? labels[r] == kNoLabel : (labels[r] >= 0 && labels[r] < classes), path, ": record '",
                names[r], "' has label ", labels[r], " but the set has ", classes, " classes");
  }
  const uint64_t total = offsets[n];

  Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  KRAIT_CHECK(file.ok(), path, ": cannot create HDF5 file: ", hdf5_reason());

  Handle ids(create_dataset(path, file.get(), kIds, vocab_size <= 256 ? H5T_STD_U8LE : H5T_STD_U16LE, total), H5Dclose);
  IdWriter writer(path, ids.get(), total, progress);
  std::vector<int32_t> scratch(std::min(total, kChunk));
  for (size_t r = 0; r < n; ++r) {
    const uint64_t length = offsets[r + 1] - offsets[r];
    for (uint64_t at = 0; at < length;) {
      const uint64_t count = std::min(length - at, writer.room());
      set.read(r, at, count, scratch.data());
      uint16_t* out = writer.append(count);
      for (uint64_t i = 0; i < count; ++i) {
        KRAIT_CHECK(scratch[i] >= 0 && static_cast<uint32_t>(scratch[i]) < vocab_size, path, ": record '", names[r],
                    "' holds id ", scratch[i], " at position ", at + i, ", not below vocab_size ", vocab_size);
        out[i] = static_cast<uint16_t>(scratch[i]);
      }
      at += count;
      if (writer.room() == 0) writer.flush();
    }
  }
  writer.flush();
  if (progress && total == 0) progress(0, 0);

  Handle offsets_set(create_dataset(path, file.get(), kOffsets, H5T_STD_U64LE, n + 1), H5Dclose);
  write_whole(path, offsets_set.get(), kOffsets, H5T_NATIVE_UINT64, offsets.data());
  Handle labels_set(create_dataset(path, file.get(), kLabels, H5T_STD_I32LE, n), H5Dclose);
  write_whole(path, labels_set.get(), kLabels, H5T_NATIVE_INT32, labels.data());
  Handle string_type(utf8_string_type(), H5Tclose);
  Handle names_set(create_dataset(path, file.get(), kNames, string_type.get(), n), H5Dclose);
  write_whole(path, names_set.get(), kNames, string_type.get(), names.data());

  Handle root(H5Gopen2(file.get(), "/", H5P_DEFAULT), H5Gclose);
  write_string_attribute(path, root.get(), "format", kSequenceFormat);
  write_scalar_attribute(path, root.get(), "version", H5T_STD_I32LE, H5T_NATIVE_INT32, kSequenceFormatVersion);
  write_scalar_attribute(path, root.get(), "vocab_size", H5T_STD_U32LE, H5T_NATIVE_UINT32, vocab_size);
  write_string_attribute(path, root.get(), "kind", sequence_kind_name(info.kind));
  write_string_array_attribute(path, root.get(), "class_names", set.class_names());
  write_string_attribute(path, root.get(), "tokenizer", info.tokenizer);
  write_scalar_attribute(path, root.get(), "sample_rate", H5T_STD_U32LE, H5T_NATIVE_UINT32, info.sample_rate);
}

// ---- reading ---------------------------------------------------------------------------------

// Reads strings of any HDF5 string type (variable-length, as written here, or fixed-length, as
// other tools may write) through `read(memory_type, buffer)`.
template <typename Read>
std::vector<std::string> read_strings(const std::string& path, const std::string& what, hid_t type, hid_t space,
                                      Read read) {
  KRAIT_CHECK(H5Tget_class(type) == H5T_STRING, path, ": ", what, " must hold strings");
  const hssize_t count = H5Sget_simple_extent_npoints(space);
  KRAIT_CHECK(count >= 0, path, ": cannot size ", what, ": ", hdf5_reason());
  std::vector<std::string> out;
  if (count == 0) return out;
  const auto n = static_cast<size_t>(count);
  Handle memory_type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_cset(memory_type.get(), H5Tget_cset(type));
  if (H5Tis_variable_str(type) > 0) {
    H5Tset_size(memory_type.get(), H5T_VARIABLE);
    std::vector<char*> texts(n, nullptr);
    KRAIT_CHECK(read(memory_type.get(), texts.data()) >= 0, path, ": cannot read ", what, ": ", hdf5_reason());
    out.reserve(n);
    for (const char* text : texts) out.emplace_back(text ? text : "");
    H5Dvlen_reclaim(memory_type.get(), space, H5P_DEFAULT, texts.data());
  } else {
    const size_t size = H5Tget_size(type);
    H5Tset_size(memory_type.get(), size);
    H5Tset_strpad(memory_type.get(), H5T_STR_NULLPAD);
    std::vector<char> buffer(n * size);
    KRAIT_CHECK(read(memory_type.get(), buffer.data()) >= 0, path, ": cannot read ", what, ": ", hdf5_reason());
    for (size_t i = 0; i < n; ++i) {
      const char* text = buffer.data() + i * size;
      out.emplace_back(text, strnlen(text, size));
    }
  }
  return out;
}

hid_t open_attribute(const std::string& path, hid_t object, const char* name) {
  KRAIT_CHECK(H5Aexists(object, name) > 0, path, ": no '", name, "' attribute on /");
  const hid_t attribute = H5Aopen(object, name, H5P_DEFAULT);
  KRAIT_CHECK(attribute >= 0, path, ": cannot open the '", name, "' attribute: ", hdf5_reason());
  return attribute;
}

std::vector<std::string> read_string_attribute_values(const std::string& path, hid_t object, const char* name) {
  Handle attribute(open_attribute(path, object, name), H5Aclose);
  Handle type(H5Aget_type(attribute.get()), H5Tclose);
  Handle space(H5Aget_space(attribute.get()), H5Sclose);
  return read_strings(path, std::string("the '") + name + "' attribute", type.get(), space.get(),
                      [&](hid_t memory_type, void* buffer) { return H5Aread(attribute.get(), memory_type, buffer); });
}

std::string read_string_attribute(const std::string& path, hid_t object, const char* name) {
  const auto values = read_string_attribute_values(path, object, name);
  KRAIT_CHECK(values.size() == 1, path, ": the '", name, "' attribute must be one string, found ", values.size());
  return values[0];
}

int64_t read_integer_attribute(const std::string& path, hid_t object, const char* name) {
  Handle attribute(open_attribute(path, object, name), H5Aclose);
  Handle type(H5Aget_type(attribute.get()), H5Tclose);
  Handle space(H5Aget_space(attribute.get()), H5Sclose);
  KRAIT_CHECK(H5Tget_class(type.get()) == H5T_INTEGER && H5Sget_simple_extent_npoints(space.get()) == 1, path,
              ": the '", name, "' attribute must be a single integer");
  int64_t value = 0;
  KRAIT_CHECK(H5Aread(attribute.get(), H5T_NATIVE_INT64, &value) >= 0, path, ": cannot read the '", name,
              "' attribute: ", hdf5_reason());
  return value;
}

struct Header {
  SequenceDatasetInfo info;
  uint32_t vocab_size = 0;
  std::vector<std::string> class_names;
};

hid_t open_file(const std::string& path) {
  KRAIT_CHECK(std::filesystem::exists(path), path, ": no such file");
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  KRAIT_CHECK(file >= 0, path, ": cannot open as HDF5: ", hdf5_reason());
  return file;
}

Header read_header(const std::string& path, hid_t file) {
  Handle root(H5Gopen2(file, "/", H5P_DEFAULT), H5Gclose);
  KRAIT_CHECK(H5Aexists(root.get(), "format") > 0, path, ": not a Krait sequence dataset (no 'format' attribute on /)");
  const std::string format = read_string_attribute(path, root.get(), "format");
  KRAIT_CHECK(format == kSequenceFormat, path, ": not a Krait sequence dataset: format is '", format, "', expected '",
              kSequenceFormat, "'");
  const int64_t version = read_integer_attribute(path, root.get(), "version");
  KRAIT_CHECK(version == kSequenceFormatVersion, path, ": unsupported ", kSequenceFormat, " version ", version,
              " (this build reads version ", kSequenceFormatVersion, ")");
  Header header;
  const int64_t vocab_size = read_integer_attribute(path, root.get(), "vocab_size");
  KRAIT_CHECK(vocab_size >= 1 && vocab_size <= kMaxVocab, path, ": vocab_size ", vocab_size, " is not in [1, ",
              kMaxVocab, "]");
  header.vocab_size = static_cast<uint32_t>(vocab_size);
  header.info.kind = parse_sequence_kind(read_string_attribute(path, root.get(), "kind"), path + ": the 'kind' attribute");
  header.info.tokenizer = read_string_attribute(path, root.get(), "tokenizer");
  const int64_t sample_rate = read_integer_attribute(path, root.get(), "sample_rate");
  KRAIT_CHECK(sample_rate >= 0 && sample_rate <= UINT32_MAX, path, ": sample_rate ", sample_rate, " is out of range");
  header.info.sample_rate = static_cast<uint32_t>(sample_rate);
  check_info(path, header.info);
  header.class_names = read_string_attribute_values(path, root.get(), "class_names");
  return header;
}

// Opens /name and checks it is 1-D; returns its length through size.
hid_t open_vector(const std::string& path, hid_t file, const char* name, hsize_t& size) {
  KRAIT_CHECK(H5Lexists(file, name, H5P_DEFAULT) > 0, path, ": no /", name, " dataset");
  Handle dataset(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose);
  KRAIT_CHECK(dataset.ok(), path, ": cannot open /", name, ": ", hdf5_reason());
  hdf5::check_fully_stored(dataset.get(), path + ": /" + name);
  Handle space(H5Dget_space(dataset.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  KRAIT_CHECK(rank == 1, path, ": /", name, " must be 1-D, found rank ", rank);
  hsize_t dims[1] = {0};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  size = dims[0];
  return dataset.release();
}

void check_integer_type(const std::string& path, hid_t dataset, const char* name, bool want_unsigned,
                        size_t max_bytes) {
  Handle type(H5Dget_type(dataset), H5Tclose);
  const bool integer = H5Tget_class(type.get()) == H5T_INTEGER;
  const bool is_unsigned = integer && H5Tget_sign(type.get()) == H5T_SGN_NONE;
  const size_t bytes = H5Tget_size(type.get());
  KRAIT_CHECK(integer && (!want_unsigned || is_unsigned) && bytes <= max_bytes, path, ": /", name, " must hold ",
              want_unsigned ? "unsigned " : "", "integers of at most ", max_bytes, " bytes, found a ", bytes, "-byte ",
              integer ? (is_unsigned ? "unsigned integer" : "signed integer") : "non-integer type");
}

template <typename T>
std::vector<T> read_vector(const std::string& path, hid_t dataset, const char* name, hid_t memory_type, hsize_t size) {
  std::vector<T> values(size);
  if (size > 0) {
    KRAIT_CHECK(H5Dread(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0, path,
                ": cannot read /", name, ": ", hdf5_reason());
  }
  return values;
}

std::unique_ptr<InMemorySequenceSet> read_file(const std::string& path, hid_t file, const Header& header) {
  hsize_t n_offsets = 0, n_ids = 0, n_labels = 0, n_names = 0;
  Handle ids(open_vector(path, file, kIds, n_ids), H5Dclose);
  Handle offsets_set(open_vector(path, file, kOffsets, n_offsets), H5Dclose);
  Handle labels_set(open_vector(path, file, kLabels, n_labels), H5Dclose);
  Handle names_set(open_vector(path, file, kNames, n_names), H5Dclose);
  check_integer_type(path, ids.get(), kIds, true, 2);
  check_integer_type(path, offsets_set.get(), kOffsets, true, 8);
  check_integer_type(path, labels_set.get(), kLabels, false, 8);

  KRAIT_CHECK(n_offsets >= 1, path, ": /", kOffsets, " is empty (it needs n_records + 1 entries, starting at 0)");
  const size_t n = n_offsets - 1;
  KRAIT_CHECK(n > 0, path, ": the dataset is empty (no records)");
  const auto offsets = read_vector<uint64_t>(path, offsets_set.get(), kOffsets, H5T_NATIVE_UINT64, n_offsets);
  KRAIT_CHECK(offsets[0] == 0, path, ": /", kOffsets, "[0] is ", offsets[0], ", expected 0");
  for (size_t r = 0; r < n; ++r) {
    KRAIT_CHECK(offsets[r + 1] >= offsets[r], path, ": /", kOffsets, " decreases at ", r + 1, " (", offsets[r], " then ",
                offsets[r + 1], ")");
  }
  KRAIT_CHECK(offsets[n] == n_ids, path, ": /", kOffsets, " ends at ", offsets[n], " but /", kIds, " holds ", n_ids,
              " ids");
  KRAIT_CHECK(n_labels == n, path, ": /", kLabels, " holds ", n_labels, " entries for ", n, " records");
  KRAIT_CHECK(n_names == n, path, ": /", kNames, " holds ", n_names, " entries for ", n, " records");

  Handle names_type(H5Dget_type(names_set.get()), H5Tclose);
  Handle names_space(H5Dget_space(names_set.get()), H5Sclose);
  std::vector<std::string> names =
      read_strings(path, std::string("/") + kNames, names_type.get(), names_space.get(),
                   [&](hid_t memory_type, void* buffer) {
                     return H5Dread(names_set.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer);
                   });

  const auto labels = read_vector<int64_t>(path, labels_set.get(), kLabels, H5T_NATIVE_INT64, n);
  const auto classes = static_cast<int64_t>(header.class_names.size());
  for (size_t r = 0; r < n; ++r) {
    if (classes == 0) {
      KRAIT_CHECK(labels[r] == kNoLabel, path, ": record ", r, " ('", names[r], "') has label ", labels[r],
                  " but class_names is empty (expected -1)");
    } else {
      KRAIT_CHECK(labels[r] >= 0 && labels[r] < classes, path, ": record ", r, " ('", names[r], "') has label ",
                  labels[r], ", out of range of the ", classes, " class_names");
    }
  }

  std::vector<SequenceRecord> records(n);
  Handle space(H5Dget_space(ids.get()), H5Sclose);
  for (size_t r = 0; r < n; ++r) {
    SequenceRecord& record = records[r];
    record.name = std::move(names[r]);
    record.label = static_cast<int32_t>(labels[r]);
    const hsize_t start[1] = {offsets[r]};
    const hsize_t count[1] = {offsets[r + 1] - offsets[r]};
    record.ids.resize(count[0]);
    if (count[0] == 0) continue;
    Handle memory(H5Screate_simple(1, count, nullptr), H5Sclose);
    H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
    KRAIT_CHECK(H5Dread(ids.get(), H5T_NATIVE_UINT16, memory.get(), space.get(), H5P_DEFAULT, record.ids.data()) >= 0,
                path, ": cannot read /", kIds, " ", start[0], "..", start[0] + count[0], ": ", hdf5_reason());
    const auto bad = std::find_if(record.ids.begin(), record.ids.end(),
                                  [&](uint16_t id) { return id >= header.vocab_size; });
    KRAIT_CHECK(bad == record.ids.end(), path, ": /", kIds, "[", start[0] + (bad - record.ids.begin()), "] is ",
                bad == record.ids.end() ? 0 : *bad, " (record '", record.name, "'), not below vocab_size ",
                header.vocab_size);
  }
  return std::make_unique<InMemorySequenceSet>(path, header.vocab_size, header.class_names, std::move(records));
}

}  // namespace

const char* sequence_kind_name(SequenceKind kind) {
  switch (kind) {
    case SequenceKind::dna:
      return "dna";
    case SequenceKind::audio:
      return "audio";
    case SequenceKind::text:
      return "text";
  }
  return "?";
}

SequenceKind parse_sequence_kind(const std::string& text, const std::string& where) {
  for (SequenceKind kind : {SequenceKind::dna, SequenceKind::audio, SequenceKind::text}) {
    if (text == sequence_kind_name(kind)) return kind;
  }
  KRAIT_FAIL(where, ": unknown kind '", text, "', expected dna, audio or text");
}

void write_sequence_hdf5(const std::string& path, const SequenceSet& set, const SequenceDatasetInfo& info,
                         const WriteProgress& progress) {
  KRAIT_CHECK(set.num_records() > 0, path, ": nothing to write (the set '", set.path(), "' has no records)");
  KRAIT_CHECK(set.vocab_size() >= 1 && set.vocab_size() <= kMaxVocab, path, ": vocab_size ", set.vocab_size(),
              " is not in [1, ", kMaxVocab, "]");
  check_info(path, info);
  hdf5::write_then_rename(path, [&](const std::string& temp) { write_file(temp, set, info, progress); });
}

std::unique_ptr<SequenceSet> open_sequence_hdf5(const std::string& path, SequenceDatasetInfo* info) {
  QuietHdf5Errors quiet;
  Handle file(open_file(path), H5Fclose);
  const Header header = read_header(path, file.get());
  auto set = read_file(path, file.get(), header);
  if (info) *info = header.info;
  return set;
}

SequenceDatasetInfo read_sequence_info(const std::string& path) {
  QuietHdf5Errors quiet;
  Handle file(open_file(path), H5Fclose);
  return read_header(path, file.get()).info;
}

}  // namespace krait::data
