# Append refreshes of the data cache: rows added at the source between refreshes appear exactly
# once (count and checksum equal in the source and over the cache), the server filters (the
# PostgreSQL statement log shows the key predicate), an empty delta publishes nothing, full_every
# reconciles, a reader never sees a mix while 20 appends run, every key type and engine, hostile
# key names, the configuration's mistakes; on a local root and on S3.
# variants: fs s3
export DSCAT_DELETION_GRACE=1
. "$(dirname "${BASH_SOURCE[0]}")/../harness/cache_root.sh"
use_cache_root "append-root-${CACHE_VARIANT:-fs}"
work=$TEST_TMP/append-${CACHE_VARIANT:-fs}
mkdir -p "$work"
db=append_${CACHE_VARIANT:-fs}
pg_psql postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
pg_psql postgres -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'appender')
    THEN CREATE ROLE appender LOGIN SUPERUSER; END IF; END \$\$" \
    -c "ALTER ROLE appender SET log_statement = 'all'" >/dev/null
pg_role_password appender
pg_psql "$db" >/dev/null <<'SQL'
CREATE TABLE events (id bigint PRIMARY KEY, payload text, amount numeric(10,2));
INSERT INTO events SELECT g, 'row ' || g, g * 1.25 FROM generate_series(1, 500) g;
CREATE TABLE "odd ""tab'le" ("we""ird key's" int, v text);
INSERT INTO "odd ""tab'le" VALUES (1, 'a'), (2, 'b');
CREATE TABLE stamps (ts timestamptz, t timestamp, d date, n numeric(20,6), s text, v text);
INSERT INTO stamps VALUES ('2024-01-01 10:00:00.123456+02', '2024-01-01 10:00:00.123456',
  '2024-01-01', 1.000001, 'a', 'first');
CREATE TABLE floaty (f double precision, b boolean, v text);
SQL
home=$(new_home)
{
    pg_target pg "database = \"$db\""
    printf '[[targets.pg.cache]]\ntable = "public.events"\nrefresh_every = "1h"\nmode = "append"\n'
    printf 'append_key = "id"\n'
} >"$home/targets.toml"
export T_PG_USER=appender
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
run() { DSCAT_HOME=$home "$DSCAT" "$@"; }
q() { run query "$1" --format csv | tail -n +2; }
# state: "<count>,<checksum>" of public.events in the source, and over the cache.
src_state() {
    pg_psql "$db" -c "SELECT count(*) || '|' || md5(string_agg(id || ':' || payload || ':' || amount, ',' ORDER BY id)) FROM events"
}
cache_state() {
    q "SELECT count(*) || '|' || md5(string_agg(id || ':' || payload || ':' || amount, ',' ORDER BY id)) FROM pg.public.events"
}
table_key=pg/public/events

out=$(run cache refresh pg public.events --append-key id --json)
assert_eq "the first append of a table without a version is a full refresh" "full 500" \
    "$(jq -r '.tables[0] | "\(.refresh_kind) \(.rows)"' <<<"$out")"
assert_eq "first refresh: source and cache agree" "$(src_state)" "$(cache_state)"
first=$(jq -r '.tables[0].version' <<<"$out")

# Rows added between refreshes appear exactly once.
pg_psql "$db" -c "INSERT INTO events SELECT g, 'row ' || g, g * 1.25 FROM generate_series(501, 530) g" >/dev/null
before=$(grep -c '^\[appender\] LOG:  statement:' "$PG_LOG")
out=$(run cache refresh pg public.events --append-key id --json)
assert_eq "an append reads the new rows only" "append 30 530 2" \
    "$(jq -r '.tables[0] | "\(.refresh_kind) \(.rows) \(.version_rows) \(.files)"' <<<"$out")"
assert_eq "after an append: source and cache agree (count, checksum)" "$(src_state)" "$(cache_state)"
sleep 0.3
check "the PostgreSQL statement log shows the key predicate sent to the server" \
    bash -c "tail -n +$((before + 1)) '$PG_LOG' | grep -F '[appender] LOG:  statement:' | grep -qF 'FROM \"public\".\"events\" WHERE \"id\" > 500)'"
second=$(jq -r '.tables[0].version' <<<"$out")
check "the append published a new version" test "$first" != "$second"
assert_eq "cache ls: the totals of the version's files" "530 2 id" \
    "$(run cache ls pg --json | jq -r '.tables[] | select(.table_name == "events") | "\(.rows) \(.files) \(.append_key)"')"

