# shellcheck shell=bash
# Real servers for the integration tests, started once per run on 127.0.0.1 with free ports and
# throwaway data directories under $TEST_TMP, and stopped by stop_servers (called from the
# runner's EXIT trap, so also when a test fails or the run is interrupted).
#
# After start_postgres: PG_PORT (TCP, scram-sha-256 password auth), PG_SOCK (socket directory,
# trust auth for the harness's own psql), PG_PASSWORD (random per run, only in the environment)
# and psql defaults in PGHOST/PGPORT/PGUSER.

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}

# A TCP port on 127.0.0.1 that nothing listens on, below the kernel's ephemeral range (so that
# no client connection can be holding it when a server binds it).
free_port() {
    local p low
    low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    for _ in $(seq 1 200); do
        p=$((10000 + RANDOM % (low - 10000)))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

random_secret() {
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'
}

# Starts a server, trying again on another port when the first one was taken meanwhile.
start_with_retries() {
    local try
    for try in 1 2 3; do
        "$1" && return 0
        echo "harness: $1 failed (attempt $try), trying another port" >&2
        "$2" 2>/dev/null
    done
    return 1
}

start_postgres() {
    start_with_retries start_postgres_once reset_postgres
}

reset_postgres() {
    stop_postgres
    rm -rf "$TEST_TMP/pg"
    unset PG_DATA
}

start_postgres_once() {
    local dir=$TEST_TMP/pg
    mkdir -p "$dir/sock"
    chown -R postgres: "$dir"
    PG_PORT=$(free_port) || return 1
    PG_SOCK=$dir/sock
    runuser -u postgres -- "$PG_BIN/initdb" -D "$dir/data" -U postgres --no-sync \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; return 1; }
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
max_locks_per_transaction = 1024
log_line_prefix = '[%u] '
log_min_messages = warning
CONF
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
        >/dev/null || { cat "$dir/server.log"; return 1; }
    PG_DATA=$dir/data
    PG_LOG=$dir/server.log
    export PGHOST=$PG_SOCK PGPORT=$PG_PORT PGUSER=postgres PG_PORT PG_SOCK PG_LOG PG_DATA
    PG_PASSWORD=$(random_secret)
    export PG_PASSWORD
    pg_role_password postgres || return 1
    echo "harness: PostgreSQL on 127.0.0.1:$PG_PORT"
}

stop_postgres() {
    if [ -n "${PG_DATA:-}" ] && [ -d "$PG_DATA" ]; then
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    return 0
}

# After start_mariadb: MY_PORT (TCP), MY_SOCK (socket, root by unix_socket auth for the
# harness's own client), MY_PASSWORD (random per run) for user 'dscat'@'127.0.0.1', which has all
# privileges.
start_mariadb() {
    start_with_retries start_mariadb_once reset_mariadb
}

reset_mariadb() {
    stop_mariadb
    rm -rf "$TEST_TMP/mariadb"
    unset MY_PID
}

start_mariadb_once() {
    local dir=$TEST_TMP/mariadb
    # Its own tmpdir: internal temporary tables (an ORDER BY over information_schema) are files,
    # which a shared /tmp may see cleaned under the server's feet.
    mkdir -p "$dir/data" "$dir/run" "$dir/tmp"
    chown -R mysql: "$dir"
    MY_PORT=$(free_port) || return 1
    MY_SOCK=$dir/run/mysqld.sock
    mariadb-install-db --no-defaults --datadir="$dir/data" --user=mysql --skip-test-db \
        >"$dir/install.log" 2>&1 || { cat "$dir/install.log"; return 1; }
    mariadbd --no-defaults --datadir="$dir/data" --socket="$MY_SOCK" --port="$MY_PORT" \
        --bind-address=127.0.0.1 --user=mysql --skip-name-resolve --skip-log-bin --tmpdir="$dir/tmp" \
        --pid-file="$dir/run/mysqld.pid" --innodb-buffer-pool-size=64M \
        --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --sync-binlog=0 \
        --table-open-cache=4000 --open-files-limit=20000 \
        >"$dir/server.log" 2>&1 &
    MY_PID=$!
    for _ in $(seq 1 100); do
        mariadb-admin --no-defaults --socket="$MY_SOCK" -uroot ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    mariadb-admin --no-defaults --socket="$MY_SOCK" -uroot ping >/dev/null 2>&1 || { cat "$dir/server.log"; return 1; }
    MY_PASSWORD=$(random_secret)
    export MY_PORT MY_SOCK MY_PASSWORD MY_PID
    my_sql -e "CREATE USER 'dscat'@'127.0.0.1' IDENTIFIED BY '$MY_PASSWORD';
               GRANT ALL ON *.* TO 'dscat'@'127.0.0.1' WITH GRANT OPTION;" || return 1
    echo "harness: MariaDB on 127.0.0.1:$MY_PORT"
}

stop_mariadb() {
    if [ -n "${MY_PID:-}" ]; then
        kill "$MY_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$MY_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$MY_PID" 2>/dev/null || true
    fi
    return 0
}

# my_sql ARGS...: the mariadb client as root over the socket, batch mode, tab-separated.
my_sql() {
    mariadb --no-defaults --socket="$MY_SOCK" -uroot --batch --skip-column-names "$@"
}

