#!/usr/bin/env bash
# Runs the e2e conformance suite against a real RabbitMQ 3.10 (Debian's
# rabbitmq-server), which is how every expectation in e2e/ is verified.
#
# Installs rabbitmq-server with apt if missing, sets max_message_size = 16 MiB (the
# 3.10 default is 128 MiB; Warren's and 4.x's is 16 MiB), starts the broker on
# 127.0.0.1 unless it is already running, runs the suite, and stops the broker
# again only if this script started it. Extra arguments go to `go test`, e.g.
#   scripts/conformance.sh -run TestTopicExchange -v
# RABBITMQ_NODENAME and RABBITMQ_NODE_PORT (both read by the RabbitMQ tools too)
# select another node, e.g. to test this script beside a broker someone else runs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
conf=/etc/rabbitmq/rabbitmq.conf
max_message_size=16777216
startup_timeout=120
port="${RABBITMQ_NODE_PORT:-5672}"

log() { echo "conformance: $*" >&2; }

install_rabbitmq() {
	if command -v rabbitmq-server >/dev/null 2>&1; then
		return
	fi
	log "installing rabbitmq-server"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q rabbitmq-server
}

# write_config sets max_message_size in rabbitmq.conf, keeping any other settings.
write_config() {
	mkdir -p "$(dirname "$conf")"
	touch "$conf"
	if grep -q '^[[:space:]]*max_message_size[[:space:]]*=' "$conf"; then
		sed -i "s/^[[:space:]]*max_message_size[[:space:]]*=.*/max_message_size = $max_message_size/" "$conf"
	else
		echo "max_message_size = $max_message_size" >>"$conf"
	fi
}

running() { rabbitmqctl -q status >/dev/null 2>&1; }

# The Debian package may try to start the service on install; in a container
# without systemd it may or may not be up, so check before deciding who owns it.
install_rabbitmq
write_config

started_here=0
epmd_before="$(pgrep -x epmd || true)"
if running; then
	log "RabbitMQ already running: using it as is, leaving it running"
else
	log "starting RabbitMQ on 127.0.0.1:$port"
	RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 rabbitmq-server -detached
	started_here=1
fi

stop_rabbitmq() {
	if [ "$started_here" != 1 ]; then
		return
	fi
	log "stopping RabbitMQ"
	rabbitmqctl -q stop >/dev/null 2>&1 || true
	# rabbitmqctl stop leaves epmd running; stop the one that started with the broker.
	if [ -z "$epmd_before" ]; then
		for pid in $(pgrep -x epmd || true); do
			kill "$pid" 2>/dev/null || true
		done
	fi
}
trap stop_rabbitmq EXIT
# Make a signal end the script through exit, so that the EXIT trap runs.
trap 'exit 129' HUP PIPE
trap 'exit 130' INT
trap 'exit 143' TERM

# await_startup fails at once while the node has not yet registered with epmd, so
# retry it until the deadline.
deadline=$((SECONDS + startup_timeout))
until rabbitmqctl -q await_startup --timeout "$startup_timeout" >/dev/null 2>&1; do
	if [ "$SECONDS" -ge "$deadline" ]; then
		log "RabbitMQ did not start within ${startup_timeout}s"
		exit 1
	fi
	sleep 1
done

# The test of the size limit needs the broker's actual value: a broker that was
# already running may have been started before the config above was written.
effective="$(rabbitmqctl -q eval 'application:get_env(rabbit, max_message_size).' | sed -n 's/^{ok,\([0-9]*\)}$/\1/p')"
export E2E_MAX_MESSAGE_SIZE="${effective:-$max_message_size}"
log "max_message_size in force: $E2E_MAX_MESSAGE_SIZE"

cd "$root/e2e"
AMQP_URL="amqp://guest:guest@127.0.0.1:$port/" go test -count=1 "$@" ./...
