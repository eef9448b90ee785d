#!/usr/bin/env bash
# The rabbitmq look-alike's entrypoint (see its Dockerfile): as root, hand the data directory to
# `rabbitmq` and start again as that user; drop the configuration keys RabbitMQ 3.10 does not know, and
# stand in for the one that matters to a cluster.
set -euo pipefail

if [ "${1:0:1}" = '-' ]; then set -- rabbitmq-server "$@"; fi

if [ "$1" = rabbitmq-server ] && [ "$(id -u)" = 0 ]; then
  find /var/lib/rabbitmq \! -user rabbitmq -exec chown rabbitmq:rabbitmq '{}' +
  exec gosu rabbitmq "$0" "$@"
fi

log() { echo "rabbitmq look-alike: $*" >&2; }

# Quorum queue membership reconciliation (RabbitMQ 3.13+) as far as this cluster needs it: a queue
# declared while this node was not in the cluster yet gets a replica here once the node is up, as 3.13+
# adds one a few seconds after a node joins. Every node adds itself, so each queue ends on every node
# (target_group_size is not looked at: compose's cluster has exactly its 3 nodes).
reconcile_in_background() {
  (
    # A CLI started before the cookie is in place would write one of its own (init-users.sh installs it),
    # and await_startup fails at once while the node's VM is not up yet: both are waited for, a CLI call
    # (a second of CPU) every 5 s at most while the node boots.
    for _ in $(seq 1 120); do
      sleep 5
      if [ -s "$HOME/.erlang.cookie" ] && rabbitmqctl -q await_startup >/dev/null 2>&1; then break; fi
    done
    node=$(rabbitmqctl -q eval 'node().' 2>/dev/null | tr -d "'") || exit 0
    # Again later: the definitions import or a peer's join may come after this node's start.
    for delay in 5 30 120; do
      sleep "$delay"
      if output=$(rabbitmq-queues -q grow "$node" all --vhost-pattern '.*' --queue-pattern '.*' 2>&1); then
        log "reconciliation: every quorum queue has a replica on $node"
      else
        log "reconciliation on $node failed: $(echo "$output" | tail -n 1)"
      fi
    done
  ) &
}

if [ "$1" = rabbitmq-server ]; then
  # Keys of RabbitMQ 3.13+ that 3.10 refuses to boot with ("unknown variable"): the effective conf.d is a
  # copy without them, and the log names each line left out.
  newer_than_310='^[[:space:]]*quorum_queue\.continuous_membership_reconciliation\.'
  reconciliation_on='^[[:space:]]*quorum_queue\.continuous_membership_reconciliation\.enabled[[:space:]]*=[[:space:]]*true'
  reconcile=false
  effective=/tmp/rabbitmq-conf.d
  rm -rf "$effective"
  mkdir -p "$effective"
  for file in "${RABBITMQ_CONFIG_FILES:-/etc/rabbitmq/conf.d}"/*.conf; do
    [ -e "$file" ] || continue
    while IFS= read -r line || [ -n "$line" ]; do
      if [[ "$line" =~ $newer_than_310 ]]; then
        log "$(basename "$file"): '$line' left out (RabbitMQ 3.10 does not know it)"
        if [[ "$line" =~ $reconciliation_on ]]; then reconcile=true; fi
      else
        printf '%s\n' "$line"
      fi
    done <"$file" >"$effective/$(basename "$file")"
  done
  export RABBITMQ_CONFIG_FILES=$effective
  if [ "$reconcile" = true ]; then reconcile_in_background; fi
fi

exec "$@"
