#!/usr/bin/env bash
# e2e: `sdn data info` on the installed Fashion-MNIST (scripts/setup installs
# it), JSON counts and histograms, and a bad option giving an error line.
set -euo pipefail
sdn="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$sdn" data info --dataset fashion-mnist --json >"$tmp/default.json"
"$sdn" data info --dataset fashion-mnist --val-size 0 --json >"$tmp/noval.json"
python3 - "$tmp/default.json" "$tmp/noval.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["dataset"] == "fashion-mnist", d["dataset"]
s = d["splits"]
assert [s[k]["count"] for k in ("train", "val", "test")] == [55000, 5000, 10000], s
assert s["test"]["label_counts"] == [1000] * 10, s["test"]["label_counts"]
assert s["train"]["shape"] == [1, 32, 32] and s["train"]["classes"] == 10
assert sum(s["val"]["label_counts"]) == 5000
n = json.load(open(sys.argv[2]))["splits"]
assert set(n) == {"train", "test"}, set(n)
assert n["train"]["label_counts"] == [6000] * 10, n["train"]["label_counts"]
assert abs(n["train"]["mean"][0] - 0.2190) < 5e-4, n["train"]["mean"]
PY

# A bad option value: one error line naming it, non-zero exit.
if "$sdn" data info --dataset fashion-mnist --val-size 60000 2>"$tmp/err"; then
  echo "expected a non-zero exit for --val-size 60000" >&2
  exit 1
fi
grep -q '^error: .*--val-size' "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
if "$sdn" data info --dataset no-such-set 2>"$tmp/err"; then
  echo "expected a non-zero exit for an unknown data set" >&2
  exit 1
fi
grep -q '^error: .*no-such-set' "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
echo "data_info: ok"
