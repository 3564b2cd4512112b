// data/sequence_set.cpp — SequenceSet::total_length and InMemorySequenceSet.
#include "data/sequence_set.h"

#include <algorithm>

#include "common/error.h"

namespace krait::data {

uint64_t SequenceSet::total_length() const {
  uint64_t n = 0;
  for (size_t r = 0; r < num_records(); ++r) n += record_length(r);
  return n;
}

InMemorySequenceSet::InMemorySequenceSet(std::string path, uint32_t vocab_size, std::vector<std::string> class_names,
                                         std::vector<SequenceRecord> records)
    : path_(std::move(path)), vocab_size_(vocab_size), class_names_(std::move(class_names)), records_(std::move(records)) {
  KRAIT_CHECK(vocab_size >= 1 && vocab_size <= 65536, path_, ": vocab_size ", vocab_size, " is not in [1, 65536]");
  const auto classes = static_cast<int32_t>(class_names_.size());
  for (const SequenceRecord& r : records_) {
    const auto bad = std::find_if(r.ids.begin(), r.ids.end(), [&](uint16_t id) { return id >= vocab_size_; });
    KRAIT_CHECK(bad == r.ids.end(), path_, ": record '", r.name, "' holds id ", bad == r.ids.end() ? 0 : *bad,
                " at position ", bad - r.ids.begin(), ", not below vocab_size ", vocab_size_);
    if (classes == 0) {
      KRAIT_CHECK(r.label == kNoLabel, path_, ": record '", r.name, "' has label ", r.label, " but the set has no classes");
    } else {
      KRAIT_CHECK(r.label >= 0 && r.label < classes, path_, ": record '", r.name, "' has label ", r.label,
                  ", expected one of the ", classes, " classes");
    }
  }
}

const SequenceRecord& InMemorySequenceSet::record(size_t record) const {
  KRAIT_CHECK(record < records_.size(), path_, ": record ", record, " of ", records_.size());
  return records_[record];
}

uint64_t InMemorySequenceSet::record_length(size_t r) const { return record(r).ids.size(); }
int32_t InMemorySequenceSet::record_label(size_t r) const { return record(r).label; }
const std::string& InMemorySequenceSet::record_name(size_t r) const { return record(r).name; }

void InMemorySequenceSet::read(size_t r, uint64_t offset, uint64_t count, int32_t* out) const {
  const std::vector<uint16_t>& ids = record(r).ids;
  KRAIT_CHECK(offset <= ids.size() && count <= ids.size() - offset, path_, ": record '", record(r).name, "' read of ",
              count, " ids at ", offset, " passes its end (", ids.size(), " ids)");
  std::copy(ids.begin() + static_cast<std::ptrdiff_t>(offset), ids.begin() + static_cast<std::ptrdiff_t>(offset + count),
            out);
}

}  // namespace krait::data
