#!/usr/bin/env bash
# sdn serve on loopback, driven with curl: in every mode the answers for the
# test split's PNGs equal `sdn exit`'s (stage and batch: per image, the
# exits and classes the trace simulation of the same policy gives, which
# `sdn exit` equals, and its exit counts and accuracy; cnn: the final exit's
# argmax); an .npy of the same images answers the same; bad bodies get
# 400/413/415, a full queue 503, a missing key 401; /metrics counts what was
# sent; SIGTERM answers what is queued and exits 0. The server binds port 0
# and the script reads the port it prints.
set -euo pipefail
sdn="$1"
dir=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2> /dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
export OMP_WAIT_POLICY=PASSIVE
source "$(dirname "$0")/expect_error.sh"

# Three classes of 32x32 greyscale PNGs: a faint square in one place on
# noise (faint, and a small learning rate below: the ICs stay unsure
# enough that a threshold separates the images).
/usr/bin/python3 - "$dir/imgs" <<'PY'
import os, sys
import numpy as np
from PIL import Image
root = sys.argv[1]
rng = np.random.default_rng(11)
for split, n in (("train", 16), ("val", 4), ("test", 8)):
    for c, name in enumerate(["circle", "square", "star"]):
        d = os.path.join(root, split, name)
        os.makedirs(d)
        for i in range(n):
            a = rng.integers(0, 160, size=(32, 32), dtype=np.uint8)
            x, y = (0, 0) if c == 0 else (16, 0) if c == 1 else (8, 16)
            a[y:y + 16, x:x + 16] += np.uint8(20 + rng.integers(0, 40))
            Image.fromarray(a, mode="L").save(os.path.join(d, f"{i:02d}.png"))
PY
imgs="$dir/imgs"
"$sdn" --threads 1 train --arch resnet56 --dataset folder --data-dir "$imgs" \
  --channels 1 --mode sdn --epochs 1 --batch-size 16 --lr 0.002 \
  --out "$dir/sdn" > /dev/null 2>&1
ckpt="$dir/sdn/last"
"$sdn" --threads 1 eval --checkpoint "$ckpt" --split test --out "$dir/trace" \
  2> /dev/null
