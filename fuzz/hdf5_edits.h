// fuzz/hdf5_edits.h — structure-aware fuzzing of Krait's HDF5 readers. HDF5 1.10.8 itself crashes,
// hangs and over-reads on corrupt bytes within seconds (fuzz/README.md), so the HDF5 targets do not
// hand HDF5 mutated bytes: each input is a list of edits applied, through the HDF5 API, to a valid
// file Krait's own writer made. An edit deletes an object, replaces it by a dataset of any type,
// shape (huge ones unwritten), layout, fill value and contents, by a group, or by a hard or soft link,
// or replaces or deletes an attribute. Every file is well-formed HDF5 with fuzzed content: what
// Krait's readers must validate.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>
#include <hdf5.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "data/hdf5_util.h"

namespace krait::fuzz {

// What the edits may touch: the reader's objects (dataset or group paths, "tokens", "model/w") and
// attributes (object path, name), and string values worth writing (the ones the reader expects).
struct Hdf5Names {
  std::vector<std::string> objects;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::vector<std::string> strings;
};

namespace detail {

using hdf5::Handle;

constexpr hssize_t kMaxWrittenElements = 4096;  // larger datasets are left unwritten (fill values)

template <typename T>
const T& pick(FuzzedDataProvider& in, const std::vector<T>& values) {
  return values[in.ConsumeIntegralInRange<size_t>(0, values.size() - 1)];
}

inline std::string fuzzed_string(FuzzedDataProvider& in, const Hdf5Names& names) {
  return names.strings.empty() || in.ConsumeBool() ? in.ConsumeRandomLengthString(24) : pick(in, names.strings);
}

// A datatype Krait reads, or one it must refuse. The caller closes it.
inline hid_t fuzzed_type(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 15)) {
    case 0: return H5Tcopy(H5T_STD_U8LE);
    case 1: return H5Tcopy(H5T_STD_I8LE);
    case 2: return H5Tcopy(H5T_STD_U16LE);
    case 3: return H5Tcopy(H5T_STD_U16BE);
    case 4: return H5Tcopy(H5T_STD_I32LE);
    case 5: return H5Tcopy(H5T_STD_U32LE);
    case 6: return H5Tcopy(H5T_STD_I64LE);
    case 7: return H5Tcopy(H5T_STD_U64LE);
    case 8: return H5Tcopy(H5T_IEEE_F32LE);
    case 9: return H5Tcopy(H5T_IEEE_F64BE);
    case 10:
    case 11: {  // a string, variable or fixed length
      const hid_t type = H5Tcopy(H5T_C_S1);
      H5Tset_size(type, in.ConsumeBool() ? H5T_VARIABLE : in.ConsumeIntegralInRange<size_t>(1, 16));
      H5Tset_cset(type, in.ConsumeBool() ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
      H5Tset_strpad(type, in.ConsumeBool() ? H5T_STR_NULLTERM : H5T_STR_NULLPAD);
      return type;
    }
    case 12: {  // a compound {i32 a; f32 b}
      const hid_t type = H5Tcreate(H5T_COMPOUND, 8);
      H5Tinsert(type, "a", 0, H5T_STD_I32LE);
      H5Tinsert(type, "b", 4, H5T_IEEE_F32LE);
      return type;
    }
    case 13: return H5Tvlen_create(H5T_STD_U16LE);
    case 14: return H5Tcreate(H5T_OPAQUE, 2);
    default: {  // an integer of an odd width
      const hid_t type = H5Tcopy(H5T_STD_U32LE);
      H5Tset_precision(type, in.ConsumeIntegralInRange<size_t>(1, 32));
      return type;
    }
  }
}

// Scalar, null, or 1-3 dimensions, mostly small; with allow_huge, now and then far beyond any file.
inline hid_t fuzzed_space(FuzzedDataProvider& in, bool allow_huge) {
  const int kind = in.ConsumeIntegralInRange(0, 9);
  if (kind == 0) return H5Screate(H5S_SCALAR);
  if (kind == 1) return H5Screate(H5S_NULL);
  const int rank = in.ConsumeIntegralInRange(1, 3);
  hsize_t dims[3];
  for (int r = 0; r < rank; ++r) {
    dims[r] = allow_huge && in.ConsumeIntegralInRange(0, 7) == 0
                  ? in.PickValueInArray<hsize_t>({hsize_t{1} << 31, (hsize_t{1} << 32) + 1, hsize_t{1} << 40,
                                                  hsize_t{1} << 62, ~hsize_t{0} >> 1})
                  : in.ConsumeIntegralInRange<hsize_t>(0, 8);
  }
  return H5Screate_simple(rank, dims, nullptr);
}

// The number of elements of space, or -1 above kMaxWrittenElements. Counted here because HDF5's own
// count wraps around 64 bits ([2^63 - 1, 2^63 - 1] has "1" element, and writing it exhausts memory).
inline hssize_t small_element_count(hid_t space) {
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0 || H5Sget_simple_extent_type(space) == H5S_NULL) return 0;
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  hssize_t count = 1;
  for (const hsize_t d : dims) {
    if (d > static_cast<hsize_t>(kMaxWrittenElements)) return -1;
    count *= static_cast<hssize_t>(d);
    if (count > kMaxWrittenElements) return -1;
  }
  return count;
}

