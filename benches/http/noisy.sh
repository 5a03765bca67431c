#!/bin/sh
# The noisy neighbour (issue 12): appends from 64 clients (wrk, one thread) to new cases of one
# municipality, alone and beside each kind of neighbour, with a probe that reads /healthz and
# /v1/ledger/head every 20 ms and reports their p99 and worst. Usage:
#   benches/http/noisy.sh [BINARY]    (default: a release build of this checkout)
# Not a test. The machine's own rate drifts by a fifth within a minute (the disk's flushes, other
# services), so each neighbour is measured in rounds that alternate 5 s alone with 5 s beside it,
# and its row gives the ratio of the two means. The neighbours' own clients (wrk, curl) run at
# the lowest priority, as if they were on other machines: the figures are the server's share, not
# the share the clients take of the same two cores.
set -eu
command -v wrk >/dev/null || { echo "noisy.sh needs wrk (apt-get install wrk)" >&2; exit 2; }
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
# ROUNDS (3) and ROWS (feeds judged kept posters) choose how long and which neighbours.
rounds=${ROUNDS:-3}
probe() { # reads /healthz and /v1/ledger/head every 20 ms for $1 seconds; appends the times (ms) to probe.ms
  python3 - "$url" "$GARANTI_TOKEN" "$1" >>probe.ms <<'PY'
import sys, time, urllib.request
url, token, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
end = time.time() + seconds
while time.time() < end:
    for path in ("/healthz", "/v1/ledger/head"):
        t = time.perf_counter()
        urllib.request.urlopen(urllib.request.Request(url + path, headers={"Authorization": "Bearer " + token})).read()
        print("%.3f" % ((time.perf_counter() - t) * 1000))
    time.sleep(0.02)
PY
}
appends() { # 5 s of appends from 64 clients; appends "rate p99_ms not_2xx" to $1
  wrk -t1 -c64 -d5s --latency -s "$root/benches/http/append.lua" "$url" >wrk.out 2>&1
  rps=$(sed -n 's/^Requests\/sec: *//p' wrk.out)
  p99=$(awk '$1=="99%"{v=$2; if (v ~ /us$/) v=v/1000; else if (v ~ /ms$/) v=v+0; else v=v*1000; print v}' wrk.out)
  bad=$(sed -n 's/^ *Non-2xx or 3xx responses: *//p' wrk.out)
  echo "$rps $p99 ${bad:-0}" >>"$1"
}
row() { # name; start command of the neighbour (run in the background, pids added to $noise)
  case " ${ROWS:-feeds judged kept posters} " in *" $2 "*) ;; *) return 0 ;; esac
  : >alone.txt; : >beside.txt; : >probe.ms
  for round in $(seq "$rounds"); do
    appends alone.txt
    eval "$2"
    sleep 1
    probe 4.5 & p=$!
    appends beside.txt
    wait $p
    stop_noise
  done
  alone=$(awk '{s+=$1} END {printf "%.0f", s/NR}' alone.txt)
  beside=$(awk '{s+=$1} END {printf "%.0f", s/NR}' beside.txt)
  p99=$(awk '$2>m{m=$2} END {printf "%.1f ms", m}' beside.txt)
  bad=$(awk '{s+=$3} END {print s}' beside.txt)
  probed=$(sort -n probe.ms | awk '{v[NR]=$1} END {printf "%.1f ms | %.1f ms", v[int(NR*0.99)], v[NR]}')
  printf '| %s | %s | %s | %s%% | %s | %s | %s |\n' "$1" "$alone" "$beside" \
    "$(awk -v a="$alone" -v b="$beside" 'BEGIN {printf "%.0f", 100*b/a}')" "$p99" "$bad" "$probed"
}
stop_noise() { kill $noise 2>/dev/null || true; wait $noise 2>/dev/null || true; noise=""; }
feeds() { for i in 1 2 3 4; do nice -n 19 curl -sN -H "$auth" "$url/v1/feed" >/dev/null & noise="$noise $!"; done; }
# Two connections reading the large case as fast as the server answers (wrk, which costs less
# than the server, and at the lowest priority). With as_of, an answer the server does not keep:
# judged each time; without, the kept answer, sent again.
readers() {
  nice -n 19 wrk -t1 -c2 -d600s -H "$auth" "$url/v1/streams/dk-102:c-big$1" >/dev/null 2>&1 &
  noise="$noise $!"
}
judged() { readers "?as_of=2030-01-01T00:00:00Z"; }
kept() { readers ""; }
posters() {
  for i in 1 2 3 4; do
    (while :; do nice -n 19 curl -s -H "$auth" -H 'Content-Type: application/json' --data-binary @big-body.json "$url/v1/events" >/dev/null; done) &
    noise="$noise $!"
  done
}
echo "$rounds rounds of 5 s alone, 5 s beside; appends/s are the mean of the rounds, p99 the worst round's"
echo
echo "| neighbour | appends/s alone | appends/s beside | share kept | append p99 beside | not 2xx | /healthz, /v1/ledger/head p99 | worst |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
row "4 feed clients" feeds
row "the large case (4.4 MB) read in a loop by 2 connections, judged each time" judged
row "the same, its kept answer sent each time" kept
row "4 clients posting 8 MiB bodies of 4 M items in a loop" posters
