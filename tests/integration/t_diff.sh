# dscat diff between two scans of a PostgreSQL database changed in between.
pg_psql postgres -c 'CREATE DATABASE diffdb' >/dev/null
pg_psql diffdb -c 'CREATE TABLE a (id int PRIMARY KEY, v varchar(10), gone int, n int)' >/dev/null
home=$(new_home)
pg_target pg 'database = "diffdb"' >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
err=$(DSCAT_HOME=$home "$DSCAT" diff 2>&1)
assert_eq "diff with a single scan: trouble, exit 2" 2 "$(DSCAT_HOME=$home "$DSCAT" diff >/dev/null 2>&1; echo $?)"
assert_match "diff with a single scan says why" "fewer than two" "$err"
pg_psql diffdb -c 'CREATE TABLE b (id int)' -c 'ALTER TABLE a DROP COLUMN gone' \
    -c 'ALTER TABLE a ALTER COLUMN v TYPE varchar(20)' -c 'ALTER TABLE a ALTER COLUMN n SET NOT NULL' >/dev/null
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
out=$(DSCAT_HOME=$home "$DSCAT" diff)
assert_eq "diff with changes: exit 1" 1 "$(DSCAT_HOME=$home "$DSCAT" diff >/dev/null 2>&1; echo $?)"
check "md: table added" grep -qx -- '- table added: diffdb.public.b' <<<"$out"
check "md: column dropped" grep -qx -- '- column removed: diffdb.public.a.gone' <<<"$out"
check "md: type changed" grep -qx -- '- column changed: diffdb.public.a.v (type character varying(10) -> character varying(20))' <<<"$out"
check "md: nullability changed" grep -qx -- '- column changed: diffdb.public.a.n (now NOT NULL)' <<<"$out"
json=$(DSCAT_HOME=$home "$DSCAT" diff --format json)
assert_eq "json: every change" "column changed a n now NOT NULL
column changed a v type character varying(10) -> character varying(20)
column removed a gone null
table added b null null" "$(jq -r '.changes[] | "\(.change) \(.table) \(.column) \(.detail)"' <<<"$json" | sort)"
first=$(jq .from_scan <<<"$json")
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
assert_eq "a further scan with no change: exit 0" 0 "$(DSCAT_HOME=$home "$DSCAT" diff >/dev/null 2>&1; echo $?)"
check "explicit scans: the first against the newest" sh -c "DSCAT_HOME='$home' '$DSCAT' diff $first | grep -q 'table added'"
printf '%s' "$(pg_target pg2 'database = "diffdb"')" >>"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
err=$(DSCAT_HOME=$home "$DSCAT" diff 2>&1)
assert_match "several targets need --target" "a target is required" "$err"
assert_eq "--target picks one" 0 "$(DSCAT_HOME=$home "$DSCAT" diff --target pg >/dev/null 2>&1; echo $?)"
err=$(DSCAT_HOME=$home "$DSCAT" diff --target nosuch 2>&1)
assert_match "a target without any scan says so, not that it lacks a second one" \
    "target nosuch has no successful scan in the catalog" "$err"
