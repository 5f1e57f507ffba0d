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
wait_s=120

# A killed process can stay a zombie for a while where nothing reaps orphans: it does not count.
running() {
  local st
  st=$(ps -p "$1" -o stat=,comm=) || return 1
  [[ $st != Z* && ${st##* } == "$2" ]]
}

dockerd_alive() {
  pgrep -x -r D,I,R,S,T dockerd >/dev/null
}

# A dockerd killed without a chance to clean up (its host's processes stopped, /run kept) leaves
# its pid files behind, and the next dockerd trusts them: a containerd pid file whose number now
# belongs to another process makes it wait for a containerd that is not there and give up with
# "timeout waiting for containerd to start"; a stale docker.pid makes it refuse to start.
# Only called when no dockerd runs, so a containerd named in docker's pid file is an orphan.
clear_stale() {
  local file=$1 name=$2 pid
  [ -f "$file" ] || return 0
  pid=$(tr -dc 0-9 <"$file")
  if [ -n "$pid" ] && running "$pid" "$name"; then
    echo "docker-engine: stopping the orphaned $name $pid named in $file"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do
      running "$pid" "$name" || break
      sleep 0.5
    done
    if running "$pid" "$name"; then kill -9 "$pid"; fi
  else
    echo "docker-engine: removing $file (pid ${pid:-none} is not a running $name)"
  fi
  rm -f "$file"
}

start_dockerd() {
  if ! dockerd_alive; then
    clear_stale /var/run/docker.pid dockerd
    clear_stale /var/run/docker/containerd/containerd.pid containerd
    echo "docker-engine: starting dockerd (log: $log)"
    setsid dockerd >"$log" 2>&1 </dev/null &
  fi
  for _ in $(seq 1 "$wait_s"); do
    if docker info >/dev/null 2>&1; then
      echo "docker-engine: ready ($(docker info --format '{{.Driver}}') storage driver)"
      return 0
    fi
    dockerd_alive || return 1
    sleep 1
  done
  return 1
}

for attempt in 1 2; do
  start_dockerd && exit 0
  echo "docker-engine: dockerd did not come up (attempt $attempt); last log lines:" >&2
  tail -n 20 "$log" >&2 || true
  if pkill -x dockerd; then sleep 3; fi
done
echo "docker-engine: no Docker engine after 2 attempts of up to $wait_s s each" >&2
exit 1
