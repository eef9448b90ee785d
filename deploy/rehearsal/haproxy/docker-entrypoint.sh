#!/usr/bin/env bash
# The haproxy look-alike's entrypoint (see its Dockerfile), as the real image's: options alone run haproxy,
# and haproxy runs in the foreground in master-worker mode.
set -euo pipefail

if [ "${1:0:1}" = '-' ]; then set -- haproxy "$@"; fi
if [ "$1" = haproxy ]; then
  shift
  set -- haproxy -W -db "$@"
fi

exec "$@"
