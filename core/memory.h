#pragma once
// Keeps a long scoring run's memory at its working set. glibc raises its mmap threshold each time a
// large block is freed (up to 32 MiB), after which blocks of a few MiB (a batch of clips, a feature
// tensor) come from the heap, where small long-lived allocations between them keep the freed space from
// being reused or returned: streaming 1024 clips of 16 x 64 x 64 through FVD peaked at 2 GB this way
// against 0.2 GB with the threshold pinned (benchmarks/bench_metric_memory). Pinning it at glibc's
// default (128 KiB) serves every block above it with mmap and returns it to the system when freed.
#include <malloc.h>

namespace vdlab {

inline void pin_mmap_threshold() { mallopt(M_MMAP_THRESHOLD, 128 * 1024); }

}  // namespace vdlab
