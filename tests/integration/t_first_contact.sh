# First contact: what a user of the older tool meets in the first hour, one check per habit
# (credentials, stale warnings, bare names, one naming rule, Unicode search, settings lines,
# Parquet row order, the demo, help on targets.toml, progress, Unicode user names).
dir=$TEST_TMP/first
mkdir -p "$dir"

# All missing credential variables of a target are named in one error.
home=$(new_home)
printf '[targets.oms]\nhost_env = "FC_HOST"\nuser_env = "FC_USER"\npassword_env = "FC_PASSWORD"\n' >"$home/targets.toml"
err=$(env -u FC_HOST -u FC_USER -u FC_PASSWORD DSCAT_HOME="$home" "$DSCAT" refresh 2>&1 >/dev/null)
assert_match "missing credentials: every unset variable in one error" \
    "environment variables FC_HOST, FC_USER, FC_PASSWORD are not set" "$err"
err=$(FC_HOST=h FC_USER=u env -u FC_PASSWORD DSCAT_HOME="$home" "$DSCAT" refresh 2>&1 >/dev/null)
assert_match "missing credentials: one unset variable named alone" \
    "environment variable FC_PASSWORD is not set$" "$err"

# A PostgreSQL catalog: customers (unique), a table with a space in its name, a Unicode table.
pg_psql postgres -c 'CREATE DATABASE fcshop' >/dev/null
pg_psql fcshop >/dev/null <<'SQL'
CREATE TABLE customers (customer_id int PRIMARY KEY, "Straße" text);
CREATE TABLE "my orders" (order_id int PRIMARY KEY, customer_id int REFERENCES customers(customer_id));
CREATE TABLE "ünïcødé" (id int PRIMARY KEY, note text);
SQL
home=$(new_home)
pg_target pg 'database = "fcshop"' >"$home/targets.toml"
run() { DSCAT_HOME=$home "$DSCAT" "$@"; }
check "refresh of the first-contact database" run refresh

# Stale warning: nothing when fresh, the older tool's warning on stderr when STALE.
for c in "find customer" "table customers" "joins customers"; do
    # shellcheck disable=SC2086
    assert_eq "stale warning: none from '$c' when the catalog is fresh" "" "$(run $c 2>&1 >/dev/null)"
done
stale=$(new_home)
cp -r "$home/." "$stale/"
store_copy "$home" "$stale"
printf '[settings]\nstale_after_days = 0\n\n' | cat - "$home/targets.toml" >"$stale/targets.toml"
for c in "find customer" "table customers" "joins customers"; do
    # shellcheck disable=SC2086
    err=$(DSCAT_HOME=$stale "$DSCAT" $c 2>&1 >/dev/null)
    assert_match "stale warning: '$c' warns on stderr when STALE" \
        "^WARNING: Catalog is [0-9]+ days old\. Consider running 'dscat refresh'\.$" "$err"
    # shellcheck disable=SC2086
    check "stale warning: '$c' keeps stdout clean" sh -c "! DSCAT_HOME='$stale' '$DSCAT' $c 2>/dev/null | grep -q WARNING"
done
assert_eq "stale warning: same rule as status (exit 3)" 3 "$(DSCAT_HOME=$stale "$DSCAT" status >/dev/null; echo $?)"

# Bare table names.
check "bare table name: table customers" sh -c "DSCAT_HOME='$home' '$DSCAT' table customers | head -1 | grep -qx '# fcshop.public.customers'"
check "bare table name: joins customers" sh -c "DSCAT_HOME='$home' '$DSCAT' joins customers | grep -qF 'customers.customer_id'"
amb=$(new_home)
{ pg_target pg 'database = "fcshop"'; pg_target pg2 'database = "fcshop"'; } >"$amb/targets.toml"
DSCAT_HOME=$amb "$DSCAT" refresh >/dev/null 2>&1
err=$(DSCAT_HOME=$amb "$DSCAT" table customers 2>&1 >/dev/null)
assert_eq "bare table name: an ambiguous one exits 1" 1 "$(DSCAT_HOME=$amb "$DSCAT" table customers >/dev/null 2>&1; echo $?)"
check "bare table name: an ambiguous one lists the candidates" \
    sh -c "printf '%s' '$err' | grep -q 'pg:fcshop.public.customers' && printf '%s' '$err' | grep -q 'pg2:fcshop.public.customers'"

# One naming rule: db.schema.table, a part with a space quoted, in every human output.
Q='fcshop.public."my orders"'
out=$(run find customer_id)
check "naming rule: find's Table column" grep -qF "| $Q | customer_id |" <<<"$out"
check "naming rule: find's FK column (cut to 30 as the older tool cut it)" grep -qF '| fcshop.public.customers.cus... |' <<<"$out"
check "naming rule: table's inbound line names both tables" \
    grep -qxF -- "- $Q.customer_id → fcshop.public.customers.customer_id" <<<"$(run table customers)"
