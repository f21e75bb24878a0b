# Three `dscat serve` processes on one machine sharing one catalog directory (its SQLite store)
# and one S3 cache root (docs/deploy.md): 30 concurrent POST /refresh of one table spread over the
# three are all answered with the table's rows while its versions are written one at a time (the
# S3 server's request log); a schedule fires once per period across the three; SIGKILL of the
# instance refreshing a table leaves nothing that stops another from refreshing it; no pending
# deletion is executed twice or before its time (the S3 server's request log, with its times).
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$repo/tests/harness/http.sh"
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
CREATE TABLE t (id bigint PRIMARY KEY, payload text, amount numeric(12,2));
INSERT INTO t SELECT g, md5(g::text), g / 100.0 FROM generate_series(1, $ROWS) g;
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

# 30 concurrent data refreshes of public.t, ten through each server.
body='{"connection_id":"pg","schema_name":"public","table_name":"t","data":true}'
curls=()
for i in $(seq 0 29); do
    curl -s -o "$dir/r$i" -w '%{http_code}' --max-time 300 -X POST -H 'Content-Type: application/json' \
        -d "$body" "${bases[i % 3]}/refresh" >"$dir/code$i" &
    curls+=($!)
done
wait "${curls[@]}"
bad=
for i in $(seq 0 29); do
    [ "$(cat "$dir/code$i")" = 200 ] && [ "$(jq -r .rows_synced "$dir/r$i" 2>/dev/null)" = "$ROWS" ] ||
        bad="$bad [$i: $(cat "$dir/code$i") $(head -c 200 "$dir/r$i")]"
done
assert_eq "30 concurrent refreshes over three servers: each answered 200 with the table's $ROWS rows" "" "$bad"

# A version's objects are written together: the sequence of versions the uploads of t name (in
# the S3 server's order) never comes back to a version after another one.
t_uploads() { grep -o "^PUT /$S3_BUCKET/instances/[^ ]*/public/t/[^/ ]*/" "$front" | awk -F/ '{print $(NF-1)}'; }
runs=$(t_uploads | uniq)
check "versions of t were written (at least one)" test -n "$runs"
assert_eq "versions of t are written one at a time: no version's uploads interleave with another's" "" \
    "$(sort <<<"$runs" | uniq -d)"
written=$(wc -l <<<"$runs")
check "fewer versions than refreshes: waiting requests took the result of the one they waited for ($written)" \
    test "$written" -lt 30

# The schedule of public.s (every 2 s) across the three: once per period, not once per server.
sleep 5
elapsed=$((($(date +%s%3N) - t_start) / 1000))
s_versions=$(grep -o "^PUT /$S3_BUCKET/instances/[^ ]*/public/s/[^/ ]*/data.parquet" "$front" | sort -u | wc -l)
check "the schedule of s ran ($s_versions times in $elapsed s)" test "$s_versions" -ge 2
check "... at most once per period across three servers (at most $((elapsed / 2 + 2)))" \
    test "$s_versions" -le $((elapsed / 2 + 2))
assert_match "dscat schedule shows the last run of s" "public.s.*ok" \
    "$(DSCAT_HOME=$home "$DSCAT" schedule 2>&1)"

# SIGKILL of the server while it refreshes t: another server refreshes t right after.
curl -s -o /dev/null --max-time 300 -X POST -H 'Content-Type: application/json' -d "$body" \
    "${bases[0]}/refresh" &
killed_curl=$!
sleep 0.3
kill -9 "${pids[0]}"
wait "$killed_curl" 2>/dev/null
t0=$(date +%s%3N)
code=$(curl -s -o "$dir/after_kill" -w '%{http_code}' --max-time 120 -X POST \
    -H 'Content-Type: application/json' -d "$body" "${bases[1]}/refresh")
ms=$(($(date +%s%3N) - t0))
assert_eq "after SIGKILL of the refreshing server, another refreshes t ($ms ms)" "200 $ROWS" \
    "$code $(jq -r .rows_synced "$dir/after_kill")"
check "... without waiting for a lease to run out (under 60 s)" test "$ms" -lt 60000

# Deletions, once the grace (3 s) has passed for every old version: each object deleted once, and
# never before its version was replaced (the next version's first upload) plus the grace, less
# the second that delete_after, written in whole seconds, can lose.
sleep 6
dups=$(grep "^DELETE /$S3_BUCKET/instances/" "$front" | awk '{print $2}' | sort | uniq -d)
assert_eq "no object of the cache is deleted twice" "" "$dups"
deleted=$(grep -c "^DELETE /$S3_BUCKET/instances/[^ ]*/public/t/" "$front")
check "old versions of t were deleted ($deleted objects)" test "$deleted" -gt 0
early=$(awk -v grace=2000 -v pat="/$S3_BUCKET/instances/" '
    $1 == "PUT" && index($2, pat) == 1 && $2 ~ /\/public\/t\// {
        n = split($2, p, "/"); v = p[n - 1]; at = substr($NF, 4)
        if (!(v in first)) { first[v] = at; order[++k] = v }
    }
    $1 == "DELETE" && index($2, pat) == 1 && $2 ~ /\/public\/t\// {
        n = split($2, p, "/"); v = p[n - 1]; at = substr($NF, 4)
        if (!(v in del) || at < del[v]) del[v] = at
    }
    END {
        for (i = 1; i < k; i++) {
            v = order[i]; nx = order[i + 1]
            if ((v in del) && del[v] < first[nx] + grace) print v
        }
    }' "$front")
assert_eq "no version of t is deleted before it was replaced plus the grace" "" "$early"
current=$(store_sql "$home" "SELECT path FROM table_cache WHERE name = 't'")
check "the current version of t is not deleted" \
    test "$(grep -c "^DELETE /$S3_BUCKET/${current#s3://$S3_BUCKET/}/" "$front")" = 0
for p in "${pids[@]:1}"; do kill "$p" 2>/dev/null; done
