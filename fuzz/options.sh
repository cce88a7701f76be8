# libFuzzer options shared by fuzz/replay and scripts/fuzz (sourced). An
# input that takes longer than -timeout seconds, grows the process past
# -rss_limit_mb or asks for more than -malloc_limit_mb in one allocation is
# a finding, like a crash or a sanitizer report. The sizes are far above what
# any seed needs (a few MB).
# shellcheck shell=bash
SDN_FUZZ_OPTIONS=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048)