// Writes small, fixed-size or variable-length data through write(memory_type, buffer); larger or
// other data stays unwritten.
template <typename Write>
void write_fuzzed_data(FuzzedDataProvider& in, const Hdf5Names& names, hid_t type, hid_t space, Write write) {
  const hssize_t count = small_element_count(space);
  if (count <= 0) return;
  if (H5Tis_variable_str(type) > 0) {
    std::vector<std::string> texts;
    for (hssize_t i = 0; i < count; ++i) texts.push_back(fuzzed_string(in, names));
    std::vector<const char*> pointers;
    for (const std::string& text : texts) pointers.push_back(text.c_str());
    write(type, pointers.data());
  } else if (H5Tget_class(type) == H5T_VLEN) {
    const std::vector<unsigned char> bytes = in.ConsumeBytes<unsigned char>(64);
    std::vector<uint16_t> values(bytes.begin(), bytes.end());
    std::vector<hvl_t> sequences(static_cast<size_t>(count));
    for (hvl_t& sequence : sequences) {
      sequence.len = values.empty() ? 0 : in.ConsumeIntegralInRange<size_t>(0, values.size());
      sequence.p = values.data();
    }
    write(type, sequences.data());
  } else {
    std::vector<unsigned char> bytes = in.ConsumeBytes<unsigned char>(static_cast<size_t>(count) * H5Tget_size(type));
    bytes.resize(static_cast<size_t>(count) * H5Tget_size(type));
    write(type, bytes.data());
  }
}

// Link creation that makes missing parent groups, as Krait's writers do.
inline hid_t make_link_properties() {
  const hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  return lcpl;
}

inline void replace_by_dataset(FuzzedDataProvider& in, const Hdf5Names& names, hid_t file, const std::string& path) {
  Handle type(fuzzed_type(in), H5Tclose);
  Handle space(fuzzed_space(in, true), H5Sclose);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 1:
    case 2: {  // chunked, the second time compressed; unwritten chunks read as the fill value
      std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 1))), chunk(dims.size());
      H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
      for (size_t r = 0; r < dims.size(); ++r) chunk[r] = std::max<hsize_t>(1, std::min<hsize_t>(dims[r], 16));
      H5Pset_chunk(dcpl.get(), rank, chunk.data());
      if (in.ConsumeBool()) H5Pset_deflate(dcpl.get(), 1);
      break;
    }
    case 3: H5Pset_layout(dcpl.get(), H5D_COMPACT); break;
    default: break;  // contiguous
  }
  if (H5Tget_class(type.get()) != H5T_VLEN && H5Tis_variable_str(type.get()) <= 0 && in.ConsumeBool()) {
    std::vector<unsigned char> fill = in.ConsumeBytes<unsigned char>(H5Tget_size(type.get()));
    fill.resize(H5Tget_size(type.get()));
    H5Pset_fill_value(dcpl.get(), type.get(), fill.data());
  }
  Handle lcpl(make_link_properties(), H5Pclose);
  Handle dataset(H5Dcreate2(file, path.c_str(), type.get(), space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT),
                 H5Dclose);
  if (!dataset.ok()) return;
  write_fuzzed_data(in, names, type.get(), space.get(), [&](hid_t memory_type, const void* buffer) {
    H5Dwrite(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer);
  });
}

inline void replace_attribute(FuzzedDataProvider& in, const Hdf5Names& names, hid_t file,
                              const std::pair<std::string, std::string>& attribute) {
  Handle object(H5Oopen(file, attribute.first.c_str(), H5P_DEFAULT), H5Oclose);
  if (!object.ok()) return;
  if (H5Aexists(object.get(), attribute.second.c_str()) > 0) H5Adelete(object.get(), attribute.second.c_str());
  if (in.ConsumeIntegralInRange(0, 3) == 0) return;  // deleted
  Handle type(fuzzed_type(in), H5Tclose);
  Handle space(fuzzed_space(in, false), H5Sclose);
  Handle created(H5Acreate2(object.get(), attribute.second.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                 H5Aclose);
  if (!created.ok()) return;
  write_fuzzed_data(in, names, type.get(), space.get(),
                    [&](hid_t memory_type, const void* buffer) { H5Awrite(created.get(), memory_type, buffer); });
}

}  // namespace detail

// Applies up to 8 edits taken from `in` to the HDF5 file at path, which must be closed; every edit
// HDF5 refuses (an invalid combination the fuzzer chose) is skipped.
inline void apply_hdf5_edits(const std::string& path, const Hdf5Names& names, FuzzedDataProvider& in) {
  using detail::Handle;
  using detail::pick;
  hdf5::QuietHdf5Errors quiet;
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) return;
  for (int edit = 0; edit < 8 && in.remaining_bytes() > 0; ++edit) {
    const int op = in.ConsumeIntegralInRange(0, 5);
    if (op == 5) {
      detail::replace_attribute(in, names, file.get(), pick(in, names.attributes));
      continue;
    }
    const std::string& target = pick(in, names.objects);
    H5Ldelete(file.get(), target.c_str(), H5P_DEFAULT);
    Handle lcpl(detail::make_link_properties(), H5Pclose);
    if (op == 1) {
      detail::replace_by_dataset(in, names, file.get(), target);
    } else if (op == 2) {
      H5Gclose(H5Gcreate2(file.get(), target.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
    } else if (op == 3) {  // another object, or the root (a cycle), under this name too
      const std::string source = in.ConsumeBool() ? "/" : pick(in, names.objects);
      H5Lcreate_hard(file.get(), source.c_str(), file.get(), target.c_str(), lcpl.get(), H5P_DEFAULT);
    } else if (op == 4) {  // a soft link, maybe dangling
      const std::string destination = in.ConsumeBool() ? "/missing" : "/" + pick(in, names.objects);
      H5Lcreate_soft(destination.c_str(), file.get(), target.c_str(), lcpl.get(), H5P_DEFAULT);
    }  // op 0: deleted
  }
}

}  // namespace krait::fuzz
