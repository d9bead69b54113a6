#!/usr/bin/env bash
# bench-backlog.sh — deep backlogs (issue 4): `warren perf --backlog N`
# publishes N persistent messages with confirms, then drains them, against
# a fresh `warren serve` (cold tier on, folder store) and, when RABBITMQ_URL
# answers and N is at most RABBITMQ_MAX_BACKLOG, against RabbitMQ in the
# same run. Reports publish and drain rates, the broker's peak RSS (VmHWM)
# and, for Warren, the peak size of Pebble's directory (local disk; the
# folder store stands in for the object store and is reported apart).
#
# Environment:
#   BACKLOGS              backlog sizes to run, in order (default "1000000")
#   BACKLOG_SIZE          message size in bytes (default 1024)
#   BACKLOG_CONFIRM       publisher confirm window (default 1000)
#   BACKLOG_PREFETCH      consumer prefetch (default 1000)
#   WARREN_ARGS           extra `warren serve` flags (e.g. "--tier off")
#   WARREN_BIN            use this binary instead of building bin/warren
#   RABBITMQ_URL          e.g. amqp://guest:guest@127.0.0.1:5672/
#   RABBITMQ_MAX_BACKLOG  largest backlog run on RabbitMQ (default 1000000)
#   RABBITMQ_PID          RabbitMQ's beam.smp pid for its RSS (default: pgrep)
#
# Results (JSON lines and logs) go to bench-results/backlog-<UTC timestamp>/.
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/benchlib.sh
source scripts/benchlib.sh

read -r -a backlogs <<<"${BACKLOGS:-1000000}"
size=${BACKLOG_SIZE:-1024}
perf_flags=(--size "$size" --persistent --confirm "${BACKLOG_CONFIRM:-1000}" --prefetch "${BACKLOG_PREFETCH:-1000}" --json-only)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/warren-backlog.XXXXXX")
warren_pids=()
sampler=""
cleanup() {
	[[ -n $sampler ]] && kill "$sampler" 2>/dev/null || true
	for pid in "${warren_pids[@]}"; do
		stop_pid "$pid"
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

out="bench-results/backlog-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
use_warren_bin

# vmhwm PID: the process's peak RSS in MB.
vmhwm() {
	awk '/^VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"
}

# sample_disk DIR FILE: every second, the size of DIR in bytes, appended to FILE.
sample_disk() {
	while :; do
		du -sb "$1" 2>/dev/null | cut -f1 >>"$2"
		sleep 1
	done
}

rows=()

# row BROKER N RESULT RSS DISK COLD: one line of the table.
row() {
	rows+=("$(printf '%-9s | %10s | %12s | %12s | %8s | %13s | %11s' "$1" "$2" \
		"$(json_field "$3" publish_rate)" "$(json_field "$3" drain_rate)" "$4" "$5" "$6")")
}

run_warren() {
	local n=$1 amqp http pid disk_log="$out/warren-$1.disk"
	rm -rf "$tmp/data"
	amqp=$(free_port) http=$(free_port)
	# shellcheck disable=SC2086 # WARREN_ARGS is a word list
	start_proc "warren-$n" "$amqp" serve --data-dir "$tmp/data" --amqp-addr "127.0.0.1:$amqp" \
		--http-addr "127.0.0.1:$http" ${WARREN_ARGS:-}
	pid=${warren_pids[-1]}
	sample_disk "$tmp/data/storage" "$disk_log" &
	sampler=$!
	log "bench: warren backlog $n"
	"$warren_bin" perf --uri "amqp://guest:guest@127.0.0.1:$amqp/" --backlog "$n" "${perf_flags[@]}" \
		>"$out/warren-$n.json" 2>"$out/warren-$n.log" || log "bench: warren $n failed: $(tail -n 1 "$out/warren-$n.log")"
	kill "$sampler" 2>/dev/null || true
	sampler=""
	local rss disk cold
	rss=$(vmhwm "$pid")
	disk=$(sort -n "$disk_log" | tail -n 1 | awk '{ printf "%d", $1 / 1048576 }')
	cold=$(du -sb "$tmp/data/cold" 2>/dev/null | awk '{ printf "%d", $1 / 1048576 }')
	row warren "$n" "$out/warren-$n.json" "$rss" "$disk" "${cold:-0}"
	stop_pid "$pid"
	warren_pids=()
}

run_rabbitmq() {
	local n=$1 pid=${RABBITMQ_PID:-}
	[[ -n $pid ]] || pid=$(pgrep -f beam.smp | head -n 1 || true)
	log "bench: rabbitmq backlog $n"
	"$warren_bin" perf --uri "$RABBITMQ_URL" --backlog "$n" --queue-prefix "bench-backlog-$n" "${perf_flags[@]}" \
		>"$out/rabbitmq-$n.json" 2>"$out/rabbitmq-$n.log" || log "bench: rabbitmq $n failed: $(tail -n 1 "$out/rabbitmq-$n.log")"
	row rabbitmq "$n" "$out/rabbitmq-$n.json" "$([[ -n $pid ]] && vmhwm "$pid" || echo "?")" "-" "-"
}

for n in "${backlogs[@]}"; do
	run_warren "$n"
	if rabbitmq_available && ((n <= ${RABBITMQ_MAX_BACKLOG:-1000000})); then
		run_rabbitmq "$n"
	fi
done

printf '%-9s | %10s | %12s | %12s | %8s | %13s | %11s\n' broker backlog "publish/s" "drain/s" "RSS MB" "peak disk MB" "cold MB"
printf '%s\n' "${rows[@]}" | tee "$out/table.txt"
echo "RSS is the broker's peak (VmHWM; RabbitMQ's since it started); disk is Pebble's directory, sampled each second; cold is the folder store at the end."
