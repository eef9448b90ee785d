#!/usr/bin/env bash
# The system packages the tests and the compose rehearsal need, in one place: `npm test` runs it as
# `preflight.sh test`, .ci/run as `preflight.sh test compose`. As root with apt-get it installs what is
# missing (Debian's packages); anywhere else it stops and prints the exact command to run.
#   test     chromium (the dashboard's page specs drive it), haproxy (the local cluster's load balancer)
#   compose  docker.io (the engine for `npm run compose:rehearse`), docker-compose (when the Docker CLI has
#            no `compose` plugin: config checks and the rehearsal)
set -euo pipefail

missing=()
for group in "$@"; do
  case "$group" in
    test)
      [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
      command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
      ;;
    compose)
      command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
      docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
      ;;
    *)
      echo "preflight: unknown group '$group' (test, compose)" >&2
      exit 2
      ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

install="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "preflight: installing ${missing[*]} (Debian packages)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $install -qq >/dev/null
  exit 0
fi
echo "preflight: missing ${missing[*]}." >&2
if command -v apt-get >/dev/null 2>&1; then
  echo "  Install them with: sudo apt-get update && sudo $install" >&2
else
  echo "  Install them with your system's package manager (Debian names: ${missing[*]})." >&2
fi
exit 1
