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
#   BENCH_SCENARIOS run only these scenarios (space-separated names)
#   BENCH_SHAPES    the Warren shapes to run, in order (default "serve"):
#                   serve is one `warren serve` process; split is a control
#                   plane, one storage node and one gateway, each its own
#                   process, so the gateway→storage hop goes over gRPC.
#                   "serve split" runs both and prints split/serve.
#
# Exit status: 0 when every run succeeded, 1 when any failed (the table
# shows FAIL and the log under bench-results says why).
set -euo pipefail

cd "$(dirname "$0")/.."

duration=${BENCH_DURATION:-15s}
[[ $duration =~ ^[0-9]+$ ]] && duration="${duration}s"
bench_warren=${BENCH_WARREN:-1}
read -r -a shapes <<<"${BENCH_SHAPES:-serve}"

# Scenario names and their perf flags; the same matrix runs on each broker.
scenarios=(transient-16B persistent-1KiB-confirm persistent-1KiB-10k-rate)
declare -A scenario_args=(
	[transient-16B]="--producers 1 --consumers 1 --size 16 --auto-ack"
	[persistent-1KiB-confirm]="--producers 1 --consumers 1 --size 1024 --persistent --confirm 100 --prefetch 100"
	[persistent-1KiB-10k-rate]="--producers 1 --consumers 1 --size 1024 --persistent --confirm 100 --prefetch 100 --rate 10000"
)
if [[ -n ${BENCH_SCENARIOS:-} ]]; then
	read -r -a scenarios <<<"$BENCH_SCENARIOS"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/warren-bench.XXXXXX")
warren_pids=() # every Warren process, in start order

cleanup() {
	local i
	for ((i = ${#warren_pids[@]} - 1; i >= 0; i--)); do
		stop_pid "${warren_pids[i]}"
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=scripts/benchlib.sh
source scripts/benchlib.sh

# start_warren SHAPE: that shape from a fresh temp data dir; sets warren_url.
start_warren() {
	local shape=$1 amqp_port http_port
	rm -rf "$tmp/cp" "$tmp/sn" "$tmp/data"
	amqp_port=$(free_port)
	http_port=$(free_port)
	if [[ $shape == split ]]; then
		local nats_port grpc_cp grpc_sn http_cp
		nats_port=$(free_port) grpc_cp=$(free_port) grpc_sn=$(free_port) http_cp=$(free_port)
		start_proc warren-split-control-plane "$grpc_cp" control-plane --data-dir "$tmp/cp" \
			--nats-addr "127.0.0.1:$nats_port" --http-addr "127.0.0.1:$http_cp" --grpc-addr "127.0.0.1:$grpc_cp"
		start_proc warren-split-storage-node "$grpc_sn" storage-node --data-dir "$tmp/sn" \
			--grpc-addr "127.0.0.1:$grpc_sn" --nats-url "nats://127.0.0.1:$nats_port"
		start_proc warren-split-gateway "$amqp_port" gateway --amqp-addr "127.0.0.1:$amqp_port" \
			--http-addr "127.0.0.1:$http_port" --nats-url "nats://127.0.0.1:$nats_port"
	else
		start_proc warren-serve "$amqp_port" serve --data-dir "$tmp/data" \
			--amqp-addr "127.0.0.1:$amqp_port" --http-addr "127.0.0.1:$http_port"
	fi
	warren_url="amqp://guest:guest@127.0.0.1:$amqp_port/"
}

# peak_rss: the summed peak RSS of the Warren processes.
peak_rss() {
	local pid total=0 kb
	for pid in "${warren_pids[@]}"; do
		kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
		total=$((total + ${kb:-0}))
	done
	echo "$total kB"
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

# ratio A B: A / B to two decimals, or "-" unless both are numbers.
ratio() {
	if [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]]; then
		awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
	else
		echo "-"
	fi
}

print_table() {
	local name w s r
	printf '%-26s | %12s | %12s | %14s | %6s | %6s | %18s | %18s | %18s\n' scenario \
		"serve msg/s" "split msg/s" "rabbitmq msg/s" "serve/" "split/" \
		"serve p50/p99 ms" "split p50/p99 ms" "rabbitmq p50/p99"
	printf '%-26s | %12s | %12s | %14s | %6s | %6s | %18s | %18s | %18s\n' "" "" "" "" rabbit serve "" "" ""
	for name in "${scenarios[@]}"; do
		w=$(cell warren "$name" consume_rate)
		s=$(cell warren-split "$name" consume_rate)
		r=$(cell rabbitmq "$name" consume_rate)
		printf '%-26s | %12s | %12s | %14s | %6s | %6s | %18s | %18s | %18s\n' \
			"$name" "$w" "$s" "$r" "$(ratio "$w" "$r")" "$(ratio "$s" "$w")" \
			"$(latency warren "$name")" "$(latency warren-split "$name")" "$(latency rabbitmq "$name")"
	done
	echo
	echo "msg/s is the consume rate (end to end); serve/rabbit and split/serve are throughput ratios."
	printf '%s\n' "${peaks[@]}"
}

out="bench-results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"

use_warren_bin

peaks=()
if [[ $bench_warren != 0 ]]; then
	for shape in "${shapes[@]}"; do
		broker=warren
		[[ $shape == serve ]] || broker=warren-$shape
		start_warren "$shape"
		run_matrix "$broker" "$warren_url"
		peaks+=("warren $shape shape: peak RSS over the matrix $(peak_rss) (all its processes)")
		for pid in "${warren_pids[@]}"; do
			stop_pid "$pid"
		done
		warren_pids=()
	done
fi

if rabbitmq_available; then
	run_matrix rabbitmq "$RABBITMQ_URL"
elif [[ -n ${RABBITMQ_URL:-} ]]; then
	log "bench: RABBITMQ_URL is set but nothing answers there; RabbitMQ columns left empty"
fi

print_table | tee "$out/summary.txt"
log "bench: raw results in $out/"
exit "$failed"