# An empty delta publishes nothing.
out=$(run cache refresh pg public.events --append-key id --json)
assert_eq "an empty delta: no version published, the current one stays" "false 0 $second" \
    "$(jq -r '.tables[0] | "\(.version_published) \(.rows) \(.version)"' <<<"$out")"
assert_eq "the store still points at that version" "$second" \
    "$(store_sql "$home" "SELECT version FROM table_cache WHERE name = 'events'")"
human=$(run cache refresh pg public.events --append-key id 2>/dev/null)
assert_match "the CLI says no version was published" "no new rows: no version published" "$human"

# Updates and deletes are not seen by an append; a full refresh reconciles.
pg_psql "$db" -c "DELETE FROM events WHERE id = 7" -c "INSERT INTO events VALUES (531, 'row 531', 1.25)" >/dev/null
run cache refresh pg public.events --append-key id >/dev/null 2>&1
assert_eq "an append sees the new row but not the deleted one" "$(($(pg_psql "$db" -c 'SELECT count(*) FROM events') + 1))" \
    "$(q 'SELECT count(*) FROM pg.public.events')"
pg_psql "$db" -c "INSERT INTO events VALUES (7, 'row 7', 8.75)" -c "DELETE FROM events WHERE id = 531" >/dev/null
run cache refresh pg public.events >/dev/null 2>&1
assert_eq "a full refresh reconciles" "$(src_state)" "$(cache_state)"

