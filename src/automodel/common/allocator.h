// Process-wide heap settings for training: freed tensor memory kept for the next step.
#pragma once

namespace automodel {

// Training frees and allocates the same large tensors every step. glibc maps each block of
// 32 MiB or more freshly and unmaps it on free, so every step page-faults those pages in again
// (a third of a fine-grained MoE layer's time on a 2-core machine). This serves large blocks from
// the heap and keeps freed memory for reuse; the peak is what the step needs either way, and
// the process keeps it until exit. Call it once loading is done, before the steps (loading
// into fresh heap memory is slower: 1.26 GB trainable copy 0.12 -> 0.39 s here); a no-op when
// the user tuned glibc's malloc (MALLOC_*_ variables, GLIBC_TUNABLES) or on another C library.
void keep_freed_memory_for_reuse();

}  // namespace automodel
