# status (§6.2) exit codes and output, targets, and project snapshots (§6.3).
home=$(new_home)
printf '[settings]\nstale_after_days = 7\n\n[targets.lite]\ntype = "sqlite"\npath = "%s"\n' \
    "$FIXTURES/chinook/Chinook_Sqlite.sqlite" >"$home/targets.toml"
out=$(DSCAT_HOME=$home "$DSCAT" status)
assert_eq "status before any refresh: exit 4" 4 "$?"
assert_match "status before any refresh: NOT BUILT" "^Catalog status: NOT BUILT" "$out"
check "status --json says NOT_BUILT" sh -c "DSCAT_HOME='$home' '$DSCAT' status --json | grep -q '\"status\": \"NOT_BUILT\"'"
check_fails "status does not create a store" store_exists "$home"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
out=$(DSCAT_HOME=$home "$DSCAT" status)
assert_eq "status after a refresh: exit 0" 0 "$?"
assert_match "status after a refresh: OK with counts" "Catalog status: OK.*- 11 tables" "$(printf '%s' "$out" | tr '\n' ' ')"
sed -i 's/stale_after_days = 7/stale_after_days = 0/' "$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" status >/dev/null
assert_eq "status with stale_after_days = 0: exit 3 (STALE)" 3 "$?"
sed -i 's/stale_after_days = 0/stale_after_days = 7/' "$home/targets.toml"
printf '[targets.never]\ntype = "sqlite"\npath = "/nonexistent.sqlite"\n' >>"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" status >/dev/null
assert_eq "a configured target never scanned makes the catalog STALE" 3 "$?"

out=$(DSCAT_HOME=$home "$DSCAT" targets)
assert_match "targets lists key, name and type" "^lite: lite \(sqlite\)" "$out"

# Project snapshots.
proj=$TEST_TMP/proj
mkdir -p "$proj/configs" "$proj/sub/deeper"
touch "$proj/configs/project.toml"
sed -i '/^\[targets.never\]/,$d' "$home/targets.toml"
(cd "$proj/sub/deeper" && DSCAT_HOME=$home "$DSCAT" snapshot) >"$TEST_TMP/snap.out" 2>&1
assert_eq "snapshot from a subdirectory finds the project: exit 0" 0 "$?"
today=$(date +%Y%m%d)
check "snapshot_YYYYMMDD holds metadata.parquet and scan_info.json" \
    test -f "$proj/artifacts/catalog/snapshot_$today/metadata.parquet" -a -f "$proj/artifacts/catalog/snapshot_$today/scan_info.json"
check "scan_info.json is a copy of last_scan.json" cmp "$home/last_scan.json" "$proj/artifacts/catalog/snapshot_$today/scan_info.json"
check "the summary sits beside the snapshots" test -f "$proj/artifacts/catalog/DATA_CATALOG_SUMMARY.md"
assert_eq "latest is a relative link to the snapshot" "snapshot_$today" "$(readlink "$proj/artifacts/catalog/latest")"
(cd "$proj" && DSCAT_HOME=$home "$DSCAT" snapshot) >/dev/null 2>&1
second=$(readlink "$proj/artifacts/catalog/latest")
assert_match "a second snapshot today gets _HHMMSS" "^snapshot_${today}_[0-9]{6}$" "$second"
out=$(cd "$proj" && DSCAT_HOME=$home "$DSCAT" snapshot --list)
assert_match "snapshot --list shows tables and columns" "snapshot_$today: 11 tables, 64 columns" "$out"
check_fails "snapshot outside a project fails" sh -c "cd / && DSCAT_HOME='$home' '$DSCAT' snapshot"
err=$(cd / && DSCAT_HOME=$home "$DSCAT" snapshot 2>&1)
assert_match "snapshot outside a project names the problem" "^dscat: could not detect project root" "$err"
rm -rf "$proj/artifacts"
(cd "$proj" && DSCAT_HOME=$home "$DSCAT" refresh) >/dev/null 2>&1
check "refresh inside a project makes a snapshot" test -L "$proj/artifacts/catalog/latest"

