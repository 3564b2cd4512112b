// data/hdf5_process.h — skip_hdf5_cleanup_at_exit, for the main of every program that writes HDF5
// (krait, krait-prepare), called before its first HDF5 call: HDF5 then runs no clean-up of its own at
// exit. HDF5 1.10.8 (Debian 12's) keeps a file's id registered when H5Fclose fails flushing (a full
// disk) after freeing the file, and its exit-time clean-up then crashes in H5F__close_cb: the error was
// reported, then the process segfaulted. Every handle here is closed by RAII before exit anyway.
#pragma once

namespace krait::data {

void skip_hdf5_cleanup_at_exit();

}  // namespace krait::data
