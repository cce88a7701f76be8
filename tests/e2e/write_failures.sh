#!/usr/bin/env bash
# A write that fails (a full disk, a file-size limit) is an `error:` naming
# the file, a non-zero status, and the previous good files stay intact:
# stdout to /dev/full, checkpoints and traces under `ulimit -f` (writes past
# the limit fail with EFBIG; sdn ignores SIGXFSZ so they are errors, not a
# kill).
set -euo pipefail
sdn="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMP_WAIT_POLICY=PASSIVE
data=(--dataset synthetic --synthetic-train 64 --synthetic-test 32
      --synthetic-classes 4 --synthetic-channels 1 --val-size 32)
expect_error() { # expect_error WHAT PATTERN: last status 1, pattern in err
  if [ "$status" != 1 ] || [ "$(grep -c "^error:" "$dir/err")" != 1 ] ||
     ! grep -q "$2" "$dir/err"; then
    echo "$1: status $status, expected 1 and '$2' in:" >&2
    cat "$dir/err" >&2
    exit 1
  fi
  echo "$1: $(grep "^error:" "$dir/err")"
}

"$sdn" --threads 1 train --arch resnet56 "${data[@]}" --mode sdn --epochs 1 \
  --batch-size 32 --out "$dir/run" > /dev/null 2>&1
"$sdn" --threads 1 eval --checkpoint "$dir/run/last" --out "$dir/trace" \
  2> /dev/null
good_model=$(md5sum < "$dir/run/last/model.pt")
good_trace=$(md5sum < "$dir/trace/probs.npy")

# Results on stdout: a full device is an error, not a cut file.
status=0
"$sdn" report --trace "$dir/trace" --json > /dev/full 2> "$dir/err" || status=$?
expect_error "report --json > /dev/full" "^error: cannot write the output to standard output"
status=0
"$sdn" data info --dataset synthetic --synthetic-train 64 --synthetic-test 32 \
  --val-size 0 > /dev/full 2> "$dir/err" || status=$?
expect_error "data info > /dev/full" "^error: cannot write the output"

# A checkpoint that cannot be written (model.pt is about 3.5 MiB; the limit
# is 1 MiB): the error names the file, `last` keeps epoch 1.
status=0
(ulimit -f 1024; "$sdn" --threads 1 train --resume "$dir/run" --epochs 2 \
  > /dev/null 2> "$dir/err") || status=$?
expect_error "checkpoint past ulimit -f" "^error: cannot write $dir/run/.*model.pt: File too large"
[ "$(md5sum < "$dir/run/last/model.pt")" = "$good_model" ]
grep -q '"epoch": 1,' "$dir/run/last/meta.json"
for leftover in "$dir"/run/*.new "$dir"/run/*/*.tmp.*; do
  [ ! -e "$leftover" ] || { echo "left behind: $leftover" >&2; exit 1; }
done
# ... and the run still resumes once there is room.
"$sdn" --threads 1 train --resume "$dir/run" --epochs 2 > /dev/null 2>&1
grep -q '"epoch": 2,' "$dir/run/last/meta.json"

# A trace that cannot be written: the previous trace is untouched.
status=0
(ulimit -f 2; "$sdn" --threads 1 eval --checkpoint "$dir/run/last" \
  --out "$dir/trace" > /dev/null 2> "$dir/err") || status=$?
expect_error "trace past ulimit -f" "^error: cannot write $dir/trace.tmp.[0-9]*/probs.npy: File too large"
[ "$(md5sum < "$dir/trace/probs.npy")" = "$good_trace" ]
if ls -d "$dir"/trace.tmp.* > /dev/null 2>&1; then
  echo "a temporary trace folder was left behind" >&2
  exit 1
fi
echo "every failed write was an error and left the previous files intact"
