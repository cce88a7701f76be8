# Sourced by the e2e scripts: `expect_error PATTERN COMMAND...` runs the
# command and fails the script unless it exits non-zero with an
# `error: ...PATTERN` line on stderr (grep pattern). Uses "$dir" for its
# output files.
expect_error() {
  local pattern="$1"; shift
  if "$@" > "$dir/out" 2> "$dir/err"; then
    echo "expected failure: $*"; exit 1
  fi
  grep -q "^error: .*$pattern" "$dir/err" || {
    echo "missing '$pattern' in:"; cat "$dir/err"; exit 1; }
}
