// train/checkpoint_file.cpp — CheckpointWriter and CheckpointReader over the HDF5 C API.
#include "train/checkpoint_file.h"

#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

#include "common/error.h"
#include "data/hdf5_util.h"

namespace krait {

static_assert(std::is_same_v<hid_t, int64_t>, "CheckpointReader stores hid_t as int64_t");

namespace {
using hdf5::Handle;
using hdf5::QuietHdf5Errors;
using hdf5::hdf5_reason;

constexpr const char* kFormat = "krait-checkpoint";
constexpr int64_t kVersion = 1;
constexpr const char* kDtypeAttribute = "dtype";  // "bf16" on bf16 tensors stored as uint16


// Entry paths are non-empty names joined by single slashes; "." and ".." are not names.
bool is_valid_path(const std::string& path) {
  if (path.empty()) return false;
  size_t begin = 0;
  while (true) {
    const size_t end = std::min(path.find('/', begin), path.size());
    const std::string name = path.substr(begin, end - begin);
    if (name.empty() || name == "." || name == "..") return false;
    if (end == path.size()) return true;
    begin = end + 1;
  }
}

// ----- writing -----

hid_t make_space(const Shape& shape) {
  if (shape.empty()) return H5Screate(H5S_SCALAR);
  const std::vector<hsize_t> dims(shape.begin(), shape.end());
  return H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
}

hid_t make_string_type() {
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  return type;
}

struct TypePair {
  hid_t stored;  // the little-endian type in the file
  hid_t memory;  // the native type in memory
};

TypePair types_of(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return {H5T_IEEE_F32LE, H5T_NATIVE_FLOAT};
    case DType::F64:
      return {H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE};
    case DType::I32:
      return {H5T_STD_I32LE, H5T_NATIVE_INT32};
    case DType::I64:
      return {H5T_STD_I64LE, H5T_NATIVE_INT64};
    case DType::BF16:
      return {H5T_STD_U16LE, H5T_NATIVE_UINT16};
  }
  KRAIT_FAIL("checkpoint: unknown dtype ", static_cast<int>(dtype));
}

// Errors while writing name `where` ("checkpoint 'run/step-00000010.h5.tmp'") and the entry.
void write_string_attribute(hid_t object, const char* name, const std::string& value,
                            const std::string& where) {
  Handle type(make_string_type(), H5Tclose);
  Handle scalar(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attribute(H5Acreate2(object, name, type.get(), scalar.get(), H5P_DEFAULT, H5P_DEFAULT),
                   H5Aclose);
  const char* text = value.c_str();
  KRAIT_CHECK(attribute.ok() && H5Awrite(attribute.get(), type.get(), &text) >= 0, where,
              ": cannot write the ", name, " attribute: ", hdf5_reason());
}

// Writes one entry as a dataset from value, laid out as memory_type (not read when the shape holds
// no elements), creating its groups. Returns the dataset for the caller to add attributes to.
hid_t write_dataset(hid_t file, const std::string& path, hid_t stored_type, hid_t memory_type,
                    const Shape& shape, const void* value, const std::string& where) {
  Handle links(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(links.get(), 1);
  H5Pset_char_encoding(links.get(), H5T_CSET_UTF8);
  Handle space(make_space(shape), H5Sclose);
  Handle dataset(H5Dcreate2(file, path.c_str(), stored_type, space.get(), links.get(), H5P_DEFAULT,
                            H5P_DEFAULT),
                 H5Dclose);
  KRAIT_CHECK(dataset.ok(), where, ": cannot create entry '", path, "': ", hdf5_reason());
  if (shape_numel(shape) > 0) {
    KRAIT_CHECK(H5Dwrite(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, value) >= 0,
                where, ": cannot write entry '", path, "': ", hdf5_reason());
  }
  return dataset.release();
}

void write_entry(hid_t file, const std::string& path, const Tensor& tensor,
                 const std::string& where) {
  const TypePair types = types_of(tensor.dtype());
  Handle dataset(write_dataset(file, path, types.stored, types.memory, tensor.shape(),
                               tensor.raw_data(), where),
                 H5Dclose);
  if (tensor.dtype() == DType::BF16) {
    write_string_attribute(dataset.get(), kDtypeAttribute, "bf16",
                           where + ": entry '" + path + "'");
  }
}

void write_entry(hid_t file, const std::string& path, int64_t value, const std::string& where) {
  H5Dclose(write_dataset(file, path, H5T_STD_I64LE, H5T_NATIVE_INT64, {}, &value, where));
}

void write_entry(hid_t file, const std::string& path, double value, const std::string& where) {
  H5Dclose(write_dataset(file, path, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {}, &value, where));
}

void write_entry(hid_t file, const std::string& path, const std::vector<uint64_t>& values,
                 const std::string& where) {
  const Shape shape{static_cast<int64_t>(values.size())};
  H5Dclose(
      write_dataset(file, path, H5T_STD_U64LE, H5T_NATIVE_UINT64, shape, values.data(), where));
}

void write_entry(hid_t file, const std::string& path, const std::string& value,
                 const std::string& where) {
  Handle type(make_string_type(), H5Tclose);
  const char* text = value.c_str();
  H5Dclose(write_dataset(file, path, type.get(), type.get(), {}, &text, where));
}

// Opens path with POSIX open and fsyncs it, so its contents (or, for a directory, its entries) are
// on disk before the caller goes on.
void sync_to_disk(const std::string& path, int flags, const std::string& checkpoint) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  KRAIT_CHECK(fd >= 0, "checkpoint '", checkpoint, "': cannot open ", path,
              " to fsync it: ", std::strerror(errno));
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  KRAIT_CHECK(rc == 0, "checkpoint '", checkpoint, "': fsync of ", path,
              " failed: ", std::strerror(error));
}

// ----- reading -----

// The value of a scalar variable-length string attribute, or nullopt when it is missing or not one.
std::optional<std::string> string_attribute(hid_t object, const char* name) {
  if (H5Aexists(object, name) <= 0) return std::nullopt;
  Handle attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attribute.get()), H5Tclose);
  Handle space(H5Aget_space(attribute.get()), H5Sclose);
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) <= 0 ||
      H5Sget_simple_extent_npoints(space.get()) != 1)
    return std::nullopt;
  char* text = nullptr;
  if (H5Aread(attribute.get(), type.get(), &text) < 0) return std::nullopt;
  std::string value = text ? text : "";
  H5free_memory(text);
  return value;
}

