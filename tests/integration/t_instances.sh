# Three `dscat serve` processes on one machine sharing one catalog directory (its SQLite store)
# and one S3 cache root (docs/deploy.md): 30 concurrent POST /refresh of one table spread over the
# three are all answered with the table's rows while its versions are written one at a time (the
# S3 server's request log); a schedule fires once per period across the three; SIGKILL of the
# instance refreshing a table leaves nothing that stops another from refreshing it; no pending
# deletion is executed twice or before its time (the S3 server's request log, with its times).
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$repo/tests/harness/http.sh"
. "$repo/tests/harness/instances.sh"
export DSCAT_DELETION_GRACE=3
CACHE_VARIANT=s3
. "$repo/tests/harness/cache_root.sh"
use_cache_root instances
front=$TEST_TMP/s3/front.log
dir=$TEST_TMP/instances
mkdir -p "$dir"
ROWS=300000

pg_psql postgres -c 'DROP DATABASE IF EXISTS instances' -c 'CREATE DATABASE instances' >/dev/null
pg_psql instances >/dev/null <<SQL
CREATE TABLE t (id bigint PRIMARY KEY, payload text, amount numeric(12,2), far numeric(10,2));
INSERT INTO t SELECT g, md5(g::text), g / 100.0 FROM generate_series(1, $ROWS) g;
-- NaN, which DECIMAL cannot hold: the column is cached in its text fallback, named in each answer
UPDATE t SET far = 'NaN' WHERE id = 1;
CREATE TABLE s (id int PRIMARY KEY, v text);
INSERT INTO s VALUES (1, 'one'), (2, 'two');
SQL
home=$(new_home)
{
    printf '[settings]\ndeletion_interval_seconds = 1\n\n'
    pg_target pg 'database = "instances"'
    printf '[[targets.pg.cache]]\ntable = "public.s"\nrefresh_every = "2s"\n'
} >"$home/targets.toml"
check "the catalog is refreshed" env DSCAT_HOME="$home" "$DSCAT" refresh

pids=() bases=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done' EXIT
t_start=$(date +%s%3N)
for i in 0 1 2; do
    start_server "$home" "$dir/serve$i.log"
    pids+=("$srv_pid") bases+=("$B")
done
check "three servers listen on one catalog" test "${#bases[@]}" = 3 -a -n "${bases[2]#http://127.0.0.1:}"

prefix=instances
store_current_path() { store_sql "$home" "SELECT path FROM table_cache WHERE name = 't'"; }
instances_refresh_storm
instances_schedule_once "$home"
instances_kill_refreshing
instances_deletions
for p in "${pids[@]:1}"; do kill "$p" 2>/dev/null; done
