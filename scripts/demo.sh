#!/usr/bin/env bash
# make demo: deploy the example blog into a local systemd container with playbooks/site.yml and
# print its URL. Run it again: it converges the same container and says whether anything changed.
# make demo-clean (scripts/demo.sh clean): remove the container and the demo's secrets.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg

name=flask-blog-demo
image=${FLASK_BLOG_IMAGE_BOOKWORM:-flask-blog-systemd:bookworm}
http_port=${DEMO_HTTP_PORT:-8080}
https_port=${DEMO_HTTPS_PORT:-8443}
secrets=.demo

if [ "${1:-}" = clean ]; then
  docker rm -f "$name" >/dev/null 2>&1 && echo "demo: removed the container $name" || echo "demo: no container $name"
  rm -rf "$secrets"
  exit 0
fi

# Secrets, made once and kept in .demo/ (git ignores it).
mkdir -p "$secrets"
chmod 0700 "$secrets"
[ -s "$secrets/admin_password" ] || python -c 'import secrets; print(secrets.token_urlsafe(12))' >"$secrets/admin_password"
[ -s "$secrets/secret_key" ] || python -c 'import secrets; print(secrets.token_urlsafe(48))' >"$secrets/secret_key"
[ -s "$secrets/publish_token" ] || python -c 'import secrets; print(secrets.token_urlsafe(32))' >"$secrets/publish_token"
[ -s "$secrets/admin_password_hash" ] || python -c '
import sys
from werkzeug.security import generate_password_hash
print(generate_password_hash(open(sys.argv[1]).read().strip()))' "$secrets/admin_password" >"$secrets/admin_password_hash"

# The container: same systemd options as the molecule scenarios, ports on loopback only.
state=$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null) || state=missing
if [ "$state" = missing ]; then
  echo "demo: starting the container $name from $image"
  docker run -d --name "$name" --hostname blog-demo \
    --cap-add SYS_ADMIN --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
    --tmpfs /run --tmpfs /run/lock --tmpfs /tmp --stop-signal SIGRTMIN+3 \
    -p "127.0.0.1:$http_port:80" -p "127.0.0.1:$https_port:$https_port" \
    "$image" /lib/systemd/systemd >/dev/null
elif [ "$state" = false ]; then
  echo "demo: starting the stopped container $name"
  docker start "$name" >/dev/null
fi
for _ in $(seq 1 30); do
  case $(docker exec "$name" systemctl is-system-running --wait 2>/dev/null) in
    running | degraded) break ;;
  esac
  sleep 1
done

log=$secrets/last-run.log
echo "demo: running playbooks/site.yml (log: $log)"
if ! ansible-playbook -i inventories/demo playbooks/site.yml \
  -e "blog_public_url=https://localhost:$https_port" >"$log" 2>&1; then
  tail -n 40 "$log"
  echo "demo: the playbook failed; the whole log is in $log" >&2
  exit 1
fi
changed=$(awk '/^flask-blog-demo/ { for (i = 1; i <= NF; i++) if ($i ~ /^changed=/) { sub("changed=", "", $i); print $i } }' "$log")

for _ in $(seq 1 30); do
  curl -skf -o /dev/null "https://localhost:$https_port/healthz" && break
  sleep 1
done
curl -skf -o /dev/null "https://localhost:$https_port/healthz" || { echo "demo: the blog does not answer" >&2; exit 1; }

echo
if [ "$changed" = 0 ]; then
  echo "demo: nothing changed: the container already ran this version (0 tasks changed)"
else
  echo "demo: deployed ($changed tasks changed)"
fi
cat <<TXT

  The blog:    https://localhost:$https_port/   (self-signed certificate: accept it in the browser)
               http://localhost:$http_port/ redirects there
  Admin:       https://localhost:$https_port/admin/login
               user admin, password $(cat "$secrets/admin_password")
  Publish API: POST https://localhost:$https_port/api/articles
               Authorization: Bearer \$(cat $secrets/publish_token)

  Remove it with: make demo-clean
TXT
