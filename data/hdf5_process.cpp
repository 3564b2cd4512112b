// data/hdf5_process.cpp — skip_hdf5_cleanup_at_exit (see hdf5_process.h).
#include "data/hdf5_process.h"

#include <hdf5.h>

namespace krait::data {

void skip_hdf5_cleanup_at_exit() { H5dont_atexit(); }

}  // namespace krait::data
