# A network that stops: a proxy between dscat and the server forwards normally, then stops
# forwarding (without closing) after a number of bytes from the server. A stall in the login, in
# the middle of a catalog scan (a query, and the streamed column query) and in the middle of a
# cache COPY is each exit 1 with one stderr line naming the target, within the deadline
# (connect_timeout for the login, query_timeout for a query or a wait in a row stream) plus a
# small margin; nothing is changed by the failed run, the cache table's lock is released, and
# the next run is ok.
. "$(dirname "${BASH_SOURCE[0]}")/../harness/cache_root.sh"
use_cache_root cache-root-stall
pg_psql postgres -c 'DROP DATABASE IF EXISTS stalldb' -c 'CREATE DATABASE stalldb' >/dev/null
# Enough tables that the catalog queries' results are far bigger than the proxy's first budget.
pg_psql stalldb >/dev/null <<'SQL'
DO $$ BEGIN
  FOR i IN 1..600 LOOP
    EXECUTE format('CREATE TABLE wide_%s (id int PRIMARY KEY, a text, b text, c int, d date, '
                   'e numeric(10,2), f boolean, g text, h bigint, k timestamptz)', i);
  END LOOP;
END $$;
CREATE TABLE big AS SELECT g AS id, md5(g::text) AS h, g * 2 AS twice
  FROM generate_series(1, 300000) g;
SQL
home=$(new_home)
{
    printf '[settings]\nquery_timeout = 3\n\n'
    pg_target pg 'database = "stalldb"'
} >"$home/targets.toml"
export DSCAT_CONNECT_TIMEOUT=1

# start_proxy BYTES [PORT]: a stall_proxy in front of PostgreSQL (or PORT); sets proxy_port and
# proxy_pid.
start_proxy() {
    "$STALL_PROXY" "${2:-$PG_PORT}" "$1" >"$TEST_TMP/proxy.port" &
    proxy_pid=$!
    for _ in $(seq 1 50); do [ -s "$TEST_TMP/proxy.port" ] && break; sleep 0.1; done
    proxy_port=$(cat "$TEST_TMP/proxy.port")
    : >"$TEST_TMP/proxy.port"
}

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

check "control refresh succeeds" env DSCAT_HOME="$home" "$DSCAT" refresh
check "control cache refresh of 300k rows succeeds" env DSCAT_HOME="$home" "$DSCAT" cache refresh pg public.big
catalog_before=$(catalog_sums "$home")
# The data files (a failed refresh may leave an empty version directory for the orphan rule).
cache_files() { tree_sums "$root" | grep '/data\.parquet$'; }
cache_before=$(cache_files)
count() { DSCAT_HOME=$home "$DSCAT" query 'SELECT count(*), sum(twice) FROM pg.public.big' --format csv | tail -n +2; }
assert_eq "the cached table reads back whole" "300000,90000300000" "$(count)"

# expect_stall LABEL CAUSE MIN_MS MAX_MS COMMAND...: exit 1, one line naming pg and the cause,
# within MIN_MS..MAX_MS.
expect_stall() {
    local label=$1 cause=$2 min=$3 max=$4 t0 err rc ms
    shift 4
    t0=$(date +%s%N)
    err=$(env T_PG_PORT="$proxy_port" T_MY_PORT="$proxy_port" DSCAT_HOME="$home" "$@" 2>&1 >/dev/null)
    rc=$?
    ms=$(ms_since "$t0")
    echo "  $label: gave up after $ms ms"
    assert_eq "$label: exit 1" 1 "$rc"
    assert_eq "$label: exactly one line on stderr" 1 "$(line_count "$err")"
    assert_match "$label: the line names the target and what stalled" "^dscat: .*target ${target:-pg}.*$cause" "$err"
    check "$label: within the deadline ($min-$max ms, took $ms)" test "$ms" -ge "$min" -a "$ms" -le "$max"
}

# A login that stops half-way: connect_timeout (1 s).
start_proxy 8
expect_stall "stall in the login" "timed out" 900 2500 "$DSCAT" refresh
kill "$proxy_pid"

# A catalog scan that stops after 64 KiB of results: query_timeout (3 s).
start_proxy 65536
expect_stall "stall mid-scan" "stalled" 2900 4500 "$DSCAT" refresh
assert_eq "stall mid-scan: the catalog directory is byte for byte as it was" "$catalog_before" "$(catalog_sums "$home")"
kill "$proxy_pid"
check "after the stalled scan, the next refresh is ok" env DSCAT_HOME="$home" "$DSCAT" refresh

# A scan whose table list arrives whole and whose column stream stops after 192 KiB: the wait for
# the next rows has query_timeout (3 s).
stream_before=$(catalog_sums "$home")
start_proxy 196608
expect_stall "stall mid-column stream" "column query in database stalldb stalled" 2900 4500 "$DSCAT" refresh
assert_eq "stall mid-column stream: the catalog directory is as it was" "$stream_before" "$(catalog_sums "$home")"
kill "$proxy_pid"

