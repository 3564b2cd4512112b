// data/sequence_set.h — SequenceSet, a collection of variable-length records of ids (DNA bases,
// quantized audio samples, tokens), each with an optional class label: what the FASTA, WAV and HDF5
// readers produce and the window samplers draw from. InMemorySequenceSet holds its records in memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace krait::data {

inline constexpr int32_t kNoLabel = -1;

class SequenceSet {
 public:
  virtual ~SequenceSet() = default;

  virtual size_t num_records() const = 0;
  virtual uint64_t record_length(size_t record) const = 0;
  virtual int32_t record_label(size_t record) const = 0;  // kNoLabel when unlabeled
  virtual const std::string& record_name(size_t record) const = 0;
  // Copies ids [offset, offset + count) of a record into out; throws if the range passes its end.
  virtual void read(size_t record, uint64_t offset, uint64_t count, int32_t* out) const = 0;
  virtual uint32_t vocab_size() const = 0;                           // every id is < vocab_size
  virtual const std::vector<std::string>& class_names() const = 0;  // label i is class_names()[i]
  virtual const std::string& path() const = 0;                       // for messages

  uint64_t total_length() const;
  bool labeled() const { return !class_names().empty(); }
};

struct SequenceRecord {
  std::string name;  // e.g. a FASTA record's id, a WAV file's path
  int32_t label = kNoLabel;
  std::vector<uint16_t> ids;
};

class InMemorySequenceSet final : public SequenceSet {
 public:
  // Checks that every id is < vocab_size (<= 65536) and every label indexes class_names (or is
  // kNoLabel when class_names is empty), naming `path` and the record otherwise.
  InMemorySequenceSet(std::string path, uint32_t vocab_size, std::vector<std::string> class_names,
                      std::vector<SequenceRecord> records);

  size_t num_records() const override { return records_.size(); }
  uint64_t record_length(size_t record) const override;
  int32_t record_label(size_t record) const override;
  const std::string& record_name(size_t record) const override;
  void read(size_t record, uint64_t offset, uint64_t count, int32_t* out) const override;
  uint32_t vocab_size() const override { return vocab_size_; }
  const std::vector<std::string>& class_names() const override { return class_names_; }
  const std::string& path() const override { return path_; }

  const SequenceRecord& record(size_t record) const;

 private:
  std::string path_;
  uint32_t vocab_size_;
  std::vector<std::string> class_names_;
  std::vector<SequenceRecord> records_;
};

}  // namespace krait::data
