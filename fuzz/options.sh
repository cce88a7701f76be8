# libFuzzer options shared by fuzz/replay and scripts/fuzz (sourced). An
# input that takes longer than -timeout seconds, grows the process past
# -rss_limit_mb or asks for more than -malloc_limit_mb in one allocation is
# a finding, like a crash or a sanitizer report. The sizes are far above what
# any seed needs (a few MB).
# shellcheck shell=bash
SDN_FUZZ_OPTIONS=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048)
# Stack traces for UBSan's reports, and file and line in every report
# (llvm-symbolizer, Debian's llvm-14), unless already chosen.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
symbolizer=/usr/lib/llvm-14/bin/llvm-symbolizer
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && [ -x "$symbolizer" ]; then
  export ASAN_SYMBOLIZER_PATH="$symbolizer" UBSAN_SYMBOLIZER_PATH="$symbolizer"
fi
unset symbolizer

# A folder for the targets' files (fuzz/fuzz_support.h), in memory when
# possible, removed by the caller (sdn_fuzz_cleanup) even after a crash.
SDN_FUZZ_TMP="$(mktemp -d /dev/shm/sdn_fuzz.XXXXXX 2>/dev/null || mktemp -d)"
export SDN_FUZZ_TMP
sdn_fuzz_cleanup() { rm -rf "$SDN_FUZZ_TMP"; }
