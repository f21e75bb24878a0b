# dscat demo: prints exactly the summary it wrote, and its counts are the demo database's own.
# DSCAT_HOME keeps the demo catalog and its database's temporary directory, the one of an earlier
# run replaced (without it, the demo removes what it wrote).
demo_home=$(new_home)
rmdir "$demo_home"
mkdir -p "$TEST_TMP/demo_tmp"
out=$(TMPDIR=$TEST_TMP/demo_tmp DSCAT_HOME=$demo_home "$DSCAT" demo 2>"$TEST_TMP/demo.err")
rc=$?
assert_eq "demo exits 0" 0 "$rc"
catalog=$(sed -n 's/^dscat demo: catalog //p' "$TEST_TMP/demo.err")
db=$(sed -n 's/^dscat demo: database //p' "$TEST_TMP/demo.err")
check "demo wrote its summary" test -f "$catalog/DATA_CATALOG_SUMMARY.md"
printf '%s\n' "$out" >"$TEST_TMP/demo.out"
assert_same "demo prints the summary it wrote" "$catalog/DATA_CATALOG_SUMMARY.md" "$TEST_TMP/demo.out"

tables=$(sqlite3 "$db" "SELECT count(*) FROM sqlite_master WHERE type IN ('table','view') AND name NOT LIKE 'sqlite\_%' ESCAPE '\\'")
columns=$(sqlite3 "$db" "SELECT count(*) FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type IN ('table','view') AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\\'")
assert_match "summary table count is sqlite_master's ($tables)" "\*\*Tables:\*\* $tables\$" "$(grep 'Tables:' "$catalog/DATA_CATALOG_SUMMARY.md")"
assert_match "summary column count is pragma table_info's ($columns)" "\*\*Columns:\*\* $columns\$" "$(grep 'Columns:' "$catalog/DATA_CATALOG_SUMMARY.md")"
check "demo catalog directory is private (0700)" test "$(stat -c %a "$catalog")" = 700
check "demo writes the catalog .gitignore" grep -qx 'catalog.db\*' "$catalog/.gitignore"
check "demo view is catalogued as a VIEW" test "$(duckq "SELECT DISTINCT table_type FROM '$catalog/metadata.parquet' WHERE table_name = 'order_totals'")" = VIEW

assert_match "a kept demo's database is in a temporary directory" \
    "^$TEST_TMP/demo_tmp/dscat-demo-[A-Za-z0-9]{6}/shop.db\$" "$db"
TMPDIR=$TEST_TMP/demo_tmp DSCAT_HOME=$demo_home "$DSCAT" demo >/dev/null 2>"$TEST_TMP/demo2.err"
db2=$(sed -n 's/^dscat demo: database //p' "$TEST_TMP/demo2.err")
assert_eq "a second run in the same catalog replaces the first run's directory" \
    "$(dirname "$db2")" "$(find "$TEST_TMP/demo_tmp" -mindepth 1 -maxdepth 1)"
check "... and the catalog still answers" sh -c "DSCAT_HOME='$demo_home' '$DSCAT' table customers >/dev/null"
other=$(new_home)
printf '[targets.x]\ntype = "sqlite"\npath = "/nonexistent.sqlite"\n' >"$other/targets.toml"
mkdir -p "$TEST_TMP/demo_tmp2"
TMPDIR=$TEST_TMP/demo_tmp2 DSCAT_HOME=$other "$DSCAT" demo >/dev/null 2>&1
assert_eq "a demo that fails (targets.toml not the demo's) leaves no temporary directory" "" \
    "$(find "$TEST_TMP/demo_tmp2" -mindepth 1)"