// The value of a scalar integer attribute, or nullopt when it is missing or not one.
std::optional<int64_t> int_attribute(hid_t object, const char* name) {
  if (H5Aexists(object, name) <= 0) return std::nullopt;
  Handle attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attribute.get()), H5Tclose);
  Handle space(H5Aget_space(attribute.get()), H5Sclose);
  if (H5Tget_class(type.get()) != H5T_INTEGER || H5Sget_simple_extent_npoints(space.get()) != 1)
    return std::nullopt;
  int64_t value = 0;
  if (H5Aread(attribute.get(), H5T_NATIVE_INT64, &value) < 0) return std::nullopt;
  return value;
}

// Reads a whole dataset of count elements as memory_type into out.
void read_values(hid_t dataset, hid_t memory_type, void* out, int64_t count,
                 const std::string& checkpoint, const std::string& entry) {
  if (count == 0) return;
  KRAIT_CHECK(H5Dread(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0,
              "checkpoint '", checkpoint, "': cannot read entry '", entry,
              "' (truncated or corrupt?): ", hdf5_reason());
}

// What a dataset holds: type is a dtype name ("f32", "bf16", ...), "u64", "string", or "" for
// anything a checkpoint never stores.
struct Stored {
  std::string type;
  Shape shape;
};

std::string type_name(hid_t dataset, hid_t type) {
  const size_t size = H5Tget_size(type);
  switch (H5Tget_class(type)) {
    case H5T_FLOAT:
      return size == 4 ? "f32" : size == 8 ? "f64" : "";
    case H5T_INTEGER:
      if (H5Tget_sign(type) == H5T_SGN_2) return size == 4 ? "i32" : size == 8 ? "i64" : "";
      if (size == 2 && string_attribute(dataset, kDtypeAttribute) == "bf16") return "bf16";
      return size == 8 ? "u64" : "";
    case H5T_STRING:
      return H5Tis_variable_str(type) > 0 ? "string" : "";
    default:
      return "";
  }
}

Stored inspect(hid_t dataset) {
  Handle type(H5Dget_type(dataset), H5Tclose);
  Handle space(H5Dget_space(dataset), H5Sclose);
  Stored stored{type_name(dataset, type.get()), {}};
  const H5S_class_t space_class = H5Sget_simple_extent_type(space.get());
  if (space_class == H5S_SIMPLE) {
    std::vector<hsize_t> dims(H5Sget_simple_extent_ndims(space.get()));
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    stored.shape.assign(dims.begin(), dims.end());
  } else if (space_class != H5S_SCALAR) {
    stored.type.clear();
  }
  return stored;
}

// True when every dimension is >= 0 and the product of the nonzero ones fits in int64_t, so that
// Tensor can multiply them in order (a zero after [2^62, 2^31] makes HDF5's count 0, not Tensor's).
bool element_count_fits(const Shape& shape) {
  int64_t count = 1;
  for (const int64_t d : shape) {
    if (d < 0 || (d > 0 && count > std::numeric_limits<int64_t>::max() / d)) return false;
    if (d > 0) count *= d;
  }
  return true;
}

std::string describe(const Stored& stored) {
  if (stored.type.empty()) return "an unsupported HDF5 type";
  if (stored.type == "string") return "a string";
  return stored.type + shape_str(stored.shape);
}

std::optional<DType> tensor_dtype(const std::string& type) {
  for (DType dtype : {DType::F32, DType::BF16, DType::F64, DType::I32, DType::I64}) {
    if (type == dtype_name(dtype)) return dtype;
  }
  return std::nullopt;
}

// H5I_DATASET, H5I_GROUP, or H5I_BADID when nothing is at path. Walks the path one link at a time,
// since HDF5 reports a missing intermediate group as an error rather than as absence.
H5I_type_t object_type(hid_t file, const std::string& path) {
  if (!is_valid_path(path)) return H5I_BADID;
  for (size_t slash = path.find('/');; slash = path.find('/', slash + 1)) {
    if (H5Lexists(file, path.substr(0, slash).c_str(), H5P_DEFAULT) <= 0) return H5I_BADID;
    if (slash == std::string::npos) break;
  }
  Handle object(H5Oopen(file, path.c_str(), H5P_DEFAULT), H5Oclose);
  return object.ok() ? H5Iget_type(object.get()) : H5I_BADID;
}

}  // namespace

