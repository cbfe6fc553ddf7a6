#!/bin/sh
# Idle CPU of `sluice daemon` with 20 scheduled jobs (10 intervals, 10 cron
# schedules, none due in the window) and a webhook configured: the CPU
# time the process uses (utime + stime from /proc/PID/stat) over SECONDS
# of wall time, after a settling pause, with a breakdown per thread.
# A benchmark, not a test: figures go to docs/PERFORMANCE.md ("Daemon").
#
#   host/benches/daemon_idle_cpu.sh [SLUICE_BINARY] [SECONDS]
#
# Default binary target/debug/sluice (build it with `cargo build`, or any
# `cargo test --workspace` build), default 30 seconds. Linux only.
set -eu
BIN=${1:-target/debug/sluice}
SECS=${2:-30}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
DIR=$(mktemp -d)
PID=
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$DIR"
}
trap cleanup EXIT

mkdir -p "$DIR/in"
echo '{"id":"1"}' > "$DIR/in/e.jsonl"
cat > "$DIR/p.toml" <<'TOML'
name = "idle"
[source]
plugin = "jsonl-file"
dir = "in"
[target]
plugin = "jsonl-file"
dir = "out"
[[entity]]
name = "e"
source_options = { path = "e.jsonl" }
target_options = { path = "e.jsonl" }
[[entity.field]]
target = "id"
TOML
{
    i=0
    while [ $i -lt 10 ]; do
        printf '[[job]]\nname = "every-%s"\npipeline = "p.toml"\nevery = "%sh"\n\n' $i $((i + 2))
        printf '[[job]]\nname = "cron-%s"\npipeline = "p.toml"\nschedule = "%s 4 1 1 *"\ntimezone = "Europe/Berlin"\n\n' $i $i
        i=$((i + 1))
    done
    printf '[[webhook]]\nname = "ops"\nurl = "http://127.0.0.1:9/hook"\nsecret_env = "IDLE_BENCH_SECRET"\n'
} > "$DIR/sluice.toml"

cd "$DIR"
SLUICE_API_TOKEN=idle-bench-token IDLE_BENCH_SECRET=idle-bench-secret-0123456789 \
    "$BIN" daemon --project . --listen 127.0.0.1:0 > "$DIR/stdout" 2> "$DIR/stderr" &
PID=$!
n=0
until grep -q listening "$DIR/stdout" 2>/dev/null; do
    n=$((n + 1))
    if [ $n -gt 600 ] || ! kill -0 "$PID" 2>/dev/null; then
        echo "the daemon did not start:" >&2
        cat "$DIR/stderr" >&2
        exit 1
    fi
    sleep 0.1
done
sleep 3

ticks() { # utime + stime of a /proc stat file (after the `(comm)` field)
    sed 's/.*) //' "$1" | awk '{ print $12 + $13 }'
}
HZ=$(getconf CLK_TCK)
before=$(ticks /proc/$PID/stat)
for t in /proc/$PID/task/*; do
    echo "$(basename "$t") $(ticks "$t/stat")"
done > "$DIR/threads.before"
sleep "$SECS"
after=$(ticks /proc/$PID/stat)
rss=$(awk '/VmRSS/ { print $2 " " $3 }' /proc/$PID/status)
jobs=$(grep -c '^\[\[job\]\]' "$DIR/sluice.toml")

echo "sluice daemon, $jobs scheduled jobs, idle for $SECS s ($BIN)"
awk -v b="$before" -v a="$after" -v hz="$HZ" -v s="$SECS" 'BEGIN {
    printf "CPU: %.2f s of %d s = %.3f%% of one core\n", (a - b) / hz, s, (a - b) / hz / s * 100
}'
echo "RSS: $rss"
echo "per thread (CPU s in the window):"
while read -r tid t0; do
    [ -r "/proc/$PID/task/$tid/stat" ] || continue
    t1=$(ticks "/proc/$PID/task/$tid/stat")
    name=$(cat "/proc/$PID/task/$tid/comm")
    awk -v n="$name" -v d=$((t1 - t0)) -v hz="$HZ" 'BEGIN { printf "  %-20s %.2f\n", n, d / hz }'
done < "$DIR/threads.before"
