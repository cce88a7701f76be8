#!/usr/bin/env bash
# Under an address-space limit (ulimit -v) every command either works or
# stops with one `error:` line and a non-zero status: never a hang (OpenBLAS
# retries failed allocations forever, thread pools wait for threads that
# could not start) and never an abort (LibTorch's start-up throws
# std::bad_alloc before main). Below what the dynamic loader needs to map
# LibTorch, the loader itself refuses (status 127) before sdn runs.
set -euo pipefail
sdn="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMP_WAIT_POLICY=PASSIVE
data=(--dataset synthetic --synthetic-train 256 --synthetic-test 64
      --synthetic-classes 4 --val-size 64)
"$sdn" --threads 1 train --arch resnet56 "${data[@]}" --mode sdn --epochs 1 \
  --batch-size 64 --out "$dir/ok" > /dev/null 2>&1
commands=(
  "version"
  "--threads 2 train --arch resnet56 ${data[*]} --mode sdn --epochs 1 --batch-size 128 --out $dir/run"
  "--threads 2 eval --checkpoint $dir/ok/last --out $dir/trace"
)
for limit_mib in 300 650 800 1000 1500 2500; do
  for command in "${commands[@]}"; do
    rm -rf "$dir/run" "$dir/trace"
    status=0
    # shellcheck disable=SC2086  # the command's words are meant to split
    (ulimit -v $((limit_mib * 1024)); timeout -s KILL 300 "$sdn" $command \
      > /dev/null 2> "$dir/err") 2> /dev/null || status=$?
    what="${command%% --arch*}"
    case "$status" in
      0) ;;
      1) tail -n 1 "$dir/err" | grep -q '^error: ' || {
           echo "$limit_mib MiB, $what: status 1 without an error line:" >&2
           cat "$dir/err" >&2; exit 1; } ;;
      127) grep -q 'error while loading shared libraries' "$dir/err" || {
           echo "$limit_mib MiB, $what: status 127:" >&2; cat "$dir/err" >&2
           exit 1; } ;;
      137) echo "$limit_mib MiB, $what: hung (killed after 300 s)" >&2
           exit 1 ;;
      *) echo "$limit_mib MiB, $what: status $status:" >&2
         cat "$dir/err" >&2; exit 1 ;;
    esac
    echo "$limit_mib MiB, ${what:0:20}: status $status $(tail -n 1 "$dir/err" | cut -c1-90)"
  done
done
