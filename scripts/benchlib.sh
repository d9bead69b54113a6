# benchlib.sh — helpers the benchmark scripts share; source it.

# stop_pid PID: SIGTERM, 10 s to shut down cleanly, then SIGKILL.
stop_pid() {
	kill -0 "$1" 2>/dev/null || return 0
	kill "$1" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

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

# start_proc NAME READY_PORT ARGS...: runs $warren_bin ARGS in the
# background, logging to $out/NAME.log and adding it to warren_pids, until READY_PORT accepts connections.
start_proc() {
	local name=$1 port=$2 pid
	shift 2
	"$warren_bin" "$@" >"$out/$name.log" 2>&1 &
	pid=$!
	warren_pids+=("$pid")
	for _ in $(seq 300); do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "bench: $name exited during startup; last lines of its log:"
			tail -n 20 "$out/$name.log" >&2
			exit 1
		fi
		if port_open 127.0.0.1 "$port"; then
			log "bench: $name (pid $pid) on 127.0.0.1:$port"
			return
		fi
		sleep 0.1
	done
	log "bench: $name did not listen on 127.0.0.1:$port within 30 s"
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

# use_warren_bin: sets warren_bin to $WARREN_BIN, or builds bin/warren.
use_warren_bin() {
	if [[ -n ${WARREN_BIN:-} ]]; then
		warren_bin=$WARREN_BIN
		return
	fi
	log "bench: go build -o bin/warren ./services/cmd/warren"
	go build -o bin/warren ./services/cmd/warren
	warren_bin=bin/warren
}
