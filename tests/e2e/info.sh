#!/usr/bin/env bash
# e2e: `sdn info` prints the per-exit cost table as JSON and rejects a bad
# --arch with an `error:` line and a non-zero exit.
set -euo pipefail
sdn="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$sdn" info --arch resnet56 --dataset cifar10 --json >"$tmp/info.json"
python3 - "$tmp/info.json" <<'PY'
import json, sys
info = json.load(open(sys.argv[1]))
assert info["arch"] == "resnet56", info["arch"]
assert info["dataset"] == "cifar10", info["dataset"]
assert info["counting"] == "paper", info["counting"]
assert abs(info["cnn_cost"] / 1e9 - 0.253) < 0.001, info["cnn_cost"]
exits = info["exits"]
assert len(exits) == 7, len(exits)
expected = [15.4, 30.5, 44.7, 59.7, 73.8, 88.8]
for e, pct in zip(exits, expected):
    assert abs(100 * e["relative_cost"] - pct) < 0.2, (e, pct)
    assert e["cost"] > 0 and e["params"] > 0
assert exits[0]["params"] == 2571, exits[0]
assert abs(exits[-1]["relative_cost"] - 1.0004) < 0.0002, exits[-1]
costs = [e["cost"] for e in exits]
assert costs == sorted(costs), costs
PY

"$sdn" info --arch resnet56 --dataset tiny-imagenet --counting exact >"$tmp/table.txt"
grep -q "GMACs" "$tmp/table.txt"
grep -q "^final" "$tmp/table.txt"

if "$sdn" info --arch resnet57 --dataset cifar10 >"$tmp/out.txt" 2>"$tmp/err.txt"; then
  echo "bad --arch was accepted" >&2
  exit 1
fi
grep -q "^error: .*resnet57" "$tmp/err.txt"
grep -q "resnet56" "$tmp/err.txt"
echo "ok"
