# shellcheck shell=bash
# The checks of several `dscat serve` instances sharing one S3 cache root (t_instances: one
# catalog directory; t_instances_pg: one PostgreSQL store, a directory per instance). The caller
# sets bases (the servers' URLs) and pids, dir (a scratch directory), front (the S3 server's
# request log), prefix (the cache root's prefix in the bucket), ROWS (rows of public.t) and
# t_start (when the servers started, ms), and defines store_current_path (the store's path of t).

body='{"connection_id":"pg","schema_name":"public","table_name":"t","data":true}'

# 30 concurrent data refreshes of public.t, ten through each server: each answered with the
# table's rows, its versions written one at a time (the S3 server's order of uploads never comes
# back to a version after another), fewer versions than requests.
instances_refresh_storm() {
    local curls=() bad= i runs written
    for i in $(seq 0 29); do
        curl -s -o "$dir/r$i" -w '%{http_code}' --max-time 300 -X POST \
            -H 'Content-Type: application/json' -d "$body" "${bases[i % 3]}/refresh" >"$dir/code$i" &
        curls+=($!)
    done
    wait "${curls[@]}"
    for i in $(seq 0 29); do
        [ "$(cat "$dir/code$i")" = 200 ] && [ "$(jq -r .rows_synced "$dir/r$i" 2>/dev/null)" = "$ROWS" ] ||
            bad="$bad [$i: $(cat "$dir/code$i") $(head -c 200 "$dir/r$i")]"
    done
    assert_eq "30 concurrent refreshes over three servers: each answered 200 with the table's $ROWS rows" "" "$bad"
    # Each answer names the fallback column, a request that took another's result as well.
    bad=
    for i in $(seq 0 29); do
        [ "$(jq -r '[.warnings[]?.message | select(test("column far is stored as text"))] | length' "$dir/r$i" 2>/dev/null)" = 1 ] ||
            bad="$bad [$i: $(head -c 300 "$dir/r$i")]"
    done
    assert_eq "... and each names the column stored in a fallback, joined or not" "" "$bad"
    runs=$(grep -o "^PUT /$S3_BUCKET/$prefix/[^ ]*/public/t/[^/ ]*/" "$front" |
        awk -F/ '{print $(NF-1)}' | uniq)
    check "versions of t were written (at least one)" test -n "$runs"
    assert_eq "versions of t are written one at a time: no version's uploads interleave with another's" "" \
        "$(sort <<<"$runs" | uniq -d)"
    written=$(wc -l <<<"$runs")
    check "fewer versions than refreshes: waiting requests took the result of the one they waited for ($written)" \
        test "$written" -lt 30
    instances_versions=$runs
}

# The schedule of public.s (every 2 s) across the three: once per period, not once per server;
# `dscat schedule` in directory $1 shows its last run.
instances_schedule_once() {
    local elapsed s_versions
    sleep 5
    elapsed=$((($(date +%s%3N) - t_start) / 1000))
    s_versions=$(grep -o "^PUT /$S3_BUCKET/$prefix/[^ ]*/public/s/[^/ ]*/data.parquet" "$front" |
        sort -u | wc -l)
    check "the schedule of s ran ($s_versions times in $elapsed s)" test "$s_versions" -ge 2
    check "... at most once per period across three servers (at most $((elapsed / 2 + 2)))" \
        test "$s_versions" -le $((elapsed / 2 + 2))
    assert_match "dscat schedule shows the last run of s" "public.s.*ok" \
        "$(DSCAT_HOME=$1 "$DSCAT" schedule 2>&1)"
}

# SIGKILL of the first server while it refreshes t: another server refreshes t right after.
instances_kill_refreshing() {
    local killed_curl t0 code ms
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
}

# Deletions, once the grace (3 s) has passed for every old version: each object deleted once,
# never before its version was replaced (the next version's first upload) plus the whole grace
# (delete_after is rounded up to its second, never down); never the current version.
instances_deletions() {
    local dups deleted early current
    sleep 6
    dups=$(grep "^DELETE /$S3_BUCKET/$prefix/" "$front" | awk '{print $2}' | sort | uniq -d)
    assert_eq "no object of the cache is deleted twice" "" "$dups"
    deleted=$(grep -c "^DELETE /$S3_BUCKET/$prefix/[^ ]*/public/t/" "$front")
    check "old versions of t were deleted ($deleted objects)" test "$deleted" -gt 0
    early=$(awk -v grace=3000 -v pat="/$S3_BUCKET/$prefix/" '
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
    current=$(store_current_path)
    check "the current version of t is not deleted" \
        test "$(grep -c "^DELETE /$S3_BUCKET/${current#s3://$S3_BUCKET/}/" "$front")" = 0
}