check "naming rule: joins' inbound line names both tables" \
    grep -qxF -- "- $Q.customer_id → fcshop.public.customers.customer_id" <<<"$(run joins customers)"
check "naming rule: joins' outbound line" \
    grep -qxF -- "- $Q.customer_id → fcshop.public.customers.customer_id" <<<"$(run joins 'my orders')"
check "naming rule: the summary's Key Relationships" \
    grep -qxF "| $Q.customer_id | fcshop.public.customers.customer_id |" "$home/DATA_CATALOG_SUMMARY.md"
check "naming rule: the diagram's labels" grep -qF "[\"fcshop.public.'my orders'\"]" "$home/DATA_CATALOG_SUMMARY.md"

# Unicode search.
assert_eq "unicode find: ÜNÏCØDÉ finds ünïcødé" "ünïcødé" \
    "$(run find ÜNÏCØDÉ --format json | jq -r '[.[].table_name] | unique | join(",")')"
assert_eq "unicode find: STRASSE finds Straße (full case folding)" "Straße" \
    "$(run find STRASSE --format json | jq -r '.[0].column_name')"
check "unicode find: --by-table in table format lists the matching columns" \
    grep -qF '| fcshop.public.customers | customer_id, Straße |' <<<"$(run find customer_id straße --by-table)"
check "unicode find: searched N columns counts what the filters left" \
    grep -qx '1 results (searched 6 columns)' <<<"$(DSCAT_HOME=$amb "$DSCAT" find note --target pg | tail -1)"
check "unicode find: without filters every column is searched" \
    grep -qx '2 results (searched 12 columns)' <<<"$(DSCAT_HOME=$amb "$DSCAT" find note | tail -1)"
check "unicode find: searched 0 columns when a filter leaves none" \
    grep -qx 'No matches found.' <<<"$(run find note --schema nosuch)"

# [settings] range errors name the key's own line.
sh_home=$(new_home)
printf '[settings]\nstale_after_days = 7\n\nkeep_scans = 1\n' >"$sh_home/targets.toml"
assert_match "settings range error: names the key's own line" "targets.toml: line 4: key 'keep_scans' must be at least 2" \
    "$(DSCAT_HOME=$sh_home "$DSCAT" status 2>&1)"
printf '[settings]\n# comment\nparallel_scans = 0\n' >"$sh_home/targets.toml"
assert_match "settings range error: parallel_scans on line 3" "line 3: key 'parallel_scans'" \
    "$(DSCAT_HOME=$sh_home "$DSCAT" status 2>&1)"

# metadata.parquet row order: targets in first-scan order (zeta before alpha), then names.
sqlite3 "$dir/a.sqlite" 'CREATE TABLE b (y INT, x INT); CREATE TABLE a (z INT);'
po=$(new_home)
printf '[targets.zeta]\ntype = "sqlite"\npath = "%s"\n' "$dir/a.sqlite" >"$po/targets.toml"
DSCAT_HOME=$po "$DSCAT" refresh >/dev/null 2>&1
{ pg_target alpha 'database = "fcshop"'; printf '[targets.zeta]\ntype = "sqlite"\npath = "%s"\n' "$dir/a.sqlite"; } >"$po/targets.toml"
DSCAT_HOME=$po "$DSCAT" refresh >/dev/null 2>&1
assert_eq "parquet order: targets in first-scan order, then database, schema, table, ordinal" \
    "zeta.a.a.z zeta.a.b.y zeta.a.b.x alpha.fcshop.customers.customer_id alpha.fcshop.customers.Straße" \
    "$(duckq "SELECT target || '.' || database || '.' || table_name || '.' || column_name FROM '$po/metadata.parquet'" | head -5 | tr '\n' ' ' | sed 's/ $//')"

