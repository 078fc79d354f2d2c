// vdlab: the command-line entry point. Everything lives in runners/cli.cpp so tests can call it.
#include <cstdlib>

#include "core/memory.h"
#include "runners/cli.h"

int main(int argc, char** argv) {
  // No two writers ever share a vdlab file (one file per cell, written then renamed), so HDF5's file
  // locks only get in the way, and on network file systems they fail outright. A user's setting wins.
  setenv("HDF5_USE_FILE_LOCKING", "FALSE", 0);
  // vdlab writes and reads only HDF5's built-in filters; a file naming another filter must not make the
  // library load a shared object from its plugin folder ("::" turns plugin loading off). A user's setting wins.
  setenv("HDF5_PLUGIN_PRELOAD", "::", 0);
  vdlab::pin_mmap_threshold();  // streamed metrics: peak memory bounded by the batch (core/memory.h)
  return vdlab::cli_main(argc, argv);
}
