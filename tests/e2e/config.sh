#!/usr/bin/env bash
# `--config FILE` for `sdn train` and `sdn paper`: the TOML's keys apply, the
# command line wins over them, and bad files or keys give `error:` naming
# the file and the key. (CLI11 2.1 ignores a subcommand's config file on its
# own; src/sdn/app/config_file.cpp expands it.)
set -euo pipefail
sdn="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMP_WAIT_POLICY=PASSIVE

cat > "$dir/train.toml" <<'TOML'
# every kind of value: string, integer, float, array, flag
dataset = "synthetic"
synthetic-train = 64
synthetic-test = 32
val-size = 16
batch-size = 16
epochs = 1
lr = 0.5
milestones = [1, 2]
no-augment = true
TOML
"$sdn" --threads 1 train --config "$dir/train.toml" --lr 0.25 \
  --out "$dir/run" > /dev/null 2>&1
/usr/bin/python3 - "$dir/run/last/meta.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["config"]
assert c["data"]["dataset"] == "synthetic", c
assert c["data"]["synthetic_train"] == 64 and c["data"]["val_size"] == 16, c
assert c["batch_size"] == 16 and c["epochs"] == 1, c
assert c["lr"] == 0.25, c             # the command line wins
assert c["milestones"] == [1, 2], c
assert c["augment"] is False, c
PY

expect_error() {  # expect_error PATTERN COMMAND...
  local pattern=$1; shift
  local out rc=0
  out=$("$@" 2>&1 > /dev/null) || rc=$?
  if [ "$rc" -eq 0 ] || ! grep -q "^error: .*$pattern" <<< "$out"; then
    echo "expected 'error: ...$pattern' and a non-zero exit from: $*"
    echo "got (rc $rc): $out"
    exit 1
  fi
}
printf 'foo = 3\n' > "$dir/unknown.toml"
expect_error "unknown.toml: unknown key 'foo' for .sdn paper." \
  "$sdn" paper --config "$dir/unknown.toml" --out "$dir/p"
printf 'val-size = -5\n' > "$dir/negative.toml"
expect_error "val-size" "$sdn" paper --config "$dir/negative.toml" --out "$dir/p"
printf '[train]\nlr = 3\n' > "$dir/section.toml"
expect_error "section.toml: sections" \
  "$sdn" train --config "$dir/section.toml" --out "$dir/t"
printf 'no-augment = maybe\n' > "$dir/flag.toml"
expect_error "flag.toml: key 'no-augment' is a flag" \
  "$sdn" train --config "$dir/flag.toml" --out "$dir/t"
expect_error "missing.toml: cannot open file (No such file or directory)" \
  "$sdn" train --config "$dir/missing.toml" --out "$dir/t"
test ! -e "$dir/p" && test ! -e "$dir/t"
echo ok
