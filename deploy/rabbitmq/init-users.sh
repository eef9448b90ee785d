#!/usr/bin/env bash
# Entrypoint of the rabbitmq container: starts the broker, then creates the admin user and one user per
# service with passwords from the environment and the permissions and user tags listed in service-users.txt.
# Users cannot come from definitions.json: it would need password hashes committed to git, and it is
# re-imported on every boot. Safe to rerun: existing users get their password reset to the environment's.
# On a cluster (compose profile `cluster`) every node runs it: users are cluster-wide, so each node sets the
# same users, and SHOP_ERLANG_COOKIE holds the Erlang cookie the nodes share (RABBITMQ_ERLANG_COOKIE in .env).
# Not RABBITMQ_ERLANG_COOKIE inside the container: RabbitMQ 4's image ignores it and its tools deprecate it.
set -euo pipefail

users_file=${RABBITMQ_SERVICE_USERS_FILE:-/etc/rabbitmq/service-users.txt}
# The healthcheck requires this file, so services start only once their users exist.
ready_marker=${RABBITMQ_USERS_READY_MARKER:-/tmp/rabbitmq-users-ready}
# Unset on a single node, which keeps the random cookie the broker generates on its first boot.
cookie=${SHOP_ERLANG_COOKIE:-}
unset SHOP_ERLANG_COOKIE

log() { echo "init-users: $*" >&2; }

# The broker runs as rabbitmq; running the CLI as the same user keeps the Erlang cookie readable by both.
# stdin is /dev/null because the CLI would otherwise swallow the rest of the users file being read.
ctl() {
  if [ "$(id -u)" = 0 ]; then gosu rabbitmq rabbitmqctl "$@" </dev/null; else rabbitmqctl "$@" </dev/null; fi
}

user_exists() {
  # grep without -q reads all input, so the CLI never dies of SIGPIPE under pipefail.
  ctl -q list_users --no-table-headers | cut -f1 | grep -xF -- "$1" >/dev/null
}

# upsert_user NAME PASSWORD [TAG...]
upsert_user() {
  local name=$1 password=$2
  shift 2
  if user_exists "$name"; then
    ctl -q change_password -- "$name" "$password"
  elif ! ctl -q add_user -- "$name" "$password"; then
    # The nodes of a cluster provision at the same time: another one may have added the user since the
    # check. Then only its password is left to set; any other failure stays a failure.
    user_exists "$name" || return 1
    ctl -q change_password -- "$name" "$password"
  fi
  ctl -q set_user_tags "$name" "$@"
}

provision() {
  local admin=${RABBITMQ_ADMIN_USER:?set RABBITMQ_ADMIN_USER}
  local admin_password=${RABBITMQ_ADMIN_PASSWORD:?set RABBITMQ_ADMIN_PASSWORD}
  local vhost user variable configure write read tags password
  local -a tag_list

  upsert_user "$admin" "$admin_password" administrator
  for vhost in $(awk '!/^#/ && NF { print $1 }' "$users_file" | sort -u); do
    ctl -q set_permissions -p "$vhost" "$admin" '.*' '.*' '.*'
  done

  while read -r vhost user variable configure write read tags; do
    case "$vhost" in '#'* | '') continue ;; esac
    password=${!variable:-}
    if [ -z "$password" ]; then
      log "$variable is empty: it is the RabbitMQ password of $user"
      return 1
    fi
    # Comma-separated, `-` for none (set_user_tags with no tag clears them).
    tag_list=()
    case "$tags" in '' | -) ;; *) IFS=, read -r -a tag_list <<<"$tags" ;; esac
    upsert_user "$user" "$password" ${tag_list[@]+"${tag_list[@]}"}
    ctl -q set_permissions -p "$vhost" "$user" "$configure" "$write" "$read"
    log "user $user ready on vhost $vhost${tag_list[*]+ (tags: ${tag_list[*]})}"
  done <"$users_file"

  if [ "$admin" != guest ] && user_exists guest; then
    # Another node of a cluster may delete it first: only a guest still there is a failure.
    if ! ctl -q delete_user guest && user_exists guest; then
      return 1
    fi
  fi
}

# install_cookie VALUE: the Erlang cookie every node of a cluster and its CLI tools must share.
# Erlang reads it from $HOME/.erlang.cookie only, and refuses a cookie others may read: written as
# rabbitmq, mode 400, on every start (a changed .env takes effect with the next start).
install_cookie() {
  local target=$HOME/.erlang.cookie cookie
  # Whitespace removed: a line ending from the host (CRLF in a Windows .env) would change the cookie.
  cookie=$(printf '%s' "$1" | tr -d '[:space:]')
  if [ -z "$cookie" ]; then
    log "SHOP_ERLANG_COOKIE is empty"
    return 1
  fi
  # A previous copy is read-only: replace it rather than write into it. The umask keeps the new file
  # unreadable by others from the start.
  rm -f "$target"
  (umask 077 && printf '%s' "$cookie" >"$target")
  if [ "$(id -u)" = 0 ]; then chown rabbitmq:rabbitmq "$target"; fi
  chmod 400 "$target"
  log "Erlang cookie installed from SHOP_ERLANG_COOKIE"
}

rm -f "$ready_marker"
# Before the broker starts: it generates a cookie of its own when none is there.
if [ -n "$cookie" ]; then install_cookie "$cookie"; fi
docker-entrypoint.sh rabbitmq-server &
server_pid=$!
trap 'kill -TERM "$server_pid" 2>/dev/null || true' TERM INT

# The cookie check comes first because a CLI started before the broker would write a cookie of its own.
# await_startup returns after the full boot, definitions import included, so the vhost exists by then.
until [ -s "$HOME/.erlang.cookie" ] && ctl -q await_startup >/dev/null 2>&1; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    log "rabbitmq-server exited during boot"
    wait "$server_pid" || exit $?
    exit 1
  fi
  sleep 2
done

# A subshell outside any `if`, so that set -e still stops provisioning at the first failing command.
set +e
(
  set -e
  provision
)
provisioned=$?
if [ "$provisioned" = 0 ]; then
  touch "$ready_marker"
  log "all users ready"
else
  log "provisioning failed: stopping the broker"
  kill -TERM "$server_pid" 2>/dev/null
fi

# `wait` returns early when the trap fires; keep waiting until the broker has really stopped.
while :; do
  wait "$server_pid"
  status=$?
  kill -0 "$server_pid" 2>/dev/null || break
done
[ "$provisioned" = 0 ] || exit 1
exit "$status"