# Versions stay immutable: the new version holds the old one's files as its own (hard links on a
# local root, server-side copies on S3), and the old version's deletion never touches them.
pg_psql "$db" -c "INSERT INTO events SELECT g, 'row ' || g, g * 1.25 FROM generate_series(531, 540) g" >/dev/null
old=$(store_sql "$home" "SELECT path FROM table_cache WHERE name = 'events'")
# A grace of 3 s: the refresh's own maintenance, as it exits, must not find the old version due
# before it is looked at. delete_after is rounded up to its second: due within 4 s.
DSCAT_DELETION_GRACE=3 run cache refresh pg public.events --append-key id >/dev/null 2>&1
new=$(store_sql "$home" "SELECT path FROM table_cache WHERE name = 'events'")
v=${new##*/}
if [ "${CACHE_VARIANT:-fs}" = s3 ]; then
    assert_eq "S3: the new version holds the old file and the new one" "data-1.parquet
data.parquet" "$(s3_keys "${root#s3://$S3_BUCKET/}/$table_key/$v/" | sed 's|.*/||' | grep parquet | sort)"
    check "S3: the old file was copied on the server (CopyObject), not uploaded again" \
        grep -q "PUT /$S3_BUCKET/.*/$v/data.parquet signed copy-from /$S3_BUCKET/.*/${old##*/}/data.parquet" \
        "$TEST_TMP/s3/front.log"
else
    assert_eq "local root: the old file is a hard link in the new version" \
        "$(stat -c %i "$old/data.parquet")" "$(stat -c %i "$new/data.parquet")"
fi
sleep 4.1
run cache ls >/dev/null 2>&1 # deletes the due old versions
assert_eq "only the current version is left after the grace period" 1 "$(cache_versions "$table_key" | wc -l)"
assert_eq "and it reads whole: source and cache agree" "$(src_state)" "$(cache_state)"

# A reader in a loop during 20 appends only ever sees a published state. The old versions stay
# for a grace period longer than any read here (a slow build's too), then go.
echo "$(cache_state)" >"$work/published"
(
    export DSCAT_DELETION_GRACE=60
    for k in $(seq 1 20); do
        lo=$((540 + (k - 1) * 7 + 1)) hi=$((540 + k * 7))
        pg_psql "$db" -c "INSERT INTO events SELECT g, 'row ' || g, g * 1.25 FROM generate_series($lo, $hi) g" >/dev/null
        if DSCAT_HOME=$home "$DSCAT" cache refresh pg public.events --append-key id >/dev/null 2>&1; then
            src_state >>"$work/published"
        else
            echo "append $k failed" >>"$work/writer.err"
        fi
    done
    touch "$work/appends.done"
) &
reads=0
: >"$work/reads"
while [ ! -e "$work/appends.done" ]; do
    cache_state >>"$work/reads" 2>&1
    reads=$((reads + 1))
done
wait
echo "  $reads reads during 20 appends"
check "every append under load succeeded" test ! -s "$work/writer.err"
bad=$(grep -vxF -f "$work/published" "$work/reads" | head -3)
assert_eq "a reader only ever sees a published state, never a mix or a torn one" "" "$bad"
check "the reader read often enough ($reads reads)" test "$reads" -gt 5
assert_eq "after 20 appends: source and cache agree" "$(src_state)" "$(cache_state)"
store_sql "$home" "UPDATE pending_deletions SET delete_after = '2000-01-01T00:00:00Z'"
run cache ls >/dev/null 2>&1
assert_eq "the old versions are deleted once due, the current one reads whole" \
    "1 $(src_state)" "$(cache_versions "$table_key" | wc -l) $(cache_state)"

# A request that finds the table being appended to waits and takes that append's result as its
# own: the new rows, as an append (not the version's whole count). The source's table is held
# locked a moment so that the first append is still reading when the second asks.
pg_psql "$db" -c "INSERT INTO events SELECT g, 'row ' || g, 3 FROM generate_series(1601, 1605) g" >/dev/null
pg_psql "$db" -c "BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(2); COMMIT" >/dev/null &
holder=$!
sleep 0.3
run cache refresh pg public.events --append-key id --json >"$work/first.json" 2>/dev/null &
first_pid=$!
sleep 0.5
run cache refresh pg public.events --append-key id --json >"$work/joined.json" 2>/dev/null
wait "$first_pid" "$holder"
assert_eq "the append that ran: its 5 new rows, not joined" "append 5 false" \
    "$(jq -r '.tables[0] | "\(.refresh_kind) \(.rows) \(.joined)"' "$work/first.json")"
assert_eq "the request that waited for it: joined, the same rows, bytes and version" \
    "append true $(jq -r '.tables[0] | "\(.rows) \(.bytes) \(.version) \(.version_rows)"' "$work/first.json")" \
    "$(jq -r '.tables[0] | "\(.refresh_kind) \(.joined) \(.rows) \(.bytes) \(.version) \(.version_rows)"' "$work/joined.json")"
assert_eq "... and the cache agrees with the source" "$(src_state)" "$(cache_state)"

# Crashes: an append killed before its swap leaves the current version whole and an orphan (its
# links or copies) that the orphan rule removes without touching the current version; one killed
# after the swap has published its version.
published=$(cache_state)
pg_psql "$db" -c "INSERT INTO events SELECT g, 'row ' || g, 2 FROM generate_series(2001, 2010) g" >/dev/null
for stage in streaming file_closed; do
    DSCAT_TEST_CRASH_AT=$stage run cache refresh pg public.events --append-key id >/dev/null 2>&1
    assert_eq "append killed at '$stage': the previous version is current and whole" "$published" "$(cache_state)"
done
DSCAT_TEST_CRASH_AT=swap_committed run cache refresh pg public.events --append-key id >/dev/null 2>&1
assert_eq "append killed after its swap: the new version is current and whole" "$(src_state)" "$(cache_state)"
current=$(store_sql "$home" "SELECT path FROM table_cache WHERE name = 'events'")
sleep 1.5
age_cache_versions
run cache ls >/dev/null 2>"$work/orphans.err"
check "the killed appends left orphans, reported" grep -q 'orphaned version' "$work/orphans.err"
sleep 2.1 # a grace of 1 s, rounded up to its second
run cache ls >/dev/null 2>&1
unset DSCAT_TEST_ORPHAN_AGE
assert_eq "only the current version is left" "$current" "$(cache_version_paths | grep '/events/')"
assert_eq "and it reads whole" "$(src_state)" "$(cache_state)"

# A hostile key and table name (quotes, spaces).
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
run cache refresh pg "public.\"odd \"\"tab'le\"" --append-key "we\"ird key's" >/dev/null 2>&1
pg_psql "$db" -c "INSERT INTO \"odd \"\"tab'le\" VALUES (3, 'c'), (4, 'd')" >/dev/null
out=$(run cache refresh pg "public.\"odd \"\"tab'le\"" --append-key "we\"ird key's" --json 2>/dev/null)
assert_eq "a key named with quotes and spaces: the new rows appended" "append 2" \
    "$(jq -r '.tables[0] | "\(.refresh_kind) \(.rows)"' <<<"$out")"
assert_eq "and read back once each" "1|2|3|4" \
    "$(q "SELECT string_agg(\"we\"\"ird key's\"::VARCHAR, '|' ORDER BY \"we\"\"ird key's\") FROM pg.public.\"odd \"\"tab'le\"")"

# A key whose name equals another column's but for case: the cache's files are read without case.
pg_psql "$db" -c 'CREATE TABLE twins ("ID" int, id int)' -c 'INSERT INTO twins VALUES (100, 1), (5, 2)' >/dev/null
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
out=$(run cache refresh pg public.twins --append-key id 2>&1)
assert_match "a key with a twin name but for case is refused" \
    "cannot be an append key: column ID has the same name but for case" "$out"

# Every key type PostgreSQL has a literal for: timestamptz, timestamp, date, numeric, text.
for key in ts t d n s; do
    run cache refresh pg public.stamps --append-key "$key" >/dev/null 2>&1 # full, then the key's max
    pg_psql "$db" -c "INSERT INTO stamps VALUES (now() + interval '1 day', localtimestamp + interval '1 day',
        current_date + (SELECT count(*) FROM stamps)::int, (SELECT max(n) FROM stamps) + 0.000001,
        (SELECT max(s) FROM stamps) || 'z', 'by $key')" >/dev/null
    out=$(run cache refresh pg public.stamps --append-key "$key" --json 2>/dev/null)
    assert_eq "key $key: one new row appended" "append 1" \
        "$(jq -r '.tables[0] | "\(.refresh_kind) \(.rows)"' <<<"$out")"
    assert_eq "key $key: each row once" \
        "$(pg_psql "$db" -c "SELECT count(*) || '|' || count(DISTINCT v) FROM stamps")" \
        "$(q "SELECT count(*) || '|' || count(DISTINCT v) FROM pg.public.stamps")"
    out=$(run cache refresh pg public.stamps --append-key "$key" --json 2>/dev/null)
    assert_eq "key $key: the exact maximum finds nothing new" "false" \
        "$(jq -r '.tables[0].version_published' <<<"$out")"
