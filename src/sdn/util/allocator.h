#pragma once

#include <optional>

namespace sdn {

/// Tunes glibc's malloc for tensor work: blocks up to 32 MiB come from the
/// heap instead of fresh mmap()s, and freed memory stays in the process.
/// Without it every large activation is a new mapping whose pages the kernel
/// faults in and zeroes again on each forward pass. Process-wide; a no-op
/// without glibc. Returns whether the settings took effect.
bool keep_freed_memory();

/// The process's mapped address space now (VmSize of /proc/self/status), in
/// bytes; 0 when it cannot be read. Safe before any library initialiser.
unsigned long long mapped_bytes();

/// Address space left under RLIMIT_AS (ulimit -v), in bytes, or nothing when
/// there is no limit or the mapped size cannot be read.
std::optional<unsigned long long> address_space_left();

} // namespace sdn
