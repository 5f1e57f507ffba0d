#!/bin/sh
# What an upgrade must keep, read where the app finds it (UPLOAD_DIR and DATABASE_URL of the
# env file): the sha256 of every upload; the env file's owner and mode, and each of its
# variables (the paths, which the release layout moves, in clear; every other one, the secrets
# among them, as a checksum); the database's content as SQL and its article count (read as the
# service user: reading a WAL database writes its -shm file).
set -eu
env_file=/var/www/blog/.env
uploads=$(sed -n 's/^UPLOAD_DIR="\(.*\)"$/\1/p' "$env_file")
database=$(sed -n 's|^DATABASE_URL="sqlite:///\(.*\)"$|\1|p' "$env_file")
# Without UPLOAD_DIR (the collection no longer sets it), the example blog finds its uploads in
# its static/uploads: the live release's link into the shared state.
cd "${uploads:-/var/www/blog/current/static/uploads}/"
find . -type f -print0 | sort -z | xargs -0r sha256sum
stat -c "env file %U:%G %a" "$env_file"
grep -v '^#' "$env_file" | sort | while IFS= read -r line; do
  case $line in
    DATABASE_URL=* | STATIC_DIR=* | UPLOAD_DIR=*) echo "env $line" ;;
    *) echo "env ${line%%=*} $(printf %s "$line" | sha256sum | cut -c1-16)" ;;
  esac
done
runuser -u www-data -- python3 -c '
import hashlib, sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print("database content", hashlib.sha256("\n".join(db.iterdump()).encode()).hexdigest())
print("articles", db.execute("SELECT count(*) FROM articles").fetchone()[0])
' "${database:?no sqlite DATABASE_URL in $env_file}"