# Snapshots in the same second never share a directory: a suffix -2, -3, ... after _HHMMSS, the
# name taken by mkdir, so that neither a loop nor processes at once nor a refresh's automatic
# snapshot overwrite one another.
snaps() { find "$proj/artifacts/catalog" -mindepth 1 -maxdepth 1 -type d -name 'snapshot_*' | sort; }
rm -rf "$proj/artifacts"
for _ in 1 2 3 4; do
    (cd "$proj" && DSCAT_HOME=$home "$DSCAT" snapshot) | sed -n 's/^Snapshot created: //p'
done >"$TEST_TMP/created"
assert_eq "four snapshots in a row report four directories" 4 "$(sort -u "$TEST_TMP/created" | wc -l)"
assert_eq "... and four exist" 4 "$(snaps | wc -l)"
bad=$(sed 's|.*/||' "$TEST_TMP/created" | grep -Ev "^snapshot_${today}(_[0-9]{6}(-[0-9]+)?)?\$")
assert_eq "every snapshot name is snapshot_YYYYMMDD[_HHMMSS[-N]]" "" "$bad"
assert_eq "latest points at the last one" "$(tail -n 1 "$TEST_TMP/created" | sed 's|.*/||')" \
    "$(readlink "$proj/artifacts/catalog/latest")"
pids=""
for _ in 1 2 3 4; do
    (cd "$proj" && DSCAT_HOME=$home "$DSCAT" snapshot >/dev/null 2>&1) &
    pids+=" $!"
done
for p in $pids; do wait "$p"; done
assert_eq "four snapshots at once make four more directories" 8 "$(snaps | wc -l)"
complete=0
for d in $(snaps); do
    [ -f "$d/metadata.parquet" ] && [ -f "$d/scan_info.json" ] && complete=$((complete + 1))
done
assert_eq "each holds its metadata.parquet and scan_info.json" 8 "$complete"
(cd "$proj" && DSCAT_HOME=$home "$DSCAT" snapshot >/dev/null 2>&1 && DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1)
assert_eq "a manual snapshot and a refresh's automatic one are two directories" 10 "$(snaps | wc -l)"

# --list orders the snapshots of one second by their suffix as a number: -10 after -9.
cat_dir=$proj/artifacts/catalog
one=$(snaps | head -n 1)
for n in 2 3 9 10 11; do cp -r "$one" "$cat_dir/snapshot_${today}_235959-$n"; done
cp -r "$one" "$cat_dir/snapshot_${today}_235959"
listed=$(cd "$proj" && DSCAT_HOME=$home "$DSCAT" snapshot --list | sed -n "s/^  \(snapshot_${today}_235959[-0-9]*\):.*/\1/p" | tr '\n' ' ')
assert_eq "snapshot --list: one second's snapshots in the order they were made" \
    "snapshot_${today}_235959 snapshot_${today}_235959-2 snapshot_${today}_235959-3 snapshot_${today}_235959-9 snapshot_${today}_235959-10 snapshot_${today}_235959-11 " "$listed"
rm -rf "$cat_dir"/snapshot_"${today}"_235959*

# A snapshot that fails leaves nothing: no directory (under its name or a hidden one), the
# summary and latest as they were. First midway (last_scan.json cannot be read: the Parquet file
# is written, scan_info.json is not), then at the very end (the summary cannot replace the
# last one's), then killed before it is named.
before=$(snaps)
link_before=$(readlink "$cat_dir/latest")
sum_before=$(sha256sum <"$cat_dir/DATA_CATALOG_SUMMARY.md")
hidden() { find "$cat_dir" -mindepth 1 -maxdepth 1 -name '.snapshot-tmp-*' | wc -l; }
mv "$home/last_scan.json" "$home/last_scan.json.away"
mkdir "$home/last_scan.json"
err=$(cd "$proj" && DSCAT_HOME=$home "$DSCAT" snapshot 2>&1 >/dev/null)
assert_eq "a snapshot failing midway: exit 1" 1 "$?"
assert_match "... says why" "cannot read .*last_scan.json" "$err"
assert_eq "... leaves no snapshot directory" "$before" "$(snaps)"
assert_eq "... nor a hidden one" 0 "$(hidden)"
assert_eq "... latest unchanged" "$link_before" "$(readlink "$cat_dir/latest")"
assert_eq "... the summary unchanged" "$sum_before" "$(sha256sum <"$cat_dir/DATA_CATALOG_SUMMARY.md")"
rmdir "$home/last_scan.json"
mv "$home/last_scan.json.away" "$home/last_scan.json"

