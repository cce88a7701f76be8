#pragma once

namespace sdn {

/// Tunes glibc's malloc for tensor work: blocks up to 32 MiB come from the
/// heap instead of fresh mmap()s, and freed memory stays in the process.
/// Without it every large activation is a new mapping whose pages the kernel
/// faults in and zeroes again on each forward pass. Process-wide; a no-op
/// without glibc. Returns whether the settings took effect.
bool keep_freed_memory();

} // namespace sdn