# max-prob's threshold: in the widest gap between the ICs' confidences on
# the test trace (so float rounding between runs cannot flip an exit),
# between the 20th and 80th percentile of each image's best IC confidence
# (so some images exit early and some do not).
q=$(/usr/bin/python3 - "$dir/trace" <<'PY'
import numpy as np, sys
p = np.load(f"{sys.argv[1]}/probs.npy")
ics = p[:, :-1].max(-1)
best = np.sort(ics.max(-1))
lo, hi = best[len(best) // 5], best[4 * len(best) // 5]
c = np.unique(np.concatenate([[lo, hi], ics.ravel()]))
c = c[(c >= lo) & (c <= hi)]
i = int(np.argmax(np.diff(c)))
assert c[i + 1] - c[i] > 1e-5, ("no gap between the confidences", c)
print(f"{(float(c[i]) + float(c[i + 1])) / 2:.7f}")
PY
)
"$sdn" --threads 1 exit --checkpoint "$ckpt" --threshold "$q" --json \
  > "$dir/exit.json" 2> /dev/null

# start_server NAME ARGS...: sdn serve on a free port (port 0, the port read
# from its "listening" line) in the background; sets pid and url.
start_server() {
  local name=$1; shift
  "$sdn" --threads 1 serve --checkpoint "$ckpt" --port 0 "$@" \
    > "$dir/$name.out" 2> "$dir/$name.err" &
  pid=$!
  local port=""
  for _ in $(seq 1200); do
    port=$(sed -n 's|^sdn serve: listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' \
      "$dir/$name.out")
    if [ -n "$port" ]; then break; fi
    if ! kill -0 "$pid" 2> /dev/null; then
      echo "sdn serve $* exited:"; cat "$dir/$name.err"; exit 1
    fi
    sleep 0.1
  done
  [ -n "$port" ] || { echo "sdn serve $* did not start"; exit 1; }
  url="http://127.0.0.1:$port"
}
# stop_server: SIGTERM; the server must exit 0.
stop_server() {
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  pid=""
  [ "$rc" -eq 0 ] || { echo "sdn serve exited $rc after SIGTERM"; exit 1; }
}
# classify FILE TYPE [CURL ARGS...]: the response body; the status code in
# $dir/status.
classify() {
  local file=$1 type=$2; shift 2
  curl -sS -o "$dir/body" -w '%{http_code}' -H "Content-Type: $type" \
    --data-binary "@$file" "$@" "$url/v1/classify" > "$dir/status"
  cat "$dir/body"
}

# The test images in the data set's order (classes, then paths, sorted),
# and the same pixels as one .npy, normalised as the checkpoint's data set.
find "$imgs/test" -name '*.png' | LC_ALL=C sort > "$dir/test.txt"
/usr/bin/python3 - "$dir" "$ckpt/meta.json" <<'PY'
import json, sys
import numpy as np
from PIL import Image
d, meta = sys.argv[1], json.load(open(sys.argv[2]))
data = meta["config"]["data"]
files = open(f"{d}/test.txt").read().split()
x = np.stack([np.asarray(Image.open(f)) for f in files])[:, None]
inv = np.float32(1) / np.float32(data["std"][0])
a = np.float32(1) / np.float32(255) * inv
b = -np.float32(data["mean"][0]) * inv
np.save(f"{d}/test.npy", (x.astype(np.float32) * a + b).astype(np.float32))
PY
n=$(wc -l < "$dir/test.txt")

for mode in stage batch cnn; do
  policy=(--policy max-prob --param "$q")
  if [ "$mode" = cnn ]; then policy=(); fi
  start_server "$mode" --mode "$mode" "${policy[@]}" --max-batch 5 \
    --max-wait-ms 1
  : > "$dir/$mode.jsonl"
  while read -r f; do
    classify "$f" image/png >> "$dir/$mode.jsonl"
    [ "$(cat "$dir/status")" = 200 ] || { echo "$mode $f: $(cat "$dir/body")"; exit 1; }
  done < "$dir/test.txt"
  classify "$dir/test.npy" application/x-npy > "$dir/$mode-npy.json"
  [ "$(cat "$dir/status")" = 200 ] || { echo "$mode npy: $(cat "$dir/body")"; exit 1; }
  curl -sS "$url/metrics" > "$dir/$mode.metrics"
  curl -sS "$url/healthz" > "$dir/$mode.health"
  stop_server
done
/usr/bin/python3 - "$dir" "$q" "$n" <<'PY'
import json, re, sys
import numpy as np
d, q, n = sys.argv[1], np.float32(sys.argv[2]), int(sys.argv[3])
p = np.load(f"{d}/trace/probs.npy")
labels = np.load(f"{d}/trace/labels.npy")
N, E, K = p.shape
assert N == n
# max-prob on the trace, most-confident rule: sdn exit's decisions.
conf, pred = p.max(-1), p.argmax(-1)
exits, classes = [], []
for i in range(N):
    e = next((e for e in range(E - 1) if conf[i, e] >= q), E - 1)
    exits.append(e + 1)
    classes.append(int(pred[i, e] if e < E - 1 else pred[i, int(np.argmax(conf[i]))]))
early = sum(e < E for e in exits)
assert 0 < early < N, (early, N)  # q lets some go early, not all
real = json.load(open(f"{d}/exit.json"))
names = ["circle", "square", "star"]
for mode in ("stage", "batch", "cnn"):
    answers = [json.loads(l) for l in open(f"{d}/{mode}.jsonl")]
    assert len(answers) == N, (mode, len(answers))
    npy = json.load(open(f"{d}/{mode}-npy.json"))
    assert [(a["class"], a["exit"]) for a in npy] == \
        [(a["class"], a["exit"]) for a in answers], (mode, "npy differs")
    for a in answers:
        assert names[a["class"]] == a["class_name"], a
        assert 0 < a["confidence"] <= 1 and a["latency_ms"] >= 0, a
    got_classes = [a["class"] for a in answers]
    got_exits = [a["exit"] for a in answers]
    if mode == "cnn":
        assert got_exits == [E] * N, got_exits
        assert got_classes == list(pred[:, -1]), (got_classes, pred[:, -1])
        assert all(a["cost"] == 1.0 for a in answers)
    else:
        assert got_exits == exits, (mode, got_exits, exits)
        assert got_classes == classes, (mode, got_classes, classes)
        counts = [got_exits.count(e + 1) for e in range(E)]
        assert counts == real["exit_counts"], (mode, counts, real)
        acc = 100.0 * np.mean(np.array(got_classes) == labels)
        assert abs(acc - real["accuracy"]) < 1e-9, (mode, acc, real)
        cost = np.mean([a["cost"] for a in answers])
        assert abs(cost - real["cost"]) < 1e-9, (mode, cost, real)
    # /metrics: every response and exit counted, batches within --max-batch.
    text = open(f"{d}/{mode}.metrics").read()
    def value(name):
        m = re.search("^" + re.escape(name) + r" (\S+)$", text, re.M)
        assert m, (mode, name)
        return float(m.group(1))
    assert value('sdn_serve_requests_total{path="/v1/classify",code="200"}') == N + 1
    total = sum(value(f'sdn_serve_exits_total{{exit="{e + 1}"}}') for e in range(E))
    assert total == 2 * N, (mode, total)
    stages = E if mode == "stage" else 1
    for s in range(1, stages + 1):
        count = value(f'sdn_serve_batch_rows_count{{stage="{s}"}}')
        assert value(f'sdn_serve_batch_rows_bucket{{stage="{s}",le="5"}}') == count
        assert value(f'sdn_serve_stage_seconds_total{{stage="{s}"}}') >= 0
        assert value(f'sdn_serve_queue_rows{{stage="{s}"}}') == 0
    assert value("sdn_serve_in_flight_images") == 0
    if mode == "stage":
        rows = [value(f'sdn_serve_batch_rows_sum{{stage="{s}"}}') for s in range(1, E + 1)]
        assert rows[0] == 2 * N and all(a >= b for a, b in zip(rows, rows[1:])), rows
    health = json.load(open(f"{d}/{mode}.health"))
    assert health["status"] == "ok" and health["mode"] == mode and health["exits"] == E
PY

# Overload and bad bodies, queue limit 1: a request waits for its batch to
# fill (up to 4 s), the next one gets 503 and Retry-After; SIGTERM answers
# the waiting one at once and exits 0.
start_server limit --policy max-prob --param "$q" --queue-limit 1 \
  --max-batch 8 --max-wait-ms 4000
first=$(head -n 1 "$dir/test.txt")
curl -sS -o "$dir/waited.json" -w '%{http_code}' -H "Content-Type: image/png" \
  --data-binary "@$first" "$url/v1/classify" > "$dir/waited.status" &
client=$!
for _ in $(seq 300); do
  if curl -sS "$url/metrics" | grep -q '^sdn_serve_in_flight_images 1$'; then
    break
  fi
  sleep 0.01
done
curl -sS -D "$dir/headers" -o "$dir/body" -w '%{http_code}' \
  -H "Content-Type: image/png" --data-binary "@$first" \
  "$url/v1/classify" > "$dir/status"
[ "$(cat "$dir/status")" = 503 ] || { echo "expected 503: $(cat "$dir/body")"; exit 1; }
grep -qi '^Retry-After: 1' "$dir/headers"
grep -q '"error":".*--queue-limit 1' "$dir/body"
# More images than the queue could ever hold: 413.
classify "$dir/test.npy" application/x-npy > /dev/null
[ "$(cat "$dir/status")" = 413 ] || { echo "expected 413: $(cat "$dir/body")"; exit 1; }
# Bad bodies: 400 (undecodable, wrong dtype), 415 (another type), 413 (over
# the 64 MiB body limit), each a JSON error.
head -c 100 "$first" > "$dir/cut.png"
classify "$dir/cut.png" image/png > /dev/null
[ "$(cat "$dir/status")" = 400 ] && grep -q '"error":"body: .*PNG' "$dir/body"
printf 'hello' > "$dir/text"
classify "$dir/text" text/plain > /dev/null
[ "$(cat "$dir/status")" = 415 ] && grep -q 'text/plain' "$dir/body"
/usr/bin/python3 -c "import numpy as np, sys; np.save(sys.argv[1], np.zeros((1, 32, 32), np.float64))" "$dir/f64.npy"
classify "$dir/f64.npy" application/x-npy > /dev/null
[ "$(cat "$dir/status")" = 400 ] && grep -q "float32" "$dir/body"
head -c $((65 << 20)) /dev/zero > "$dir/big"
classify "$dir/big" application/x-npy > /dev/null
[ "$(cat "$dir/status")" = 413 ] && grep -q '"error"' "$dir/body"
rm "$dir/big"
stop_server
wait "$client"
[ "$(cat "$dir/waited.status")" = 200 ] || { echo "waiting request: $(cat "$dir/waited.json")"; exit 1; }
grep -q '"exit":' "$dir/waited.json"

# An API key: every request without it (or with another) gets 401.
printf 's3cret\n' > "$dir/key"
start_server key --mode cnn --api-key-file "$dir/key"
[ "$(curl -sS -o /dev/null -w '%{http_code}' "$url/healthz")" = 401 ]
[ "$(curl -sS -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nope' \
  "$url/metrics")" = 401 ]
classify "$first" image/png > /dev/null
[ "$(cat "$dir/status")" = 401 ]
classify "$first" image/png -H 'Authorization: Bearer s3cret' > /dev/null
[ "$(cat "$dir/status")" = 200 ]
# A client that sends half a request and stalls, and one that hangs up
# mid-body, hold at most their own connections: a request beside them is
# answered while the first still stalls.
/usr/bin/python3 - "${url##*:}" <<'PY' &
import socket, sys, time
head = (b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
        b"Authorization: Bearer s3cret\r\nContent-Length: 100000\r\n\r\n\x89PNG")
gone = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
gone.sendall(head)
gone.close()
stalled = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
stalled.sendall(head)
time.sleep(4)
stalled.close()
PY
staller=$!
sleep 0.5
kill -0 "$staller"  # still stalling
classify "$first" image/png -H 'Authorization: Bearer s3cret' > /dev/null
[ "$(cat "$dir/status")" = 200 ]
wait "$staller"
# The scheme's case is free; a 401 closes its connection (its body unread).
[ "$(curl -sS -o /dev/null -w '%{http_code}' -H 'Authorization: bearer s3cret' \
  "$url/healthz")" = 200 ]
curl -sS -D - -o /dev/null "$url/healthz" | grep -qi '^connection: close'
# Ambiguous framing (400, closed), a chunked body over the 64 MiB limit
# (413), a finite .npy value the network would overflow on (400).
/usr/bin/python3 - "${url##*:}" <<'PY'
import socket, sys
def ask(head):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(head)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode("latin-1")
base = (b"POST /v1/classify HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer s3cret\r\nContent-Type: image/png\r\n")
for extra, why in [(b"Content-Length: 4\r\nContent-Length: 9\r\n",
                    "two Content-Length headers"),
                   (b"Content-Length: abc\r\n", "is not a decimal number"),
                   (b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
                    "both Content-Length and Transfer-Encoding")]:
    answer = ask(base + extra + b"\r\nabcd")
    assert answer.startswith("HTTP/1.1 400"), answer
    assert "ambiguous request framing: " in answer and why in answer, answer
    assert "Connection: close" in answer, answer
PY
head -c $((65 << 20)) /dev/zero > "$dir/big"
classify "$dir/big" application/x-npy -H 'Authorization: Bearer s3cret' \
  -H 'Transfer-Encoding: chunked' > /dev/null
[ "$(cat "$dir/status")" = 413 ] && grep -q 'more than --max-body-bytes' "$dir/body"
rm "$dir/big"
/usr/bin/python3 -c "import numpy as np, sys; np.save(sys.argv[1], np.full((1, 32, 32), 3e38, np.float32))" "$dir/huge.npy"
classify "$dir/huge.npy" application/x-npy -H 'Authorization: Bearer s3cret' \
  > /dev/null
[ "$(cat "$dir/status")" = 400 ] && grep -q 'beyond the +-1e6' "$dir/body"
# A second server cannot take the port (no SO_REUSEPORT sharing).
expect_error "--port ${url##*:}: cannot bind" "$sdn" serve \
  --checkpoint "$ckpt" --port "${url##*:}" --mode cnn
# SIGTERM while a client trickles its headers: the exit does not wait for
# it.
/usr/bin/python3 - "${url##*:}" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"y" * 120:
    try:
        s.send(bytes([byte]))
    except OSError:
        break
    time.sleep(0.5)
PY
trickler=$!
sleep 1
start=$(date +%s)
stop_server
# (It trickles for a minute; the bound leaves room for a loaded machine.)
took=$(( $(date +%s) - start ))
[ "$took" -le 15 ] || { echo "SIGTERM waited ${took} s for a trickling client"; exit 1; }
kill "$trickler" 2> /dev/null || true
wait "$trickler" 2> /dev/null || true

# Options: refused with `error:` naming them.
expect_error "--host 0.0.0.0 is not a loopback address.*--insecure" \
  "$sdn" serve --checkpoint "$ckpt" --port 0 --host 0.0.0.0 --mode cnn
expect_error "--insecure has no effect on a loopback --host" \
  "$sdn" serve --checkpoint "$ckpt" --port 0 --insecure --mode cnn
expect_error "--policy has no effect with --mode cnn" \
  "$sdn" serve --checkpoint "$ckpt" --port 0 --mode cnn --policy entropy
expect_error "--param" "$sdn" serve --checkpoint "$ckpt" --port 0
expect_error "--mode must be stage, batch or cnn, got 'fast'" \
  "$sdn" serve --checkpoint "$ckpt" --port 0 --mode fast
expect_error "--max-batch" \
  "$sdn" serve --checkpoint "$ckpt" --port 0 --mode cnn --max-batch 0
expect_error "--api-key-file .*missing: cannot open file" \
  "$sdn" serve --checkpoint "$ckpt" --port 0 --mode cnn \
  --api-key-file "$dir/missing"
echo ok
