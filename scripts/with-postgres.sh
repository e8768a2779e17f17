#!/usr/bin/env bash
# Runs a command beside a PostgreSQL server of its own: Debian's PostgreSQL (installed if missing,
# without a cluster of the system's), a new cluster in a temporary directory, on a free loopback
# port, stopped and removed when the command ends. The command finds it at KETENHUB_TEST_POSTGRES_URL.
#   scripts/with-postgres.sh swift test
set -euo pipefail
cd "$(dirname "$0")/.."

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    # Debian's package makes and starts a cluster "main" as a system service unless told not to.
    if [ "$(id -u)" -eq 0 ]; then
        mkdir -p /etc/postgresql-common/createcluster.d
        echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/ketenhub.conf
    fi
    scripts/ensure-apt-packages.sh postgresql
fi
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# PostgreSQL refuses to run as root: as root, the server runs as Debian's postgres user.
as=()
if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$dir"
    as=(runuser -u postgres --)
fi
stop() {
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap stop EXIT
"${as[@]}" "$bin/initdb" -D "$dir/data" -U ketenhub -A trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
# fsync off for the tests (their data is thrown away); KETENHUB_POSTGRES_DURABLE=1 keeps PostgreSQL's
# defaults (the benchmark, against SQLite that syncs each transaction). max_connections: the tests'
# many stores at once.
durability="-c fsync=off -c synchronous_commit=off"
[ "${KETENHUB_POSTGRES_DURABLE:-0}" = 1 ] && durability=""
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
    "-p $port -k $dir -c listen_addresses=127.0.0.1 $durability -c max_connections=400" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
"${as[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U ketenhub ketenhub
export KETENHUB_TEST_POSTGRES_URL="postgres://ketenhub@127.0.0.1:$port/ketenhub?sslmode=disable"
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') for the tests at $KETENHUB_TEST_POSTGRES_URL"
"$@"
