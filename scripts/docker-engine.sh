#!/usr/bin/env bash
# Make sure a Docker engine answers. Uses the running one if `docker info` works; otherwise
# starts Debian's dockerd in the background (hosts without an init system) and waits for it.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "docker-engine: no Docker engine answers and dockerd is not installed" >&2
  echo "docker-engine: run 'make setup' as root on Debian, or start Docker yourself" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "docker-engine: dockerd is installed but not running; start it (needs root)" >&2
  exit 1
fi

log=/var/log/flask-blog-dockerd.log
echo "docker-engine: starting dockerd (log: $log)"
setsid dockerd >"$log" 2>&1 < /dev/null &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "docker-engine: ready ($(docker info --format '{{.Driver}}') storage driver)"
    exit 0
  fi
  sleep 1
done
echo "docker-engine: dockerd did not answer within 60 s; last log lines:" >&2
tail -n 20 "$log" >&2
exit 1
