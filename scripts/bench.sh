#!/usr/bin/env bash
# bench.sh — the throughput and latency matrix of `make bench`.
#
# Builds bin/warren, starts `bin/warren serve` on free loopback ports with a
# temporary data dir, runs every scenario below with `bin/warren perf`, and,
# when RABBITMQ_URL is set and a broker answers there, runs the same matrix
# against RabbitMQ in the same run. Prints a comparison table and keeps the
# raw JSON result lines and progress logs in bench-results/<UTC timestamp>/.
#
# Environment:
#   BENCH_DURATION  length of each scenario (default 15s; "20" means 20s)
#   RABBITMQ_URL    e.g. amqp://guest:guest@127.0.0.1:5672/ — compare against it
#   WARREN_BIN      use this binary instead of building bin/warren
#   BENCH_WARREN=0  skip the Warren side (measure RabbitMQ only)
#
# Exit status: 0 when every run succeeded, 1 when any failed (the table
# shows FAIL and the log under bench-results says why).
set -euo pipefail

cd "$(dirname "$0")/.."

duration=${BENCH_DURATION:-15s}
[[ $duration =~ ^[0-9]+$ ]] && duration="${duration}s"
bench_warren=${BENCH_WARREN:-1}

# Scenario names and their perf flags; the same matrix runs on each broker.
scenarios=(transient-16B persistent-1KiB-confirm persistent-1KiB-10k-rate)
declare -A scenario_args=(
	[transient-16B]="--producers 1 --consumers 1 --size 16 --auto-ack"
	[persistent-1KiB-confirm]="--producers 1 --consumers 1 --size 1024 --persistent --confirm 100 --prefetch 100"
	[persistent-1KiB-10k-rate]="--producers 1 --consumers 1 --size 1024 --persistent --confirm 100 --prefetch 100 --rate 10000"
)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/warren-bench.XXXXXX")
warren_pid=""