# After start_s3: an S3-compatible server (s3rver from npm, in .deps/s3rver) behind the
# signature-checking front (s3front.js), with bucket "dscat-test". S3_ENDPOINT is the front;
# AWS_ACCESS_KEY_ID is s3rver's key and AWS_SECRET_ACCESS_KEY a random secret only the front
# knows: s3rver itself checks no signature. S3_RAW_PORT is s3rver without the front.
S3RVER=${S3RVER:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.deps/s3rver/node_modules/s3rver/bin/s3rver.js}
S3_BUCKET=dscat-test

start_s3() {
    start_with_retries start_s3_once stop_s3
}

start_s3_once() {
    local dir=$TEST_TMP/s3
    mkdir -p "$dir/data"
    S3_RAW_PORT=$(free_port) || return 1
    node --openssl-legacy-provider "$S3RVER" -d "$dir/data" -a 127.0.0.1 -p "$S3_RAW_PORT" \
        --configure-bucket "$S3_BUCKET" --silent >"$dir/s3rver.log" 2>&1 &
    S3_RAW_PID=$!
    echo "$S3_RAW_PID" >"$dir/s3rver.pid" # a restart in a test's subshell updates it
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$S3_RAW_PORT") 2>/dev/null && break
        sleep 0.1
    done
    (exec 3<>"/dev/tcp/127.0.0.1/$S3_RAW_PORT") 2>/dev/null || { cat "$dir/s3rver.log"; return 1; }
    S3_SECRET=$(random_secret)
    S3_PORT=$(free_port) || return 1
    node "$(dirname "${BASH_SOURCE[0]}")/s3front.js" "$S3_PORT" "$S3_RAW_PORT" S3RVER "$S3_SECRET" \
        >"$dir/front.log" 2>&1 &
    S3_FRONT_PID=$!
    for _ in $(seq 1 100); do
        grep -q '^ready' "$dir/front.log" 2>/dev/null && break
        sleep 0.1
    done
    grep -q '^ready' "$dir/front.log" || { cat "$dir/front.log"; return 1; }
    S3_ENDPOINT=http://127.0.0.1:$S3_PORT
    export S3_ENDPOINT S3_PORT S3_RAW_PORT S3_RAW_PID S3_FRONT_PID S3_SECRET S3_BUCKET
    echo "harness: S3 (s3rver behind a SigV4-checking front) on 127.0.0.1:$S3_PORT"
}

# Stops the S3 server itself (the front stays), and starts it again on the same port and data.
# The pid file, not a variable, says which process runs: tests restart it in a subshell.
stop_s3_server() {
    local pid
    pid=$(cat "$TEST_TMP/s3/s3rver.pid" 2>/dev/null) || pid=
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$TEST_TMP/s3/s3rver.pid"
    S3_RAW_PID=
    return 0
}
restart_s3_server() {
    node --openssl-legacy-provider "$S3RVER" -d "$TEST_TMP/s3/data" -a 127.0.0.1 -p "$S3_RAW_PORT" \
        --silent >>"$TEST_TMP/s3/s3rver.log" 2>&1 &
    S3_RAW_PID=$!
    echo "$S3_RAW_PID" >"$TEST_TMP/s3/s3rver.pid"
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$S3_RAW_PORT") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

stop_s3() {
    stop_s3_server
    if [ -n "${S3_FRONT_PID:-}" ]; then
        kill "$S3_FRONT_PID" 2>/dev/null || true
        wait "$S3_FRONT_PID" 2>/dev/null || true
    fi
    S3_FRONT_PID=
    return 0
}

# s3_env: the variables dscat and /usr/bin/aws need for the harness's S3 (in a subshell or env).
s3_env() {
    printf 'AWS_ACCESS_KEY_ID=S3RVER\nAWS_SECRET_ACCESS_KEY=%s\nAWS_REGION=us-east-1\nDSCAT_S3_ENDPOINT=%s\n' \
        "$S3_SECRET" "$S3_ENDPOINT"
}

# aws_s3 ARGS...: /usr/bin/aws against the harness's S3, through the front.
aws_s3() {
    AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=$S3_SECRET AWS_DEFAULT_REGION=us-east-1 \
        AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
        /usr/bin/aws --endpoint-url "$S3_ENDPOINT" "$@"
}

# Stops everything started, whatever happens (each stop returns 0, also under set -e).
stop_servers() {
    stop_postgres
    stop_mariadb
    stop_s3
    return 0
}

# pg_role_password ROLE: gives ROLE the harness's password, PG_PASSWORD. The statement goes to psql
# on its standard input (printf is a shell builtin): a password on a command line is in the
# process list for every user to read.
pg_role_password() {
    printf "ALTER ROLE \"%s\" PASSWORD '%s'\n" "$1" "$PG_PASSWORD" |
        psql -X -q -v ON_ERROR_STOP=1 -d postgres -f - >/dev/null
}

# pg_psql DB SQL...: runs SQL through the socket as the superuser, unaligned tab-separated.
pg_psql() {
    local db=$1
    shift
    psql -X -q -v ON_ERROR_STOP=1 -At -F $'\t' -d "$db" "$@"
}