done

# Keys that cannot be compared exactly, and names that are not a column, are refused.
err=$(run cache refresh pg public.floaty --append-key f 2>&1)
assert_match "a double precision key is refused" "column f \(double precision\) cannot be an append key" "$err"
err=$(run cache refresh pg public.floaty --append-key b 2>&1)
assert_match "a boolean key is refused" "column b \(boolean\) cannot be an append key" "$err"
err=$(run cache refresh pg public.events --append-key nope 2>&1)
assert_match "a key that is not a column is refused" "append key 'nope' is not a column of public.events" "$err"
err=$(run cache refresh pg --append-key id 2>&1)
assert_match "an append names one table" "--append-key refreshes one table" "$err"

if [ "${CACHE_VARIANT:-fs}" = fs ]; then
    # MariaDB: integer and timestamp keys (datetime(6), timestamp read in UTC).
    my_sql -e "DROP DATABASE IF EXISTS appendmy; CREATE DATABASE appendmy;
      CREATE TABLE appendmy.m (id int PRIMARY KEY, dt datetime(6), tz timestamp(6) NULL, v varchar(20));
      INSERT INTO appendmy.m VALUES (1, '2024-01-01 10:00:00.000001', '2024-01-01 10:00:00', 'a'),
        (2, '2024-01-01 10:00:00.000002', '2024-01-01 11:00:00', 'b');"
    my_target my 'database = "appendmy"' >>"$home/targets.toml"
    DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
    n=2
    for key in id dt tz; do
        run cache refresh my appendmy.m --append-key "$key" >/dev/null 2>&1
        n=$((n + 1))
        my_sql -e "INSERT INTO appendmy.m VALUES ($n, '2024-01-01 10:00:00.00000$n', TIMESTAMP '2024-01-01 11:00:00' + INTERVAL $n HOUR, 'by $key')"
        out=$(run cache refresh my appendmy.m --append-key "$key" --json 2>/dev/null)
        assert_eq "mariadb key $key: one new row appended" "append 1" \
            "$(jq -r '.tables[0] | "\(.refresh_kind) \(.rows)"' <<<"$out")"
        assert_eq "mariadb key $key: each row once" \
            "$(my_sql -e "SELECT CONCAT(count(*), '|', sum(id)) FROM appendmy.m")" \
            "$(q "SELECT count(*) || '|' || sum(id) FROM my.appendmy.m")"
        out=$(run cache refresh my appendmy.m --append-key "$key" --json 2>/dev/null)
        assert_eq "mariadb key $key: nothing new after it" "false" "$(jq -r '.tables[0].version_published' <<<"$out")"
    done

    # MariaDB text keys compare byte by byte, whatever the column's character set and collation:
    # 'b ' and 'b<tab>' sort after 'b' (a PAD SPACE collation such as utf8mb4_bin finds 'b ' = 'b'
    # and 'b<tab>' < 'b'), 'B' before it; latin1's 'é' and '€' as their UTF-8.
    for cs in "utf8mb4 COLLATE utf8mb4_general_ci" "latin1"; do
        t=ap_${cs%% *}
        my_sql -e "DROP TABLE IF EXISTS appendmy.$t;
          CREATE TABLE appendmy.$t (id int AUTO_INCREMENT PRIMARY KEY, k varchar(10), v int)
            CHARACTER SET $cs;
          INSERT INTO appendmy.$t (k, v) VALUES ('a', 1), ('b', 2);"
        DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
        run cache refresh my appendmy.$t --append-key k >/dev/null 2>&1
        my_sql -e "INSERT INTO appendmy.$t (k, v) VALUES ('b ', 3), ('c', 4), ('B', 5), ('b\t', 6),
          ('bb', 7), ('b  ', 8), ('é', 9), ('€', 10)"
        out=$(run cache refresh my appendmy.$t --append-key k --json 2>/dev/null)
        assert_eq "mariadb text key ($cs): the rows after 'b' byte by byte, 'B' not (it sorts before)" \
            "append 7" "$(jq -r '.tables[0] | "\(.refresh_kind) \(.rows)"' <<<"$out")"
        assert_eq "mariadb text key ($cs): every row there but 'B', once" \
            "1|2|3|4|6|7|8|9|10" \
            "$(q "SELECT string_agg(v::VARCHAR, '|' ORDER BY v) FROM my.appendmy.$t")"
        my_sql -e "INSERT INTO appendmy.$t (k, v) VALUES ('€ ', 11), ('€', 12)"
        out=$(run cache refresh my appendmy.$t --append-key k --json 2>/dev/null)
        assert_eq "mariadb text key ($cs): a trailing space after the greatest key is new" \
            "append 1" "$(jq -r '.tables[0] | "\(.refresh_kind) \(.rows)"' <<<"$out")"
    done

    # A greatest text key holding a NUL byte cannot be the bound (it would be cut short at the
    # NUL and the row read again): the append says so, nothing is read twice.
    my_sql -e "CREATE TABLE appendmy.apnul (k varchar(10), v int);
      INSERT INTO appendmy.apnul VALUES ('a', 1), (CONCAT('b', CHAR(0), 'c'), 2);"
    DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
    run cache refresh my appendmy.apnul --append-key k >/dev/null 2>&1
    out=$(run cache refresh my appendmy.apnul --append-key k 2>&1)
    assert_match "mariadb text key: a greatest key with a NUL byte is refused as a bound" \
        "the greatest k of the table holds a NUL byte" "$out"
    assert_eq "mariadb text key: and no row is read twice" "2" \
        "$(q "SELECT count(*) FROM my.appendmy.apnul")"

    # SQLite: an integer key and a timestamp kept as text.
    sqlite3 "$work/a.sqlite" "CREATE TABLE l (id INTEGER PRIMARY KEY, ts TIMESTAMP, v TEXT);
      INSERT INTO l VALUES (1, '2024-01-01 10:00:00', 'a'), (2, '2024-01-01 10:00:01', 'b');"
    printf '[targets.lite]\ntype = "sqlite"\npath = "%s"\n' "$work/a.sqlite" >>"$home/targets.toml"
    DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
    n=2
    for key in id ts; do
        run cache refresh lite main.l --append-key "$key" >/dev/null 2>&1
        n=$((n + 1))
        sqlite3 "$work/a.sqlite" "INSERT INTO l VALUES ($n, '2024-01-01 10:00:0$n', 'by $key')"
        out=$(run cache refresh lite main.l --append-key "$key" --json 2>/dev/null)
        assert_eq "sqlite key $key: one new row appended" "append 1" \
            "$(jq -r '.tables[0] | "\(.refresh_kind) \(.rows)"' <<<"$out")"
        assert_eq "sqlite key $key: each row once" \
            "$(sqlite3 "$work/a.sqlite" "SELECT count(*) || '|' || sum(id) FROM l")" \
            "$(q "SELECT count(*) || '|' || sum(id) FROM lite.main.l")"
    done

    # A SQLite text key holding numbers as well: SQLite orders them apart from text (9 < 'a'),
    # the cache holds them as text ('10' < '9'). Refused, whatever the column declares.
    sqlite3 "$work/a.sqlite" "CREATE TABLE mixed (k, n NUMERIC, v TEXT);
      INSERT INTO mixed VALUES (1, 1, 'a'), (9, 9, 'b'), (10, 10, 'c'), ('x', 'y', 'd');"
    DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
    for key in k n; do
        out=$(run cache refresh lite main.mixed --append-key "$key" 2>&1)
        rc=$?
        assert_match "sqlite: a key holding numbers and text ($key) is refused (exit $rc)" \
            "cannot be an append key: it holds numbers or bytes as well as text" "$out"
    done

    # A SQLite text key compares byte by byte whatever the column's collation (NOCASE, RTRIM):
    # 'b ', 'b<tab>' and 'bb' after 'b', 'B' before it.
    sqlite3 "$work/a.sqlite" "CREATE TABLE tk (k TEXT COLLATE RTRIM, v INTEGER);
      INSERT INTO tk VALUES ('a', 1), ('b', 2);"
    DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
    run cache refresh lite main.tk --append-key k >/dev/null 2>&1
    sqlite3 "$work/a.sqlite" "INSERT INTO tk VALUES ('b ', 3), ('B', 4), ('b' || char(9), 5), ('bb', 6), ('c', 7);"
    out=$(run cache refresh lite main.tk --append-key k --json 2>/dev/null)
    assert_eq "sqlite text key: every row after 'b' byte by byte" "append 4 1|2|3|5|6|7" \
        "$(jq -r '.tables[0] | "\(.refresh_kind) \(.rows)"' <<<"$out") $(q "SELECT string_agg(v::VARCHAR, '|' ORDER BY v) FROM lite.main.tk")"

    # A DuckDB file: integer, timestamp with time zone and text keys.
    duckq "ATTACH '$work/a.duckdb' AS a; CREATE TABLE a.main.k (id BIGINT, ts TIMESTAMPTZ, s VARCHAR);
      INSERT INTO a.main.k VALUES (1, '2024-01-01 10:00:00.000001+00', 'a'), (2, '2024-01-01 10:00:00.000002+00', 'b')" >/dev/null
    printf '[targets.duck]\ntype = "duckdb"\npath = "%s"\n' "$work/a.duckdb" >>"$home/targets.toml"
    DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
    n=2
    for key in id ts s; do
        run cache refresh duck main.k --append-key "$key" >/dev/null 2>&1
        n=$((n + 1))
        duckq "ATTACH '$work/a.duckdb' AS a; INSERT INTO a.main.k VALUES ($n, TIMESTAMPTZ '2024-01-01 10:00:00+00' + INTERVAL ($n) SECOND, repeat('z', $n))" >/dev/null
        out=$(run cache refresh duck main.k --append-key "$key" --json 2>/dev/null)
        assert_eq "duckdb key $key: one new row appended" "append 1" \
            "$(jq -r '.tables[0] | "\(.refresh_kind) \(.rows)"' <<<"$out")"
        assert_eq "duckdb key $key: each row once" "$n|$((n * (n + 1) / 2))" \
            "$(q "SELECT count(*) || '|' || sum(id) FROM duck.main.k")"
    done

    # The configuration's mistakes: one line each, nothing run.
    bad=$(new_home)
    for entry in 'mode = "append"' 'append_key = "id"' 'full_every = "1d"' 'mode = "merge"'; do
        {
            pg_target pg "database = \"$db\""
            printf '[[targets.pg.cache]]\ntable = "public.events"\nrefresh_every = "1h"\n%s\n' "$entry"
        } >"$bad/targets.toml"
        err=$(DSCAT_HOME=$bad "$DSCAT" cache ls 2>&1)
        case $entry in
        mode\ =\ \"append\") want='needs append_key' ;;
        append_key*) want="key 'append_key' applies only to mode = \"append\"" ;;
        full_every*) want="key 'full_every' applies only to mode = \"append\"" ;;
        *) want="key 'mode' of a cache entry must be \"full\" or \"append\"" ;;
        esac
        assert_match "config error for '$entry'" "targets.toml: line [0-9]*: .*$want" "$err"
        assert_eq "config error for '$entry' is one line" 1 "$(printf '%s\n' "$err" | wc -l)"
    done
