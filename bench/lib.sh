# Sourced by the load benchmarks: starts the release binary on a fresh data dir and a random
# loopback port, and stops it (and removes the data dir) when the script exits.
# RAMPART_BIN, if set, is the binary to run; start_server's arguments go to `serve`. After start_server: $bin, $data, $port, $pid, $ready_ms (start-up time); cpu_ticks reads the
# server's CPU time so far (user + system, in clock ticks), ctx_switches its context switches.

start_server() {
    # RAMPART_BIN runs another build instead (an A/B comparison of two saved binaries).
    if [ -n "${RAMPART_BIN:-}" ]; then
        bin=$RAMPART_BIN
    else
        cargo build --release --quiet -p rampart --bin rampart
        bin="${CARGO_TARGET_DIR:-target}/release/rampart"
    fi
    data=$(mktemp -d)
    port=$((20000 + RANDOM % 20000))
    trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
    local start
    start=$(date +%s%N)
    "$bin" serve --listen 127.0.0.1:$port --data-dir "$data" "$@" > "$data/out" 2>/dev/null &
    pid=$!
    # Bounded: a server that dies or never gets ready must not leave this loop spinning.
    local i
    for i in $(seq 1 2000); do
        grep -q '^Ready.$' "$data/out" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || { echo "the server exited during start-up" >&2; exit 1; }
        sleep 0.005
    done
    grep -q '^Ready.$' "$data/out" || { echo "the server did not start within 10 s" >&2; exit 1; }
    ready_ms=$(( ($(date +%s%N) - start) / 1000000 ))
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }

# The server's context switches so far, voluntary and involuntary, over all its threads.
ctx_switches() {
    cat /proc/"$pid"/task/*/status 2>/dev/null \
        | awk '/^(voluntary|nonvoluntary)_ctxt_switches/ {n += $2} END {print n + 0}'
}