// ----- CheckpointWriter -----

void CheckpointWriter::put(const std::string& path, Value value) {
  KRAIT_CHECK(is_valid_path(path), "checkpoint entry path '", path,
              "' must be names joined by single slashes (no empty, '.' or '..' names)");
  KRAIT_CHECK(!entries_.contains(path), "checkpoint entry '", path, "' was put twice");
  for (size_t slash = path.find('/'); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    KRAIT_CHECK(!entries_.contains(path.substr(0, slash)), "checkpoint entry '", path,
                "' would be under entry '", path.substr(0, slash), "'");
  }
  const std::string as_group = path + "/";
  const auto next = entries_.lower_bound(as_group);
  KRAIT_CHECK(next == entries_.end() || !next->first.starts_with(as_group), "checkpoint entry '",
              path, "' is already the group of entry '", next == entries_.end() ? "" : next->first,
              "'");
  entries_.emplace(path, std::move(value));
}

void CheckpointWriter::put_tensor(const std::string& path, const Tensor& tensor) {
  KRAIT_CHECK(tensor.defined(), "checkpoint entry '", path, "': undefined tensor");
  put(path, tensor.device().is_cpu() ? tensor.clone() : tensor.to(Device::cpu()));
}

void CheckpointWriter::put_int(const std::string& path, int64_t value) { put(path, value); }
void CheckpointWriter::put_double(const std::string& path, double value) { put(path, value); }
void CheckpointWriter::put_u64s(const std::string& path, std::vector<uint64_t> values) {
  put(path, std::move(values));
}
void CheckpointWriter::put_string(const std::string& path, std::string value) {
  put(path, std::move(value));
}

