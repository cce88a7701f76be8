#!/usr/bin/env bash
# Training killed with SIGKILL at random moments, then resumed (and killed
# again) until it finishes, ends with the same `last` and `best` weights as
# an uninterrupted run, no checkpoint swap left half done, and a
# metrics.jsonl equal to the uninterrupted one's epochs. The kill moments
# come from a seeded generator (SDN_KILL_SEED, default 1) and are printed,
# so a failure can be replayed.
set -euo pipefail
sdn="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMP_WAIT_POLICY=PASSIVE
trials="${SDN_KILL_TRIALS:-6}"
seed="${SDN_KILL_SEED:-1}"
# A run whose best validation accuracy improves at epochs 1 and 4, so that
# `best` is replaced during the run, not only written once.
train=("$sdn" --threads 1 train --arch resnet56 --dataset synthetic
       --synthetic-train 128 --synthetic-test 32 --synthetic-classes 4
       --synthetic-channels 1 --val-size 64 --mode sdn --epochs 5
       --batch-size 32 --lr 0.01)

# "LAST_CRC BEST_CRC BEST_EPOCH EPOCHS_IN_METRICS" of a finished run.
summary() {
  /usr/bin/python3 - "$1" <<'PY'
import json, sys
d = sys.argv[1]
last = json.load(open(f"{d}/last/meta.json"))
best = json.load(open(f"{d}/best/meta.json"))
epochs = [json.loads(l)["epoch"] for l in open(f"{d}/metrics.jsonl")]
print(last["files"]["model.pt"]["crc32"], best["files"]["model.pt"]["crc32"],
      best["epoch"], ",".join(map(str, epochs)))
PY
}

finished() {
  /usr/bin/python3 - "$1" <<'PY'
import json, os, sys
d = sys.argv[1]
for name in ("last", "last.new", "last.old"):
    path = f"{d}/{name}/meta.json"
    if os.path.exists(path) and json.load(open(path))["epoch"] == 5:
        sys.exit(0)
sys.exit(1)
PY
}

start=$(date +%s.%N)
"${train[@]}" --out "$dir/ref" > /dev/null 2>&1
seconds=$(echo "$(date +%s.%N) - $start" | bc)
expected=$(summary "$dir/ref")
echo "uninterrupted: $expected (${seconds} s)"

# Kill moments: uniform over the uninterrupted run's time.
mapfile -t moments < <(/usr/bin/python3 - "$seed" "$seconds" "$trials" <<'PY'
import random, sys
rng = random.Random(int(sys.argv[1]))
for _ in range(int(sys.argv[3]) * 8):
    print(f"{rng.uniform(0.3, float(sys.argv[2]) * 1.1):.2f}")
PY
)

m=0
kills=0
for trial in $(seq 1 "$trials"); do
  run="$dir/run$trial"
  starts=0
  while ! finished "$run"; do
    t=${moments[$((m % ${#moments[@]}))]}
    m=$((m + 1))
    starts=$((starts + 1))
    if [ -f "$run/last/meta.json" ] || [ -f "$run/last.new/meta.json" ] ||
       [ -f "$run/last.old/meta.json" ]; then
      cmd=("$sdn" --threads 1 train --resume "$run")
    else
      cmd=("${train[@]}" --out "$run")
    fi
    status=0
    # (...) 2> /dev/null: bash's own "Killed" notice stays out of the log.
    (timeout -s KILL "$t" "${cmd[@]}" > /dev/null 2> "$dir/err") \
      2> /dev/null || status=$?
    if [ "$status" = 137 ]; then
      kills=$((kills + 1))
    elif [ "$status" != 0 ]; then
      echo "trial $trial: '${cmd[*]}' failed with status $status:" >&2
      cat "$dir/err" >&2
      exit 1
    fi
    if [ "$starts" -gt 40 ]; then
      echo "trial $trial: no progress after 40 starts" >&2
      exit 1
    fi
  done
  # A kill after the last epoch's save can leave a swap unfinished: one more
  # resume completes it and trains nothing.
  "$sdn" --threads 1 train --resume "$run" > /dev/null 2> "$dir/err"
  grep -q "nothing to train" "$dir/err"
  for leftover in last.new last.old best.new best.old; do
    if [ -e "$run/$leftover" ]; then
      echo "trial $trial: $leftover left behind" >&2
      exit 1
    fi
  done
  got=$(summary "$run")
  echo "trial $trial: $got after $starts starts"
  if [ "$got" != "$expected" ]; then
    echo "trial $trial: differs from the uninterrupted run ($expected)" >&2
    echo "replay: SDN_KILL_SEED=$seed SDN_KILL_TRIALS=$trials" >&2
    exit 1
  fi
done
echo "kills: $kills over $trials trials, every run equal to the uninterrupted one"