mv "$cat_dir/DATA_CATALOG_SUMMARY.md" "$TEST_TMP/summary.away"
mkdir -p "$cat_dir/DATA_CATALOG_SUMMARY.md/in-the-way"
err=$(cd "$proj" && DSCAT_HOME=$home "$DSCAT" snapshot 2>&1 >/dev/null)
assert_eq "a snapshot failing once named (the summary): exit 1" 1 "$?"
assert_match "... names the summary" "cannot write .*DATA_CATALOG_SUMMARY.md" "$err"
assert_eq "... its directory is removed" "$before" "$(snaps)"
assert_eq "... no hidden one" 0 "$(hidden)"
assert_eq "... latest unchanged" "$link_before" "$(readlink "$cat_dir/latest")"
rm -rf "$cat_dir/DATA_CATALOG_SUMMARY.md"
mv "$TEST_TMP/summary.away" "$cat_dir/DATA_CATALOG_SUMMARY.md"

{ DSCAT_TEST_CRASH_AT=snapshot_written DSCAT_HOME=$home "$DSCAT" snapshot --project "$proj"; } >/dev/null 2>&1
assert_eq "a snapshot killed before it is named: no snapshot directory" "$before" "$(snaps)"
assert_eq "... latest unchanged" "$link_before" "$(readlink "$cat_dir/latest")"
assert_eq "... its hidden directory is left" 1 "$(hidden)"
check "the next snapshot succeeds" sh -c "cd '$proj' && DSCAT_HOME='$home' '$DSCAT' snapshot"
assert_eq "... one more directory" "$(($(printf '%s\n' "$before" | wc -l) + 1))" "$(snaps | wc -l)"
assert_eq "... and the killed one's hidden directory is removed" 0 "$(hidden)"

# keep_scans: older scans are pruned, the current one always kept.
home3=$(new_home)
printf '[settings]\nkeep_scans = 2\n\n[targets.lite]\ntype = "sqlite"\npath = "%s"\n' \
    "$FIXTURES/chinook/Chinook_Sqlite.sqlite" >"$home3/targets.toml"
for _ in 1 2 3 4; do DSCAT_HOME=$home3 "$DSCAT" refresh >/dev/null 2>&1; done
assert_eq "keep_scans = 2 keeps two scans" 2 "$(store_sql "$home3" 'SELECT count(*) FROM scans')"
assert_eq "each kept scan has its tables" 22 "$(store_sql "$home3" 'SELECT count(*) FROM scan_tables')"
assert_eq "an unchanged table is stored once" "11 64" \
    "$(store_sql "$home3" "SELECT (SELECT count(*) FROM tables) || ' ' || (SELECT count(*) FROM columns)")"
# parallel_scans = 1 gives the same catalog as the default.
DSCAT_PARALLEL_SCANS=1 DSCAT_HOME=$home3 "$DSCAT" refresh >/dev/null 2>&1
assert_eq "parallel_scans = 1 catalogues the same tables" 11 "$(duckq "SELECT count(DISTINCT table_name) FROM read_parquet('$home3/metadata.parquet')")"

# snapshot --filter keeps one target's rows; an unknown one is refused.
printf '[targets.lite]\ntype = "sqlite"\npath = "%s"\n[targets.demo2]\ntype = "sqlite"\npath = "%s"\n' \
    "$FIXTURES/chinook/Chinook_Sqlite.sqlite" "$TEST_TMP/prof_copy.sqlite" >"$home3/targets.toml"
sqlite3 "$TEST_TMP/prof_copy.sqlite" 'CREATE TABLE only_here (id INTEGER PRIMARY KEY)'
DSCAT_HOME=$home3 "$DSCAT" refresh >/dev/null 2>&1
proj2=$TEST_TMP/proj2
mkdir -p "$proj2/configs" && touch "$proj2/configs/project.toml"
(cd "$proj2" && DSCAT_HOME=$home3 "$DSCAT" snapshot --filter demo2) >/dev/null 2>&1
check "snapshot --filter keeps only that target" test "$(duckq "SELECT string_agg(DISTINCT target) FROM read_parquet('$proj2/artifacts/catalog/latest/metadata.parquet')")" = demo2
err=$(cd "$proj2" && DSCAT_HOME=$home3 "$DSCAT" snapshot --filter nosuch 2>&1)
assert_match "snapshot --filter with an unknown target" "^dscat: No data found for target 'nosuch'" "$err"
