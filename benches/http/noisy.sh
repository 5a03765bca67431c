#!/bin/sh
# The noisy neighbour (issue 12): appends from 64 clients (wrk, one thread) to new cases of one
# municipality, alone and beside each kind of neighbour, with a probe that reads /healthz and
# /v1/ledger/head every 20 ms and reports their p99 and worst. Usage:
#   benches/http/noisy.sh [BINARY]    (default: a release build of this checkout)
# Not a test: compare each row with the "alone" row of the same run. The neighbours' own clients
# (curl) run at the lowest priority, as if they were on other machines: the figures are the
# server's share, not the share curl takes of the same two cores.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-}
if [ -n "$bin" ]; then
  bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
else
  cargo build --release --manifest-path "$root/Cargo.toml" >/dev/null 2>&1
  bin="$root/target/release/garanti"
fi
work=$(mktemp -d)
noise="" server=""
trap 'kill $noise $server 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
. "$root/benches/http/serve-demo.sh"
serve_demo "$bin" 200
# One large case of another municipality: 3,000 versions of Min Plan, 1,000 publications, 100
# offers started with absences and a hearing, 3,000 sanctions (8,300 events, four appends).
python3 - "$url" "$GARANTI_TOKEN" <<'PY'
import json, sys, urllib.request
url, token = sys.argv[1], sys.argv[2]
events, t = [], 1483228800
def add(kind, data):
    global t
    t += 3600
    when = __import__("datetime").datetime.fromtimestamp(t, __import__("datetime").timezone.utc)
    events.append({"stream": "dk-102:c-big", "type": kind, "actor": "load",
                   "effective_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "data": data})
add("sanction_guidance_given", {})
for v in range(3000):
    add("plan_updated", {"plan_version": v + 1, "employment_goal": "Lagermedarbejder",
                         "offers": ["o-%d" % ((v + 7 * k) % 100) for k in range(5)]})
    if v % 3 == 0:
        add("plan_published", {"plan_version": v + 1, "channel": "jobnet"})
    if v % 30 == 0:
        o = "o-%d" % (v // 30)
        add("offer_started", {"offer_id": o})
        add("absence_recorded", {"offer_id": o, "excuse": None})
        add("hearing_sent", {"offer_id": o})
for s in range(3000):
    add("sanction_decided", {"sanction_id": "s-big-%d" % s, "offer_id": "o-%d" % (s % 100),
                             "kind": ["reduction", "tightened_availability"][s % 2],
                             "legal_basis": "LAB § 36"})
for i in range(0, len(events), 2500):
    req = urllib.request.Request(url + "/v1/events", data=json.dumps(events[i:i + 2500]).encode(),
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
print("large case: %d events" % len(events), file=sys.stderr)
PY
# An 8 MiB body of 4 M items, refused at the limit.
python3 -c 'import sys; sys.stdout.write("[" + ",".join(["0"] * ((4 << 20) - 1)) + "]")' >big-body.json
probe() { # reads /healthz and /v1/ledger/head every 20 ms for $1 seconds; prints p99 and worst (ms)
  python3 - "$url" "$GARANTI_TOKEN" "$1" <<'PY'
import sys, time, urllib.request
url, token, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
times, end = [], time.time() + seconds
while time.time() < end:
    for path in ("/healthz", "/v1/ledger/head"):
        t = time.perf_counter()
        urllib.request.urlopen(urllib.request.Request(url + path, headers={"Authorization": "Bearer " + token})).read()
        times.append((time.perf_counter() - t) * 1000)
    time.sleep(0.02)
times.sort()
print("%.1f ms | %.1f ms" % (times[int(len(times) * 0.99)], times[-1]))
PY
}
row() { # name; the neighbour runs in the background meanwhile
  wrk -t1 -c64 -d10s --latency -s "$root/benches/http/append.lua" "$url" >wrk.out 2>&1 &
  load=$!
  probed=$(probe 9)
  wait $load
  rps=$(sed -n 's/^Requests\/sec: *//p' wrk.out)
  p99=$(awk '$1=="99%"{print $2}' wrk.out)
  bad=$(sed -n 's/^ *Non-2xx or 3xx responses: *//p' wrk.out)
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$rps" "$p99" "${bad:-0}" "$probed"
}
stop_noise() { kill $noise 2>/dev/null || true; wait $noise 2>/dev/null || true; noise=""; }
echo "| neighbour | appends/s (64 clients) | append p99 | appends not 2xx | /healthz, /v1/ledger/head p99 | worst |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
row "none (alone)"
for i in 1 2 3 4; do nice -n 19 curl -sN -H "$auth" "$url/v1/feed" >/dev/null & noise="$noise $!"; done
sleep 1
row "4 feed clients"
stop_noise
# Read with as_of: not an answer the server keeps, so each read judges the case again.
for i in 1 2; do
  (while :; do nice -n 19 curl -s -H "$auth" "$url/v1/streams/dk-102:c-big?as_of=2030-01-01T00:00:00Z" >/dev/null; done) &
  noise="$noise $!"
done
sleep 1
row "the large case read in a loop by 2 clients"
stop_noise
for i in 1 2 3 4; do
  (while :; do nice -n 19 curl -s -H "$auth" -H 'Content-Type: application/json' --data-binary @big-body.json "$url/v1/events" >/dev/null; done) &
  noise="$noise $!"
done
sleep 1
row "4 clients posting 8 MiB bodies of 4 M items in a loop"
stop_noise
row "none (alone, again)"
