#!/usr/bin/env bash
# Records traces of real programs under load on this machine and runs
# `fgbi-engine bench` over them (issue 13, part 4), so that fgbi is measured
# on real application memory and not only on the synthetic presets:
#
#   redis    redis-server (64 MiB maxmemory) under redis-benchmark: SET, GET,
#            INCR, LPUSH, HSET on 100,000 keys with 128-byte values
#   sqlite   the sqlite3 shell on an in-memory database of 200,000 rows with a
#            secondary index: range updates, log appends and trims
#   xz       xz -6 (one thread, a 94 MiB match finder) compressing the files
#            of /usr/share and /usr/lib, over and over
#
# Each program runs under load for a moment, then `fgbi-engine capture`
# records EPOCHS epochs of it, one every INTERVAL_MS ms (4 s by default),
# and the program is stopped. bench then replicates each trace through every
# scheme at every speed of LINKS and the script prints a Markdown table of
# fgbi against the best of fgbi-plain, remus-full and xbzrle
# (docs/PERFORMANCE.md, "Real workloads").
#
# Not run by CI: it installs Debian packages (root, or the packages already
# installed), starts a server on 127.0.0.1:$REDIS_PORT and takes minutes.
#
# Usage: scripts/record-real-workloads.sh [OUTDIR]   (default /tmp/fgbi-real-workloads)
# Environment: FGBI_ENGINE (default build/release/cli/fgbi-engine), EPOCHS (40),
#              INTERVAL_MS (100), LINKS (0.1,1,10,25,100), REDIS_PORT (6399)
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${1:-/tmp/fgbi-real-workloads}
ENGINE=${FGBI_ENGINE:-build/release/cli/fgbi-engine}
EPOCHS=${EPOCHS:-40}
INTERVAL_MS=${INTERVAL_MS:-100}
LINKS=${LINKS:-0.1,1,10,25,100}
REDIS_PORT=${REDIS_PORT:-6399}

[[ -x $ENGINE ]] || { echo "no fgbi-engine at $ENGINE: build it first (README)" >&2; exit 2; }

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-benchmark >/dev/null || need+=(redis-tools)
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v xz >/dev/null || need+=(xz-utils)
command -v python3 >/dev/null || need+=(python3)
if ((${#need[@]})); then
  [[ $(id -u) == 0 ]] || { echo "install as root: apt-get install ${need[*]}" >&2; exit 2; }
  apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
fi
mkdir -p "$OUT"

# Processes this script started, stopped on exit whatever happens.
started=()
cleanup() {
  for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

stop_started() {
  cleanup
  started=()
}

# capture NAME PID: records the running program into $OUT/NAME.fgbt.
capture() {
  local name=$1 pid=$2
  sleep 2  # let the load reach its steady state first
  echo "recording $name (pid $pid): $EPOCHS epochs every $INTERVAL_MS ms" >&2
  "$ENGINE" capture --pid "$pid" --interval "$INTERVAL_MS" --epochs "$EPOCHS" \
    -o "$OUT/$name.fgbt" --json >"$OUT/$name.capture.json"
}

# --- redis-server under redis-benchmark -----------------------------------
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --maxmemory 64mb --maxmemory-policy allkeys-lru >/dev/null &
redis=$!
started+=("$redis")
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-benchmark -p "$REDIS_PORT" -t set -n 200000 -r 100000 -d 128 -q >/dev/null
redis-benchmark -p "$REDIS_PORT" -t set,get,incr,lpush,hset -n 1000000000 -r 100000 -d 128 \
  -c 8 -q >/dev/null 2>&1 &
started+=("$!")
capture redis "$redis"
stop_started

# --- sqlite3 on an in-memory database -------------------------------------
# The statements come from a shell loop, so the load runs until it is killed.
sqlite_load() {
  echo "CREATE TABLE kv(k INTEGER PRIMARY KEY, n INTEGER, v BLOB);"
  echo "CREATE INDEX kv_n ON kv(n);"
  echo "CREATE TABLE log(id INTEGER PRIMARY KEY, t BLOB);"
  echo "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000)"
  echo "  INSERT INTO kv SELECT x, random() % 1000, randomblob(100) FROM c;"
  while :; do
    k=$((RANDOM * 6))
    echo "UPDATE kv SET n = n + 1, v = randomblob(100) WHERE k BETWEEN $k AND $k + 40;"
    echo "INSERT INTO log(t) VALUES (randomblob(60));"
    echo "DELETE FROM log WHERE id < (SELECT max(id) FROM log) - 50000;"
  done
}
# Through a FIFO, so that the loop has a pid of its own to stop.
rm -f "$OUT/sqlite.in" && mkfifo "$OUT/sqlite.in"
sqlite3 :memory: <"$OUT/sqlite.in" >/dev/null &
sqlite=$!
sqlite_load >"$OUT/sqlite.in" &
started+=("$sqlite" "$!")
capture sqlite "$sqlite"
stop_started

# --- xz compressing system files ------------------------------------------
xz_input() {
  while :; do find /usr/share /usr/lib -type f -size -4M -print0 2>/dev/null |
    xargs -0 cat 2>/dev/null; done
}
rm -f "$OUT/xz.in" && mkfifo "$OUT/xz.in"
xz -6 -T1 -c <"$OUT/xz.in" >/dev/null &
xz=$!
xz_input >"$OUT/xz.in" &
started+=("$xz" "$!")
capture xz "$xz"
stop_started
rm -f "$OUT/sqlite.in" "$OUT/xz.in"

# --- bench over the traces --------------------------------------------------
for name in redis sqlite xz; do
  echo "bench over $name" >&2
  "$ENGINE" trace info --json "$OUT/$name.fgbt" >"$OUT/$name.info.json"
  "$ENGINE" bench --source "trace:$OUT/$name.fgbt" --epochs "$EPOCHS" --warmup 2 \
    --link-gbps "$LINKS" --json --report "$OUT/$name.html" >"$OUT/$name.bench.json"
done

python3 - "$OUT" <<'EOF'
import json, sys
out = sys.argv[1]
print("| workload | tracked pages | dirty pages per epoch | link Gbit/s | fgbi ms | "
      "fastest alternative, ms | ratio | fgbi KiB/epoch | smallest alternative, KiB/epoch | "
      "ratio |")
print("|---|---|---|---|---|---|---|---|---|---|")
for name in ("redis", "sqlite", "xz"):
    info = json.load(open(f"{out}/{name}.info.json"))
    bench = json.load(open(f"{out}/{name}.bench.json"))
    for link in bench["workloads"][0]["links"]:
        schemes = {s["name"]: s for s in link["schemes"]}
        steady = schemes["fgbi"]["steady"]  # the epochs after the sync and the warm-up
        epochs = steady["epochs"]
        for v in link["fgbi_vs_best_alternative"]:
            print(f"| {name} | {info['tracked_pages']} | {steady['pages'] / epochs:.0f} | "
                  f"{link['link_gbps']:g} | {v['time_to_ship_ms_median']:.3g} | "
                  f"{v['fastest_alternative']} {v['fastest_alternative_time_to_ship_ms_median']:.3g} | "
                  f"**{v['time_ratio']:.2f}** | {v['wire_bytes'] / epochs / 1024:.1f} | "
                  f"{v['smallest_alternative']} "
                  f"{v['smallest_alternative_wire_bytes'] / epochs / 1024:.1f} | "
                  f"**{v['bytes_ratio']:.2f}** |")
EOF
echo "traces, JSON and HTML reports in $OUT" >&2
