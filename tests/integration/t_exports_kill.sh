# The exports are one unit with the store: a catalog refresh killed (SIGKILL) at 30 moments,
# spread over its whole run and one right after its exports are written; after the next command,
# the store and all three exports (last_scan.json, metadata.parquet, the summary) describe the
# same scan, `status` agrees, and no temporary file is left.
dir=$TEST_TMP/exports-kill
mkdir -p "$dir"
db=$dir/wide.sqlite
python3 - "$db" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
for t in range(800):
    cols = ", ".join(f"c{c} TEXT" for c in range(25))
    con.execute(f"CREATE TABLE t{t} (id INTEGER PRIMARY KEY, {cols})")
con.commit()
PY
home=$(new_home)
printf '[settings]\nkeep_scans = 3\n\n[targets.wide]\ntype = "sqlite"\npath = "%s"\n' "$db" >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
t0=$(date +%s%N)
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
run_ms=$((($(date +%s%N) - t0) / 1000000))
# The kills below are spread over this run's length; printed for information (a test asserts no
# time: bench/ measures them).
echo "        a whole refresh takes $run_ms ms"

# in_step: the store's last scan, the generation its exports were completed at, and the
# generation stamped in each of the three files, as one line.
in_step() {
    local g e j p m
    g=$(store_sql "$home" 'SELECT max(id) FROM scans')
    e=$(store_sql "$home" "SELECT value FROM catalog_meta WHERE key LIKE 'exports_generation%'")
    j=$(jq -r .generation "$home/last_scan.json")
    p=$(duckq "SELECT decode(value) FROM parquet_kv_metadata('$home/metadata.parquet') WHERE decode(key) = 'dscat_generation'")
    m=$(sed -n 's/^<!-- dscat generation \([0-9]*\) -->$/\1/p' "$home/DATA_CATALOG_SUMMARY.md")
    echo "$g $e $j $p $m"
}
same_scan() { local a; read -r -a a <<<"$1"; [ "${#a[@]}" = 5 ] && [ "${a[0]}" = "${a[1]}" ] &&
    [ "${a[0]}" = "${a[2]}" ] && [ "${a[0]}" = "${a[3]}" ] && [ "${a[0]}" = "${a[4]}" ]; }
check "after a whole refresh the store and the three exports are at one scan" same_scan "$(in_step)"

bad=
behind=0
for i in $(seq 0 28); do
    DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1 &
    pid=$!
    sleep "$(awk -v i="$i" -v ms="$run_ms" 'BEGIN { printf "%.3f", ms * i / 28 / 1000 }')"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [ "$(in_step | awk '{print ($1 == $2) ? "yes" : "no"}')" = no ] && behind=$((behind + 1))
    DSCAT_HOME=$home "$DSCAT" status >/dev/null 2>&1
    state=$(in_step)
    same_scan "$state" || bad="$bad [kill $i: $state]"
    left=$(find "$home" -name '*.tmp')
    [ -z "$left" ] || bad="$bad [kill $i left $left]"
done
# One moment exactly: after the three files are written, before the store records it.
(DSCAT_TEST_CRASH_AT=exports_written DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1) 2>/dev/null
state=$(in_step | awk '{print ($1 == $2) ? "in step" : "behind"}')
assert_eq "killed after writing the exports, before recording them: the store says so" behind "$state"
out=$(DSCAT_HOME=$home "$DSCAT" status --json 2>/dev/null)
# status was the next command: it regenerated them first
assert_eq "the next command (status) repaired them and reports them in step" true "$(jq -r .exports_in_step <<<"$out")"
same_scan "$(in_step)" || bad="$bad [exports_written: $(in_step)]"
assert_eq "30 kills ($behind between the store commit and the exports): after the next command, store and exports always at one scan, no *.tmp left" "" "$bad"

# An export removed (or replaced by something else) by hand is behind the store too: the next
# command writes it again, from the store.
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
cp "$home/DATA_CATALOG_SUMMARY.md" "$TEST_TMP/summary.before"
for f in metadata.parquet last_scan.json DATA_CATALOG_SUMMARY.md; do
    rm -f "$home/$f"
    err=$(DSCAT_HOME=$home "$DSCAT" find zzz 2>&1 >/dev/null)
    assert_match "$f removed: the next command says it regenerated the exports" "regenerated" "$err"
    check "... and $f is back" test -s "$home/$f"
done
rm -f "$home/last_scan.json" && mkdir "$home/last_scan.json"
assert_eq "last_scan.json a directory: status is STALE, naming the exports, and cannot repair it" \
    "false" "$(DSCAT_HOME=$home "$DSCAT" status --json 2>/dev/null | jq -r .exports_in_step)"
rmdir "$home/last_scan.json"
assert_eq "once it is gone, status repairs it" \
    "true" "$(DSCAT_HOME=$home "$DSCAT" status --json 2>/dev/null | jq -r .exports_in_step)"
assert_same "the summary written again is the one the refresh wrote" "$TEST_TMP/summary.before" "$home/DATA_CATALOG_SUMMARY.md"

# dscat serve asked while its exports are behind (a refresh killed after its store commit; on a
# shared store, another machine's refresh): it says so, but does not call the catalog STALE for
# what its own catch-up mends (here an hour away).
. "$(dirname "${BASH_SOURCE[0]}")/../harness/http.sh"
printf '[settings]\nkeep_scans = 3\ndeletion_interval_seconds = 3600\n\n[targets.wide]\ntype = "sqlite"\npath = "%s"\n' "$db" >"$home/targets.toml"
start_server "$home" "$dir/serve.log"
(DSCAT_TEST_CRASH_AT=exports_written DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1) 2>/dev/null
assert_eq "GET /status with the exports behind a moment: OK, exports_in_step false" "OK false" \
    "$(curl -s "$B/status" | jq -r '"\(.status) \(.exports_in_step)"')"
kill -TERM "$srv_pid" 2>/dev/null
wait "$srv_pid" 2>/dev/null
printf '[settings]\nkeep_scans = 3\n\n[targets.wide]\ntype = "sqlite"\npath = "%s"\n' "$db" >"$home/targets.toml"

# In a directory the next command cannot write, status reports the difference instead.
(DSCAT_TEST_CRASH_AT=exports_written DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1) 2>/dev/null
chmod 0755 "$home"
chmod 0644 "$home/targets.toml"
if [ "$(store_engine)" = sqlite ]; then chmod 0644 "$home/catalog.db"; fi
store_checkpoint "$home"
out=$(runuser -u nobody -- env DSCAT_HOME="$home" HOME=/nonexistent "$DSCAT" status 2>&1)
rc=$?
assert_eq "exports behind in a read-only catalog: status is STALE (exit 3)" 3 "$rc"
assert_match "and says why" "Exports: behind the store" "$out"
