#!/bin/sh
# Load figures of `garanti serve` for BENCHMARKS.md: wrk (Debian package `wrk`) on loopback against a
# release build serving a demo municipality. Usage: benches/http/run.sh [CITIZENS] (default 2000).
# Not a test: the figures depend on the machine; compare them with the `/v1/ledger/head` baseline of
# the same run, which measures HTTP and authentication alone.
set -eu
citizens=${1:-2000}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin="$root/target/release/garanti"
cargo build --release --manifest-path "$root/Cargo.toml" >/dev/null 2>&1
work=$(mktemp -d)
server=""
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
. "$root/benches/http/serve-demo.sh"
serve_demo "$bin" "$citizens"
set -- $(curl -s -H "$auth" "$url/v1/sanctions?limit=1&year=2017" |
  python3 -c 'import json,sys; d=json.load(sys.stdin)["items"][0]; print(d["sanction_id"], d["stream"])')
sanction=$1 stream=$2
# A case picked without regard to its size: the one of the record in the middle of the log.
middle=$(curl -s -H "$auth" "$url/v1/ledger/head" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seq"] // 2)')
typical=$(curl -s -H "$auth" "$url/v1/ledger/events?from=$middle&limit=1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["records"][0]["stream"])')
# The sanctions of 2017 (a page: up to 10,000) and their cases (larger than most: a sanction
# comes after an offer, absences and a hearing): for loads spread over many cases.
curl -s -H "$auth" "$url/v1/sanctions?year=2017" | python3 -c '
import json, sys
items = json.load(sys.stdin)["items"]
with open("sanctions.txt", "w") as f:
    f.writelines("/v1/sanctions/%s\n" % s["sanction_id"] for s in items)
with open("cases.txt", "w") as f:
    f.writelines("/v1/streams/%s\n" % s for s in sorted({s["stream"] for s in items}))'
# wrk with one thread leaves the server most of the 2 cores; with two, the client takes as much CPU
# as the server and the tails grow. Both are shown where it matters.
# Every case of the demo, from the export pages: for a load over cases of every size.
python3 - "$url" "$GARANTI_TOKEN" <<'PY'
import json, sys, urllib.request
url, token = sys.argv[1], sys.argv[2]
streams, start = set(), 0
while True:
    req = urllib.request.Request("%s/v1/ledger/events?from=%d&limit=10000" % (url, start),
                                 headers={"Authorization": "Bearer " + token})
    records = json.load(urllib.request.urlopen(req))["records"]
    if not records:
        break
    streams.update(r["stream"] for r in records)
    start = records[-1]["seq"] + 1
with open("all-cases.txt", "w") as f:
    f.writelines("/v1/streams/%s\n" % s for s in sorted(streams))
PY
run() { # name wrk-threads connections seconds script path
  out=$(wrk -t"$2" -c"$3" -d"$4"s --latency -s "$root/benches/http/$5" "$url$6" 2>&1)
  rps=$(echo "$out" | sed -n 's/^Requests\/sec: *//p')
  p50=$(echo "$out" | awk '$1=="50%"{print $2}')
  p99=$(echo "$out" | awk '$1=="99%"{print $2}')
  bad=$(echo "$out" | sed -n 's/^ *Non-2xx or 3xx responses: *//p')
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$rps" "$p50" "$p99" "${bad:-0}"
}
echo "| load | wrk threads | clients | requests/s | p50 | p99 | not 2xx |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for t in 1 2; do
  run "GET /v1/ledger/head (baseline: HTTP + token)" $t 64 10 get.lua /v1/ledger/head
done
for t in 1 2; do
  run "GET /v1/sanctions/$sanction (verdict + explanation)" $t 64 10 get.lua "/v1/sanctions/$sanction"
done
for t in 1 2; do
  run "GET /v1/streams/$stream (whole case)" $t 64 10 get.lua "/v1/streams/$stream"
done
events=$(curl -s -H "$auth" "$url/v1/streams/$typical" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))')
run "GET /v1/streams/$typical (whole case, $events events)" 1 64 10 get.lua "/v1/streams/$typical"
export GARANTI_PATHS="$work/sanctions.txt"
run "GET /v1/sanctions/{id}, $(wc -l <sanctions.txt) sanctions at random" 1 64 10 many.lua /
# The first run starts with no case kept but two (each is rendered and judged once); the others
# find them kept.
export GARANTI_PATHS="$work/all-cases.txt"
all=$(wc -l <all-cases.txt)
run "GET /v1/streams/{stream}, all $all cases at random, from cold" 1 64 10 many.lua /
run "GET /v1/streams/{stream}, all $all cases at random" 1 64 10 many.lua /
export GARANTI_PATHS="$work/cases.txt"
for t in 1 2; do
  run "GET /v1/streams/{stream}, the $(wc -l <cases.txt) cases with a sanction, at random" $t 64 10 many.lua /
done
for t in 1 2; do
  run "POST /v1/events, one event each, durable" $t 64 20 append.lua /
done
run "POST /v1/events, one event each, durable" 1 128 15 append.lua /
curl -s "$url/metrics" | grep -E '^garanti_commit_(requests|duration_seconds)_(sum|count) '