# A cache COPY that stops after 2 MB of its 300k rows: query_timeout (3 s) without data.
start_proxy 2000000
expect_stall "stall mid-COPY" "reading rows of public\.big stalled" 2900 4500 "$DSCAT" cache refresh pg public.big
assert_eq "stall mid-COPY: the cache's files are as they were (no new data, old one whole)" "$cache_before" "$(cache_files)"
assert_eq "stall mid-COPY: the old version is current and reads back whole" "300000,90000300000" "$(count)"

# The lock is released when the stalled refresh gives up: a refresh through a working path that
# starts meanwhile waits for the lock, then succeeds, all within the deadline and its own time.
t0=$(date +%s%N)
T_PG_PORT=$proxy_port DSCAT_HOME=$home "$DSCAT" cache refresh pg public.big >/dev/null 2>"$TEST_TMP/stalled.err" &
stalled_pid=$!
sleep 1
check "a refresh waiting on the stalled one's lock succeeds" env DSCAT_HOME="$home" "$DSCAT" cache refresh pg public.big
ms=$(ms_since "$t0")
wait "$stalled_pid"
assert_eq "the stalled refresh holding the lock: exit 1" 1 "$?"
echo "  lock released: the waiting refresh was done $ms ms after the stalled one started"
check "the lock was released within the deadline ($ms ms)" test "$ms" -le 7000
kill "$proxy_pid"
assert_eq "the next refresh's table reads back whole" "300000,90000300000" "$(count)"
check "and a later cache refresh is ok" env DSCAT_HOME="$home" "$DSCAT" cache refresh pg public.big

# Server notices never reach stderr: a notice raised by the server on dscat's connection.
pg_psql stalldb >/dev/null <<'SQL'
CREATE FUNCTION noisy(int) RETURNS int LANGUAGE plpgsql AS
  $$ BEGIN RAISE NOTICE 'noisy notice %', $1; RAISE WARNING 'noisy warning'; RETURN $1; END $$;
CREATE VIEW noisy_view AS SELECT noisy(id) AS id FROM generate_series(1, 3) id;
SQL
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
err=$(DSCAT_HOME=$home "$DSCAT" cache refresh pg public.noisy_view 2>&1 >/dev/null)
assert_eq "a cache refresh of a view raising notices succeeds" 0 "$?"
assert_eq "server notices never reach stderr (only the Loaded line)" "" "$(grep -v '^Loaded ' <<<"$err")"

# MariaDB: the same stalls, against read and write timeouts of query_timeout.
my_sql -e 'DROP DATABASE IF EXISTS stallmy; CREATE DATABASE stallmy'
{
    for i in $(seq 1 200); do
        printf 'CREATE TABLE wide_%s (id int PRIMARY KEY, a text, b text, c int, d date, ' "$i"
        printf 'e decimal(10,2), f boolean, g text, h bigint, k timestamp NULL) ENGINE=Aria;\n'
    done
    printf 'CREATE TABLE big (id int PRIMARY KEY, h char(32), twice bigint) ENGINE=Aria;\n'
    printf 'INSERT INTO big SELECT seq, md5(seq), seq * 2 FROM seq_1_to_300000;\n'
} | my_sql stallmy
home=$(new_home)
{
    printf '[settings]\nquery_timeout = 3\n\n'
    my_target my 'database = "stallmy"'
} >"$home/targets.toml"
target=my
check "mariadb: control refresh succeeds" env DSCAT_HOME="$home" "$DSCAT" refresh
check "mariadb: control cache refresh of 300k rows succeeds" env DSCAT_HOME="$home" "$DSCAT" cache refresh my stallmy.big
catalog_before=$(catalog_sums "$home")
cache_before=$(cache_files)
count() { DSCAT_HOME=$home "$DSCAT" query 'SELECT count(*), sum(twice) FROM my.stallmy.big' --format csv | tail -n +2; }
assert_eq "mariadb: the cached table reads back whole" "300000,90000300000" "$(count)"

start_proxy 8 "$MY_PORT"
expect_stall "mariadb: stall in the login" "timed out" 900 2500 "$DSCAT" refresh
kill "$proxy_pid"

start_proxy 16384 "$MY_PORT"
expect_stall "mariadb: stall mid-scan" "stalled" 2900 4500 "$DSCAT" refresh
assert_eq "mariadb: stall mid-scan: the catalog directory is byte for byte as it was" "$catalog_before" "$(catalog_sums "$home")"
kill "$proxy_pid"
check "mariadb: after the stalled scan, the next refresh is ok" env DSCAT_HOME="$home" "$DSCAT" refresh

start_proxy 2000000 "$MY_PORT"
expect_stall "mariadb: stall mid-read of rows" "reading rows of stallmy\.big stalled" 2900 4500 "$DSCAT" cache refresh my stallmy.big
assert_eq "mariadb: stall mid-read: the cache's files are as they were" "$cache_before" "$(cache_files)"
assert_eq "mariadb: stall mid-read: the old version is current and reads back whole" "300000,90000300000" "$(count)"
kill "$proxy_pid"
check "mariadb: the next cache refresh is ok" env DSCAT_HOME="$home" "$DSCAT" cache refresh my stallmy.big