cleanup() {
	if [[ -n $warren_pid ]] && kill -0 "$warren_pid" 2>/dev/null; then
		kill "$warren_pid" 2>/dev/null || true
		# Give it 10 s to shut down cleanly, then force it.
		for _ in $(seq 100); do
			kill -0 "$warren_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$warren_pid" 2>/dev/null || true
		wait "$warren_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s\n' "$*" >&2; }

# port_open HOST PORT: something accepts TCP connections there.
port_open() {
	timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# free_port: a loopback port nobody listens on (never 5672, RabbitMQ's).
# Another process could take it before Warren binds; the start check
# below catches that.
taken=" 5672 "
free_port() {
	local port
	for _ in $(seq 100); do
		port=$((20000 + RANDOM % 40000))
		[[ $taken == *" $port "* ]] && continue
		if ! port_open 127.0.0.1 "$port"; then
			taken+="$port "
			echo "$port"
			return
		fi
	done
	log "bench: no free port found"
	exit 1
}

# json_field FILE KEY: the raw value of a top-level key of a one-line JSON
# object ("null" when absent), without needing jq.
json_field() {
	local v
	v=$(sed -n 's/.*"'"$2"'":\([^,}]*\).*/\1/p' "$1" 2>/dev/null | head -n1)
	echo "${v:-null}"
}

# start_warren: serve from a temp data dir; sets warren_pid and warren_url.
start_warren() {
	local amqp_port http_port
	amqp_port=$(free_port)
	http_port=$(free_port)
	mkdir -p "$tmp/data"
	"$warren_bin" serve --data-dir "$tmp/data" \
		--amqp-addr "127.0.0.1:$amqp_port" --http-addr "127.0.0.1:$http_port" \
		>"$out/warren-serve.log" 2>&1 &
	warren_pid=$!
	for _ in $(seq 300); do
		if ! kill -0 "$warren_pid" 2>/dev/null; then
			log "bench: warren serve exited during startup; last lines of its log:"
			tail -n 20 "$out/warren-serve.log" >&2
			exit 1
		fi
		if port_open 127.0.0.1 "$amqp_port"; then
			warren_url="amqp://guest:guest@127.0.0.1:$amqp_port/"
			log "bench: warren serve (pid $warren_pid) on 127.0.0.1:$amqp_port"
			return
		fi
		sleep 0.1
	done
	log "bench: warren serve did not listen on 127.0.0.1:$amqp_port within 30 s"
	exit 1
}

# rabbitmq_available: RABBITMQ_URL is set and its host:port accepts TCP.
rabbitmq_available() {
	[[ -n ${RABBITMQ_URL:-} ]] || return 1
	local hostport=${RABBITMQ_URL#*://} default_port=5672
	[[ $RABBITMQ_URL == amqps://* ]] && default_port=5671
	hostport=${hostport##*@}
	hostport=${hostport%%/*}
	hostport=${hostport%%\?*}
	local host=${hostport%:*} port=${hostport##*:}
	[[ $hostport == *:* ]] || port=$default_port
	port_open "${host:-127.0.0.1}" "$port"
}

failed=0

# run_matrix BROKER URL: every scenario against one broker.
run_matrix() {
	local broker=$1 url=$2 name
	for name in "${scenarios[@]}"; do
		local base="$out/$broker-$name"
		log "bench: $broker $name ($duration)"
		# shellcheck disable=SC2086 # scenario_args are word lists
		if ! "$warren_bin" perf --uri "$url" --duration "$duration" --queue-prefix "bench-$name" \
			${scenario_args[$name]} >"$base.json" 2>"$base.log"; then
			log "bench: $broker $name failed: $(tail -n 1 "$base.log")"
			failed=1
		fi
	done
}

# cell BROKER NAME FIELD: a field of one result, or "-" without a result
# and FAIL for a failed run.
cell() {
	local file="$out/$1-$2.json"
	[[ -s $file ]] || { echo "-"; return; }
	[[ $(json_field "$file" error) == null ]] || { echo "FAIL"; return; }
	json_field "$file" "$3"
}

latency() {
	local p50 p99
	p50=$(cell "$1" "$2" latency_p50_ms)
	p99=$(cell "$1" "$2" latency_p99_ms)
	[[ $p50 == - || $p50 == FAIL ]] && { echo "$p50"; return; }
	echo "$p50/$p99"
}

print_table() {
	local name w r ratio
	printf '%-26s | %12s | %14s | %6s | %20s | %20s\n' \
		scenario "warren msg/s" "rabbitmq msg/s" ratio "warren p50/p99 ms" "rabbitmq p50/p99 ms"
	printf '%s\n' "---------------------------+--------------+----------------+--------+----------------------+---------------------"
	for name in "${scenarios[@]}"; do
		w=$(cell warren "$name" consume_rate)
		r=$(cell rabbitmq "$name" consume_rate)
		ratio=-
		if [[ $w =~ ^[0-9.]+$ && $r =~ ^[0-9.]+$ ]]; then
			ratio=$(awk -v w="$w" -v r="$r" 'BEGIN { if (r > 0) printf "%.2f", w / r; else print "-" }')
		fi
		printf '%-26s | %12s | %14s | %6s | %20s | %20s\n' \
			"$name" "$w" "$r" "$ratio" "$(latency warren "$name")" "$(latency rabbitmq "$name")"
	done
	echo
	echo "msg/s is the consume rate (end to end); ratio is warren / rabbitmq."
	if [[ -n ${warren_hwm:-} ]]; then
		echo "warren serve peak RSS over the matrix: $warren_hwm"
	fi
}

out="bench-results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"

if [[ -n ${WARREN_BIN:-} ]]; then
	warren_bin=$WARREN_BIN
else
	log "bench: go build -o bin/warren ./services/cmd/warren"
	go build -o bin/warren ./services/cmd/warren
	warren_bin=bin/warren
fi

if [[ $bench_warren != 0 ]]; then
	start_warren
	run_matrix warren "$warren_url"
	warren_hwm=$(awk '/^VmHWM/ { print $2, $3 }' "/proc/$warren_pid/status" 2>/dev/null || true)
fi

if rabbitmq_available; then
	run_matrix rabbitmq "$RABBITMQ_URL"
elif [[ -n ${RABBITMQ_URL:-} ]]; then
	log "bench: RABBITMQ_URL is set but nothing answers there; RabbitMQ columns left empty"
fi

print_table | tee "$out/summary.txt"
log "bench: raw results in $out/"
exit "$failed"