fi

# The scheduler runs append entries as appends, full_every reconciles (a deleted row goes),
# metrics count them, and POST /refresh takes append_key.
shome=$(new_home)
{
    pg_target pg "database = \"$db\""
    printf '[[targets.pg.cache]]\ntable = "public.events"\nrefresh_every = "1s"\nmode = "append"\n'
    printf 'append_key = "id"\nfull_every = "5s"\n'
} >"$shome/targets.toml"
DSCAT_HOME=$shome "$DSCAT" refresh >/dev/null 2>&1
assert_match "dscat schedule shows the append entry" "data pg public.events \(append by id, full every 5s\)" \
    "$(DSCAT_HOME=$shome "$DSCAT" schedule)"
assert_eq "dscat schedule --json (GET /schedule's document) has the mode, key and full_every" \
    "append id 5" "$(DSCAT_HOME=$shome "$DSCAT" schedule --json | jq -r '.schedules[] | select(.kind == "data") | "\(.mode) \(.append_key) \(.full_every_seconds)"')"
. "$(dirname "${BASH_SOURCE[0]}")/../harness/http.sh"
srv_pid=
trap '[ -n "$srv_pid" ] && kill -9 $srv_pid 2>/dev/null' EXIT
start_server "$shome" "$work/serve.log"
check "dscat serve listens" test -n "$port"
sq() { DSCAT_HOME=$shome "$DSCAT" query "$1" --format csv | tail -n +2; }
sstate() { sq "SELECT count(*) || '|' || md5(string_agg(id || ':' || payload || ':' || amount, ',' ORDER BY id)) FROM pg.public.events"; }
for _ in $(seq 100); do [ "$(sstate 2>/dev/null)" = "$(src_state)" ] && break; sleep 0.2; done
assert_eq "scheduled: the first run caches the table" "$(src_state)" "$(sstate)"
pg_psql "$db" -c "INSERT INTO events SELECT g, 'row ' || g, 1 FROM generate_series(10001, 10005) g" >/dev/null
for _ in $(seq 100); do [ "$(sstate 2>/dev/null)" = "$(src_state)" ] && break; sleep 0.2; done
assert_eq "scheduled appends bring the new rows" "$(src_state)" "$(sstate)"
pg_psql "$db" -c "DELETE FROM events WHERE id = 10001" >/dev/null
for _ in $(seq 150); do [ "$(sstate 2>/dev/null)" = "$(src_state)" ] && break; sleep 0.2; done
assert_eq "full_every reconciles: the deleted row is gone" "$(src_state)" "$(sstate)"
m=$(curl -s "$B/metrics")
check "metrics count append refreshes" grep -qE '^dscat_refreshes_total\{kind="append",result="ok"\} [1-9]' <<<"$m"
check "metrics count the full refreshes of full_every" grep -qE '^dscat_refreshes_total\{kind="data",result="ok"\} [1-9]' <<<"$m"
body=$(curl -s -X POST -H 'Content-Type: application/json' "$B/refresh" \
    -d '{"connection_id": "pg", "schema_name": "public", "table_name": "events", "data": true, "append_key": "id"}')
assert_eq "POST /refresh with append_key says what ran" "append true" \
    "$(jq -r '"\(.refresh_kind) \(.version_published == false or .version_published == true)"' <<<"$body")"
code=$(curl -s -o "$work/bad.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' "$B/refresh" \
    -d '{"connection_id": "pg", "schema_name": "public", "table_name": "events", "data": true, "append_key": "nope"}')
assert_eq "POST /refresh with a key that is not a column: 400" 400 "$code"
assert_match "and names it" "append key 'nope' is not a column" "$(cat "$work/bad.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' "$B/refresh" \
    -d '{"connection_id": "pg", "data": true, "append_key": "id"}')
assert_eq "POST /refresh append_key without a table: 400" 400 "$code"
kill -TERM "$srv_pid" 2>/dev/null
wait "$srv_pid" 2>/dev/null
srv_pid=
