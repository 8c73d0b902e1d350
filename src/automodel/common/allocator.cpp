#include "automodel/common/allocator.h"

#include <climits>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace automodel {

void keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  for (const char* name : {"MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"})
    if (std::getenv(name) != nullptr) return;
  if (const char* tunables = std::getenv("GLIBC_TUNABLES"); tunables != nullptr && std::strstr(tunables, "malloc"))
    return;
  mallopt(M_MMAP_MAX, 0);               // large blocks from the heap, not a fresh mapping each
  mallopt(M_TRIM_THRESHOLD, INT_MAX);   // and freed heap memory kept rather than returned
#endif
}

}  // namespace automodel