void CheckpointWriter::write_file(const std::string& path) const {
  const std::string where = "checkpoint '" + path + "'";
  Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  KRAIT_CHECK(file.ok(), where, ": cannot create the file: ", hdf5_reason());
  write_string_attribute(file.get(), "format", kFormat, where);
  {
    Handle scalar(H5Screate(H5S_SCALAR), H5Sclose);
    Handle version(
        H5Acreate2(file.get(), "version", H5T_STD_I64LE, scalar.get(), H5P_DEFAULT, H5P_DEFAULT),
        H5Aclose);
    KRAIT_CHECK(version.ok() && H5Awrite(version.get(), H5T_NATIVE_INT64, &kVersion) >= 0, where,
                ": cannot write the version attribute: ", hdf5_reason());
  }
  for (const auto& [entry, value] : entries_) {
    std::visit([&](const auto& v) { write_entry(file.get(), entry, v, where); }, value);
  }
  // Closing flushes every buffered byte to the file; a failure here means the file is incomplete.
  KRAIT_CHECK(H5Fclose(file.release()) >= 0, where,
              ": cannot flush and close the file: ", hdf5_reason());
}

void CheckpointWriter::write(const std::string& final_path) const {
  QuietHdf5Errors quiet;
  const std::filesystem::path target(final_path);
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  KRAIT_CHECK(!ec, "checkpoint '", final_path, "': cannot create directory ", dir, ": ",
              ec.message());

  const std::string temp = final_path + ".tmp";
  try {
    write_file(temp);
    sync_to_disk(temp, O_RDONLY, final_path);
    std::filesystem::rename(temp, final_path, ec);
    KRAIT_CHECK(!ec, "checkpoint '", final_path, "': cannot rename ", temp,
                " onto it: ", ec.message());
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw;
  }
  sync_to_disk(dir, O_RDONLY | O_DIRECTORY, final_path);  // makes the rename itself durable
}

// ----- CheckpointReader -----

CheckpointReader::CheckpointReader(const std::string& path) : path_(path) {
  QuietHdf5Errors quiet;
  std::error_code ec;
  KRAIT_CHECK(std::filesystem::exists(path, ec), "checkpoint '", path, "' not found");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  KRAIT_CHECK(file.ok(), "checkpoint '", path,
              "' is not a readable HDF5 file (truncated or corrupt?): ", hdf5_reason());
  const std::optional<std::string> format = string_attribute(file.get(), "format");
  KRAIT_CHECK(format == kFormat, "checkpoint '", path,
              "' is not a Krait checkpoint: its format attribute is ",
              format ? "'" + *format + "'" : "missing", ", expected '", kFormat, "'");
  const std::optional<int64_t> version = int_attribute(file.get(), "version");
  KRAIT_CHECK(version == kVersion, "checkpoint '", path, "' has ",
              version ? "version " + std::to_string(*version) : "no version attribute",
              "; this build reads version ", kVersion);
  file_ = file.release();
}

CheckpointReader::~CheckpointReader() { H5Fclose(file_); }

bool CheckpointReader::has(const std::string& path) const {
  QuietHdf5Errors quiet;
  return object_type(file_, path) == H5I_DATASET;
}