# dscat demo: DSCAT_HOME honoured, temporary files removed otherwise, three commands to try.
dh=$(new_home)
DSCAT_HOME=$dh "$DSCAT" demo >/dev/null 2>"$dir/demo.err"
check "demo honours DSCAT_HOME: the catalog is there" test -f "$dh/metadata.parquet"
check "demo honours DSCAT_HOME: its catalog answers table customers" sh -c "DSCAT_HOME='$dh' '$DSCAT' table customers >/dev/null"
check "demo ends with three commands to try" test "$(grep -c '^  dscat \(find\|table\|joins\) ' "$dir/demo.err")" = 3
mkdir -p "$dir/dtmp"
TMPDIR=$dir/dtmp env -u DSCAT_HOME "$DSCAT" demo >/dev/null 2>"$dir/demo2.err"
assert_eq "demo without DSCAT_HOME removes its temporary files" "" "$(ls -A "$dir/dtmp")"
check "demo without DSCAT_HOME still shows the three commands" test "$(grep -c 'DSCAT_HOME=DIR dscat \(find\|table\|joins\) ' "$dir/demo2.err")" = 3
fh=$(new_home)
printf '[targets.mine]\ntype = "sqlite"\npath = "/x.sqlite"\n' >"$fh/targets.toml"
check_fails "demo refuses a DSCAT_HOME with a targets.toml of its own" env DSCAT_HOME="$fh" "$DSCAT" demo
check "demo left that targets.toml alone" grep -q mine "$fh/targets.toml"

# Help that says it: the error points at dscat help targets, which shows a complete targets.toml.
nh=$(new_home)
assert_match "help targets: the missing-file error points at it" "see dscat help targets" "$(DSCAT_HOME=$nh "$DSCAT" status 2>&1)"
"$DSCAT" help targets | sed -n '/^\[settings\]/,/^Refused/p' | grep -v '^Refused' >"$nh/targets.toml"
check "help targets: the example is a valid targets.toml" env DSCAT_HOME="$nh" "$DSCAT" targets
assert_eq "help targets: it shows every source type" "duckdb mysql postgres sqlite sqlserver" \
    "$(DSCAT_HOME=$nh "$DSCAT" targets --json | jq -r '[.[].type] | sort | join(" ")')"
check "help targets: it is commented" test "$("$DSCAT" help targets | grep -c '#')" -ge 20

# Progress: live on a terminal (stderr), nothing on a pipe, never on stdout.
script -qc "DSCAT_HOME='$home' '$DSCAT' refresh 2>'$dir/tty.err' >'$dir/tty.out'" /dev/null </dev/null >/dev/null
# stderr is the terminal only inside script; a redirect makes it a file, so run without it too.
script -qc "DSCAT_HOME='$home' '$DSCAT' refresh >'$dir/tty2.out'" "$dir/tty2.log" </dev/null >/dev/null
check "progress: on a terminal, live progress on stderr" grep -q 'databases scanned' "$dir/tty2.log"
check "progress: never on stdout" sh -c "! grep -q 'databases scanned' '$dir/tty2.out'"
DSCAT_HOME=$home "$DSCAT" refresh >"$dir/pipe.out" 2>"$dir/pipe.err"
check "progress: none on a pipe" sh -c "! grep -q 'databases scanned' '$dir/pipe.err'"
pg_psql fcshop -c "INSERT INTO customers SELECT g, 'n' FROM generate_series(1, 1204) g" >/dev/null
cache=$TEST_TMP/first-cache
DSCAT_HOME=$home DSCAT_CACHE_ROOT=$cache "$DSCAT" cache refresh pg public.customers >"$dir/cache.out" 2>"$dir/cache.err"
assert_match "progress: a finished table data refresh logs one Loaded line on stderr" \
    '^Loaded 1,204 rows \([0-9]+\.[0-9] MiB\) in [0-9]+\.[0-9] s' "$(cat "$dir/cache.err")"
check "progress: the Loaded line is not on stdout" sh -c "! grep -q Loaded '$dir/cache.out'"
check "progress: no live cache line on a pipe" sh -c "! grep -q 'cache refresh:' '$dir/cache.err'"
pg_psql fcshop -c "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 3000000) g" >/dev/null
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
script -qc "DSCAT_HOME='$home' DSCAT_CACHE_ROOT='$cache' '$DSCAT' cache refresh pg public.big >'$dir/tty3.out'" "$dir/tty3.log" </dev/null >/dev/null
check "progress: cache refresh on a terminal shows rows copied live, with the rate" \
    grep -Eq 'cache refresh: public\.big: [0-9,]+ rows, [0-9.]+ s, [0-9]+ rows/s' "$dir/tty3.log"
check "progress: and its Loaded line" grep -q 'Loaded 3,000,000 rows' "$dir/tty3.log"
check "progress: nothing of it on stdout" sh -c "! grep -q -e 'cache refresh:' -e Loaded '$dir/tty3.out'"

# Annotation user names sanitised per Unicode character.
an=$(new_home)
DSCAT_HOME=$an DSCAT_USER=José "$DSCAT" annotate fcshop.public.customers note hola >/dev/null
check "unicode user: José → José.json" test -f "$an/annotations/José.json"
DSCAT_HOME=$an DSCAT_USER='a/b c' "$DSCAT" annotate fcshop.public.customers note x >/dev/null
check "unicode user: other characters become one _ each" test -f "$an/annotations/a_b_c.json"
