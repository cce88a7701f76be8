# Sanitizer and fuzzing builds (docs/reliability.md). The flags apply to
# every target of the build folder, so the libraries, the tests and the fuzz
# targets are instrumented alike; LibTorch and the other Debian libraries are
# not (they are prebuilt).
#
#   SDN_SANITIZE=ON   AddressSanitizer + UndefinedBehaviorSanitizer; any
#                     undefined behaviour aborts (no recovery)
#   SDN_BUILD_FUZZ=ON the libFuzzer targets of fuzz/ (clang only); the code
#                     is compiled with coverage for the fuzzer

if(SDN_SANITIZE)
  set(sdn_sanitize_flags
    -fsanitize=address,undefined
    -fno-sanitize-recover=undefined
    -fno-omit-frame-pointer)
  add_compile_options(${sdn_sanitize_flags})
  add_link_options(${sdn_sanitize_flags})
  # Line tables only: readable reports at a fraction of full debug info's
  # compile and link time. -O1 keeps the instrumented code fast enough for
  # the tests and quicker to compile than -O3.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    add_compile_options(-O1 -gline-tables-only)
  else()
    add_compile_options(-O1 -g1)
  endif()
endif()

if(SDN_BUILD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "SDN_BUILD_FUZZ needs clang for libFuzzer: configure "
      "a separate folder with -DCMAKE_CXX_COMPILER=clang++-14 (scripts/fuzz)")
  endif()
  if(NOT SDN_SANITIZE)
    message(FATAL_ERROR "SDN_BUILD_FUZZ needs SDN_SANITIZE=ON: a fuzzer "
      "without AddressSanitizer misses most memory errors")
  endif()
  # Coverage for libFuzzer in every object; only the fuzz targets link the
  # fuzzer itself (-fsanitize=fuzzer, fuzz/CMakeLists.txt).
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# clang stamps its precompiled headers with the time they were built, which
# makes every object that uses one a ccache miss; without the stamp a fresh
# folder (CI, a second worktree) reuses the cache as with gcc.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  add_compile_options("SHELL:-Xclang -fno-pch-timestamp")
endif()

# The environment of every test in a sanitizer build: UBSan's reports with
# a stack trace (any report stops the test: -fno-sanitize-recover, and
# AddressSanitizer always stops). SDN_SANITIZER_ENV is a list for ctest's
# ENVIRONMENT property (tests/CMakeLists.txt, fuzz/CMakeLists.txt).
set(SDN_SANITIZER_ENV)
if(SDN_SANITIZE)
  set(SDN_SANITIZER_ENV "UBSAN_OPTIONS=print_stacktrace=1")
  # File and line in the reports (Debian: llvm-14).
  find_program(SDN_LLVM_SYMBOLIZER llvm-symbolizer
    HINTS /usr/lib/llvm-14/bin)
  if(SDN_LLVM_SYMBOLIZER)
    list(APPEND SDN_SANITIZER_ENV
      "ASAN_SYMBOLIZER_PATH=${SDN_LLVM_SYMBOLIZER}"
      "UBSAN_SYMBOLIZER_PATH=${SDN_LLVM_SYMBOLIZER}")
  endif()
endif()