std::vector<std::string> CheckpointReader::list(const std::string& group) const {
  QuietHdf5Errors quiet;
  KRAIT_CHECK(group.empty() || object_type(file_, group) == H5I_GROUP, "checkpoint '", path_,
              "' has no group '", group, "'");
  const std::string where = group.empty() ? "/" : group;
  H5G_info_t info;
  KRAIT_CHECK(H5Gget_info_by_name(file_, where.c_str(), &info, H5P_DEFAULT) >= 0, "checkpoint '",
              path_, "': cannot read group '", group, "': ", hdf5_reason());
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t size = H5Lget_name_by_idx(file_, where.c_str(), H5_INDEX_NAME, H5_ITER_INC, i,
                                            nullptr, 0, H5P_DEFAULT);
    KRAIT_CHECK(size >= 0, "checkpoint '", path_, "': cannot read group '", group,
                "': ", hdf5_reason());
    std::string name(static_cast<size_t>(size), '\0');
    H5Lget_name_by_idx(file_, where.c_str(), H5_INDEX_NAME, H5_ITER_INC, i, name.data(),
                       name.size() + 1, H5P_DEFAULT);
    names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

int64_t CheckpointReader::open_entry(const std::string& path) const {
  KRAIT_CHECK(object_type(file_, path) == H5I_DATASET, "checkpoint '", path_, "' has no entry '",
              path, "'");
  Handle dataset(H5Dopen2(file_, path.c_str(), H5P_DEFAULT), H5Dclose);
  KRAIT_CHECK(dataset.ok(), "checkpoint '", path_, "': cannot open entry '", path,
              "': ", hdf5_reason());
  hdf5::check_fully_stored(dataset.get(), "checkpoint '" + path_ + "': entry '" + path + "'");
  return dataset.release();
}

Tensor CheckpointReader::tensor(const std::string& path) const {
  QuietHdf5Errors quiet;
  Handle dataset(open_entry(path), H5Dclose);
  const Stored stored = inspect(dataset.get());
  const std::optional<DType> dtype = tensor_dtype(stored.type);
  KRAIT_CHECK(dtype, "checkpoint '", path_, "': entry '", path, "' holds ", describe(stored),
              ", not a tensor");
  KRAIT_CHECK(element_count_fits(stored.shape), "checkpoint '", path_, "': entry '", path, "' has the shape ",
              shape_str(stored.shape), ", whose element count overflows 64 bits");
  Tensor out = Tensor::empty(stored.shape, *dtype);
  read_values(dataset.get(), types_of(*dtype).memory, out.raw_data(), out.numel(), path_, path);
  return out;
}

void CheckpointReader::read_into(const std::string& path, const Tensor& dst) const {
  KRAIT_CHECK(dst.defined(), "checkpoint '", path_, "': read_into ", path,
              ": undefined destination tensor");
  const Tensor stored = tensor(path);
  KRAIT_CHECK(stored.shape() == dst.shape(), "checkpoint '", path_, "': ", path, " has shape ",
              shape_str(stored.shape()), ", the model expects ", shape_str(dst.shape()));
  KRAIT_CHECK(is_floating(stored.dtype()) == is_floating(dst.dtype()), "checkpoint '", path_,
              "': ", path, " holds ", dtype_name(stored.dtype()), " values, the model expects ",
              dtype_name(dst.dtype()));
  dst.copy_from(stored);
}

int64_t CheckpointReader::get_int(const std::string& path) const {
  QuietHdf5Errors quiet;
  Handle dataset(open_entry(path), H5Dclose);
  const Stored stored = inspect(dataset.get());
  KRAIT_CHECK((stored.type == "i64" || stored.type == "i32") && stored.shape.empty(),
              "checkpoint '", path_, "': entry '", path, "' holds ", describe(stored),
              ", expected an integer");
  int64_t value = 0;
  read_values(dataset.get(), H5T_NATIVE_INT64, &value, 1, path_, path);
  return value;
}

double CheckpointReader::get_double(const std::string& path) const {
  QuietHdf5Errors quiet;
  Handle dataset(open_entry(path), H5Dclose);
  const Stored stored = inspect(dataset.get());
  KRAIT_CHECK((stored.type == "f64" || stored.type == "f32") && stored.shape.empty(),
              "checkpoint '", path_, "': entry '", path, "' holds ", describe(stored),
              ", expected a floating-point number");
  double value = 0;
  read_values(dataset.get(), H5T_NATIVE_DOUBLE, &value, 1, path_, path);
  return value;
}

std::vector<uint64_t> CheckpointReader::get_u64s(const std::string& path) const {
  QuietHdf5Errors quiet;
  Handle dataset(open_entry(path), H5Dclose);
  const Stored stored = inspect(dataset.get());
  KRAIT_CHECK(stored.type == "u64" && stored.shape.size() == 1, "checkpoint '", path_, "': entry '",
              path, "' holds ", describe(stored), ", expected a list of u64");
  std::vector<uint64_t> values(stored.shape[0]);
  read_values(dataset.get(), H5T_NATIVE_UINT64, values.data(), stored.shape[0], path_, path);
  return values;
}

std::string CheckpointReader::get_string(const std::string& path) const {
  QuietHdf5Errors quiet;
  Handle dataset(open_entry(path), H5Dclose);
  const Stored stored = inspect(dataset.get());
  KRAIT_CHECK(stored.type == "string" && stored.shape.empty(), "checkpoint '", path_, "': entry '",
              path, "' holds ", describe(stored), ", expected a string");
  Handle type(H5Dget_type(dataset.get()), H5Tclose);
  char* text = nullptr;
  read_values(dataset.get(), type.get(), &text, 1, path_, path);
  std::string value = text ? text : "";
  H5free_memory(text);
  return value;
}

}  // namespace krait
