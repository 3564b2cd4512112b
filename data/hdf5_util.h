// data/hdf5_util.h — small helpers for the HDF5 C API shared by the token reader and the
// checkpoint files: silencing HDF5's own error printing, closing handles on scope exit, the
// innermost error message for our own errors, and the check that a dataset is stored in full.
#pragma once

#include <hdf5.h>

#include <filesystem>
#include <string>
#include <utility>

#include "common/error.h"

namespace krait::hdf5 {

// HDF5 prints its error stack to stderr by default; library code must not print, so each entry
// point turns that off while it runs and restores the caller's handler afterwards.
class QuietHdf5Errors {
 public:
  QuietHdf5Errors() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietHdf5Errors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  QuietHdf5Errors(const QuietHdf5Errors&) = delete;
  QuietHdf5Errors& operator=(const QuietHdf5Errors&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// Closes an HDF5 handle when it goes out of scope.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }
  hid_t release() { return std::exchange(id_, -1); }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// The innermost message on HDF5's error stack, e.g. "file signature not found".
inline std::string hdf5_reason() {
  std::string reason;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* err, void* out) -> herr_t {
        if (n == 0 && err->desc) *static_cast<std::string*>(out) = err->desc;
        return 0;
      },
      &reason);
  return reason.empty() ? "unknown HDF5 error" : reason;
}

// Throws unless every element of the dataset is stored: HDF5 reads unwritten elements as the fill
// value, so a dataset declared far larger than its file (2^31 ids in a 2 KB file) would make a reader
// allocate, and scan, what was never written. Unfiltered data must also take at least elements x
// element-size bytes: HDF5 1.10.8 accepts a compact dataset whose byte count wrapped around 64 bits
// ([2^62, 1] f64 in 0 bytes) and then reads from a null buffer.
inline void check_fully_stored(hid_t dataset, const std::string& what) {
  const Handle space(H5Dget_space(dataset), H5Sclose);
  const hssize_t elements = H5Sget_simple_extent_npoints(space.get());
  KRAIT_CHECK(elements >= 0, what, ": cannot read its shape: ", hdf5_reason());
  if (elements == 0) return;
  H5D_space_status_t status = H5D_SPACE_STATUS_ERROR;
  KRAIT_CHECK(H5Dget_space_status(dataset, &status) >= 0, what, ": cannot read its storage: ", hdf5_reason());
  KRAIT_CHECK(status == H5D_SPACE_STATUS_ALLOCATED, what, " declares ", elements, " elements but the file stores ",
              status == H5D_SPACE_STATUS_NOT_ALLOCATED ? "none" : "only some", " of them (truncated or corrupt?)");
  const Handle type(H5Dget_type(dataset), H5Tclose);
  const Handle properties(H5Dget_create_plist(dataset), H5Pclose);
  const size_t element_bytes = H5Tget_size(type.get());
  const hsize_t stored_bytes = H5Dget_storage_size(dataset);
  KRAIT_CHECK(H5Pget_nfilters(properties.get()) > 0 || element_bytes == 0 ||
                  stored_bytes / element_bytes >= static_cast<hsize_t>(elements),
              what, " declares ", elements, " elements of ", element_bytes, " bytes but the file stores ", stored_bytes,
              " bytes of them (truncated or corrupt?)");
}

// Writes a file the way every writer here does: write(path + ".tmp") (which closes its handles
// before returning), then rename it over path, so a reader never sees half a file; the temporary is
// removed on any failure.
template <typename Write>
void write_then_rename(const std::string& path, Write&& write) {
  QuietHdf5Errors quiet;
  const std::string temp = path + ".tmp";
  try {
    write(temp);
  } catch (...) {
    std::filesystem::remove(temp);
    throw;
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::filesystem::remove(temp);
    KRAIT_FAIL("cannot rename ", temp, " to ", path, ": ", ec.message());
  }
}

}  // namespace krait::hdf5
