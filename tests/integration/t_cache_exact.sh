# Exact or lossless (SPEC §9, docs/cache.md): a "type torture" table per engine with the edges
# of each type. Every cell read back through DuckDB equals the source's value (native columns as
# values, fallback columns as the source's own text, both computed by the engines themselves);
# the fallback columns are exactly the expected ones, reported as warnings and by `cache ls`;
# hyparquet (an independent reader) opens every file.
export DSCAT_DELETION_GRACE=0
work=$TEST_TMP/exact
mkdir -p "$work"
export DSCAT_CACHE_ROOT=$work/cache
. "$(dirname "${BASH_SOURCE[0]}")/../harness/compare.sh"
HYPARQUET="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)/hyparquet-read.mjs"

# file_of CONN TABLE: the current version's Parquet file.
file_of() { DSCAT_HOME=$home "$DSCAT" cache ls --json | jq -r --arg c "$1" --arg t "$2" \
    '.tables[] | select(.connection_id == $c and .table_name == $t) | .path + "/data.parquet"'; }

# cached NAME JSON: passes when the refresh's one table is ok.
cached() {
    if [ "$(jq -r '.tables[0].ok' <<<"$2" 2>/dev/null)" = true ]; then pass "$1"; else fail "$1" "$2"; fi
}

# same NAME SOURCE_OUTPUT DUCK_OUTPUT: the two engines' renderings of every cell, row by row.
same() {
    if [ -n "$2" ] && [ "$2" == "$3" ]; then
        pass "$1"
    else
        fail "$1" "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | head -n 20)"
    fi
}

fallbacks_of() { DSCAT_HOME=$home "$DSCAT" cache ls --json | jq -r --arg t "$1" \
    '[.tables[] | select(.table_name == $t) | .fallbacks[] | "\(.column):\(.storage)"] | join(",")'; }

# ---- PostgreSQL ---------------------------------------------------------------------------------
pg_psql postgres -c 'DROP DATABASE IF EXISTS exactdb' -c 'CREATE DATABASE exactdb' >/dev/null
pg_psql exactdb >/dev/null <<'SQL'
CREATE TABLE torture (id int PRIMARY KEY,
  d date, ts timestamp, tz timestamptz, ts_far timestamp,
  n numeric(10,2), nw numeric(38,10), nu numeric, f8 double precision, f4 real,
  i2 smallint, i8 bigint, t text, b bytea, tm time, u uuid, j jsonb, iv interval, bo boolean);
INSERT INTO torture VALUES
 (1, '2024-02-29', '2024-01-02 03:04:05.123456', '2024-06-01 12:00:00+02', '2024-01-01',
  1.50, '1234567890123456789012345678.0123456789', '1e-100', 0.1, 0.1, -32768,
  -9223372036854775808, 'plain', '\x00ff00', '24:00:00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"a": [1, 2.50, "x"]}', '1 year 2 mons 3 days 04:05:06.789', true),
 (2, '0044-03-15 BC', '0044-03-15 12:00:00.5 BC', '0100-01-01 00:00:00+00 BC',
  '294276-12-31 23:59:59', 'NaN', '-9999999999999999999999999999.9999999999', 'NaN', 'NaN',
  'NaN', 32767, 9223372036854775807, '', '\x', '23:59:59.999999',
  '00000000-0000-0000-0000-000000000000', '[]', '-178000000 years', false),
 (3, '4713-01-01 BC', '4713-01-01 00:00:00 BC', '4713-01-01 00:00:00+00 BC', '-infinity',
  -99999999.99, 0, 'Infinity', 'Infinity', 'Infinity', 0, 0, repeat('é€😀', 100000),
  decode(repeat('00ff7f80', 262144), 'hex'), '00:00:00', NULL, 'null', NULL, NULL),
 (4, '5874897-12-31', '294246-12-31 23:59:59.999999', '294246-12-31 00:00:00+00', 'infinity',
  0.01, 1, '-Infinity', '-Infinity', '-Infinity', NULL, NULL, E'tab\tnew\nline\\back',
  NULL, NULL, NULL, NULL, NULL, NULL),
 (5, 'infinity', 'infinity', 'infinity', NULL, NULL, NULL, NULL, 5e-324, 1.4e-45, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (6, '-infinity', '-infinity', '-infinity', NULL, NULL, NULL, '123456789012345678901234567890.123456789', -0.0,
  3.4028235e38, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (7, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1.7976931348623157e308, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL);
SQL
home=$(new_home)
pg_target pg 'database = "exactdb"' >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
out=$(DSCAT_HOME=$home "$DSCAT" cache refresh pg public.torture --json 2>/dev/null)
cached "PostgreSQL: the torture table is cached" "$out"
assert_eq "PostgreSQL: the fallback columns are exactly ts_far and n" "ts_far:text,n:text" \
    "$(fallbacks_of torture)"
assert_eq "PostgreSQL: each fallback is a warning of the refresh" 2 \
    "$(jq '[.warnings[] | select(.message | test("^column (ts_far|n) is stored as text"))] | length' <<<"$out")"
f=$(file_of pg torture)
# Dates and timestamps as day and microsecond counts (infinities by name); numbers as the
# engines print them (shortest exact text for floats); text and bytes by md5.
src=$(pg_psql exactdb -At -F '|' -c "SET extra_float_digits = 1;
  SELECT id,
    CASE WHEN isfinite(d) THEN (d - date '1970-01-01')::text ELSE d::text END,
    CASE WHEN isfinite(ts) THEN (extract(epoch FROM ts) * 1000000)::bigint::text ELSE ts::text END,
    CASE WHEN isfinite(tz) THEN (extract(epoch FROM tz) * 1000000)::bigint::text ELSE tz::text END,
    ts_far::text, n::text, nw::text, nu::text,
    lower(replace(f8::text, 'Infinity', 'inf')), lower(replace(f4::text, 'Infinity', 'inf')),
    i2, i8, md5(t), md5(b), tm::text, u::text, j::text, iv::text, bo::text
  FROM torture ORDER BY id")
duck=$(duckq "SELECT id,
    CASE WHEN isfinite(d) THEN (d - DATE '1970-01-01')::VARCHAR ELSE d::VARCHAR END,
    CASE WHEN isfinite(ts) THEN epoch_us(ts)::VARCHAR ELSE ts::VARCHAR END,
    CASE WHEN isfinite(tz::TIMESTAMP) THEN epoch_us(tz::TIMESTAMP)::VARCHAR ELSE tz::TIMESTAMP::VARCHAR END,
    ts_far, n, nw::VARCHAR, nu,
    regexp_replace(replace(lower(f8::VARCHAR), 'infinity', 'inf'), '^(-?[0-9]+)\.0$', '\1'),
    regexp_replace(replace(lower(f4::VARCHAR), 'infinity', 'inf'), '^(-?[0-9]+)\.0$', '\1'),
    i2, i8, md5(t), md5(b), tm::VARCHAR, u::VARCHAR, j::VARCHAR, iv, lower(bo::VARCHAR)
  FROM read_parquet('$f') ORDER BY id" | sed 's/\\N//g' | tr '\t' '|')
same "PostgreSQL: every cell equals the source's value" "$src" "$duck"
assert_eq "PostgreSQL: native columns keep their types" \
    "DATE TIMESTAMP TIMESTAMP WITH TIME ZONE VARCHAR VARCHAR DECIMAL(38,10) DOUBLE FLOAT BLOB TIME" \
    "$(duckq "SELECT typeof(d), typeof(ts), typeof(tz), typeof(ts_far), typeof(n), typeof(nw), typeof(f8), typeof(f4), typeof(b), typeof(tm) FROM read_parquet('$f') LIMIT 1" | tr '\t' ' ')"
check "PostgreSQL: hyparquet reads the file" node "$HYPARQUET" "$f"
out=$(DSCAT_HOME=$home "$DSCAT" cache ls 2>&1)
assert_match "cache ls names the fallback columns" "column n stored as text" "$out"

# ---- MariaDB ------------------------------------------------------------------------------------
my_sql -e "DROP DATABASE IF EXISTS exactmy; CREATE DATABASE exactmy;
  GRANT ALL ON exactmy.* TO 'dscat'@'127.0.0.1';"
my_sql exactmy <<'SQL'
SET SESSION sql_mode = '';
CREATE TABLE torture (id int PRIMARY KEY, d date, dt datetime(6), tsz timestamp NULL,
  tm time(6), u64 bigint unsigned, i8 bigint, dec65 decimal(65,30), dec10 decimal(10,2),
  f double, fl float, y year, vc varchar(100), vb varbinary(100), bl longblob, tx longtext,
  bi bit(10), en enum('a','b'), js json) CHARACTER SET utf8mb4;
INSERT INTO torture VALUES
 (1, '2024-02-29', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05', '838:59:59.000000',
  18446744073709551615, -9223372036854775808, '12345678901234567890123456789012345.123456789012345678901234567890',
  12345678.99, 0.1, 0.1, 2155, 'é€😀', x'00ff00', x'00', REPEAT('x', 1000000), b'1010101010', 'b', '{"a": 1}'),
 (2, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '-838:59:59.000000',
  9223372036854775808, 9223372036854775807, '0.000000000000000000000000000001', -0.01, 1e308,
  -3.4e38, 0, '', '', '', '', b'0', 'a', '[]'),
 (3, '2024-00-15', '2024-02-30 00:00:00', NULL, '24:00:00', 0, 0, 0, 0, 5e-324, 1.17549e-38,
  1901, 'tab\there', NULL, REPEAT(x'00ff', 500000), NULL, NULL, NULL, NULL),
 (4, '9999-12-31', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07', '-00:00:01', NULL, NULL,
  NULL, NULL, -0.0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SQL
my_sql -e "GRANT ALL ON exactmy.* TO 'dscat'@'127.0.0.1'" 2>/dev/null
home=$(new_home)
my_target my 'include_databases = ["exactmy"]' >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
out=$(DSCAT_HOME=$home "$DSCAT" cache refresh my exactmy.torture --json 2>/dev/null)
cached "MariaDB: the torture table is cached" "$out"
assert_eq "MariaDB: the fallback columns are exactly the zero dates' d, dt, tsz" "d:text,dt:text,tsz:text" \
    "$(fallbacks_of torture)"
f=$(file_of my torture)
src=$(my_sql exactmy -e "SELECT id, d, dt, tsz, tm, u64, i8, dec65, dec10, f, fl, y + 0, md5(vc),
    hex(vb), md5(bl), md5(tx), lpad(hex(bi), 4, '0'), en, js FROM torture ORDER BY id" | sed 's/\tNULL/\t/g' | tr '\t' '|')
duck=$(duckq "SELECT id, d, dt, tsz, tm, u64, i8, dec65::VARCHAR, dec10::VARCHAR, f, fl, y, md5(vc),
    hex(vb), md5(bl), md5(tx), hex(bi), en, js FROM read_parquet('$f') ORDER BY id" | sed 's/\\N//g' | tr '\t' '|')
# The server's own text for the values DuckDB holds natively and for the fallbacks; doubles and
# floats compared by value below.
same "MariaDB: dates, times, integers, decimals, text and bytes equal the source's" \
    "$(cut -d'|' -f1-9,12- <<<"$src")" "$(cut -d'|' -f1-9,12- <<<"$duck")"
# Doubles and floats by value: the server's 17-digit text read as a double equals DuckDB's.
src=$(my_sql exactmy -e "SELECT id, IFNULL(f, ''), IFNULL(fl, '') FROM torture ORDER BY id" | tr '\t' '|')
floats=$(duckq "SELECT id, f, fl FROM read_parquet('$f') ORDER BY id" | sed 's/\\N//g' | tr '\t' '|')
same "MariaDB: doubles and floats equal the source's" \
    "$(python3 -c 'import sys
for l in sys.stdin.read().split(): i, f, fl = l.split("|"); print(i, float(f) if f else "", float(fl) if fl else "")' <<<"$src")" \
    "$(python3 -c 'import sys
for l in sys.stdin.read().split(): i, f, fl = l.split("|"); print(i, float(f) if f else "", float(fl) if fl else "")' <<<"$floats")"
assert_eq "MariaDB: unsigned 64-bit stays unsigned" "UBIGINT 18446744073709551615" \
    "$(duckq "SELECT typeof(u64), u64 FROM read_parquet('$f') WHERE id = 1" | tr '\t' ' ')"
check "MariaDB: hyparquet reads the file" node "$HYPARQUET" "$f"

# ---- SQLite: every storage class in columns of every declared affinity -------------------------
db=$work/torture.sqlite
rm -f "$db"
sqlite3 "$db" <<'SQL'
CREATE TABLE torture (id INTEGER PRIMARY KEY, i_int INTEGER, i_real INTEGER, i_text INTEGER,
  i_blob INTEGER, r_real REAL, r_text REAL, t_text TEXT, t_bad TEXT, t_nul TEXT, b_blob BLOB,
  b_text BLOB, n_num NUMERIC, v_none, big INTEGER);
INSERT INTO torture VALUES
 (1, 1, 1, 1, 1, 0.1, 0.1, 'x', 'ok', 'ok', x'00ff', x'00', 1.5, 1, 9223372036854775807),
 (2, -9223372036854775808, 1.5, 'abc', x'00ff', 1e308, 'xyz', '', CAST(x'ff41' AS TEXT),
  'a' || char(0) || 'b', x'', 'text in blob', 'NaN', 0.30000000000000004, -1),
 (3, NULL, 0.30000000000000004, NULL, NULL, -0.5, NULL, 'é€😀', NULL, NULL,
  zeroblob(1000000), 42, x'01', x'ff00', 0),
 (4, 0, NULL, NULL, NULL, 5e-324, 1, NULL, NULL, NULL, NULL, NULL, 'text', 'text', NULL);
SQL
home=$(new_home)
printf '[targets.lite]\ntype = "sqlite"\npath = "%s"\n' "$db" >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
out=$(DSCAT_HOME=$home "$DSCAT" cache refresh lite main.torture --json 2>/dev/null)
cached "SQLite: the torture table is cached" "$out"
assert_eq "SQLite: the fallback columns are exactly the expected ones" \
    "i_real:text,i_text:text,i_blob:binary,r_text:text,t_bad:binary,t_nul:binary,b_text:binary,n_num:binary,v_none:binary" \
    "$(fallbacks_of torture)"
f=$(file_of lite torture)
# Text columns as SQLite's text (reals in 17 digits, then compared as numbers), bytes by hex.
src=$(sqlite3 -separator '|' "$db" "SELECT id, i_int, hex(CAST(i_blob AS BLOB)), hex(CAST(t_bad AS BLOB)),
  hex(CAST(t_nul AS BLOB)), hex(b_blob), hex(CAST(b_text AS BLOB)), t_text, big FROM torture ORDER BY id")
duck=$(duckq "SELECT id, i_int, hex(i_blob), hex(t_bad), hex(t_nul), hex(b_blob), hex(b_text), t_text, big
  FROM read_parquet('$f') ORDER BY id" | sed 's/\\N//g' | tr '\t' '|')
same "SQLite: integers, bytes and text equal the source's" "$src" "$duck"
src=$(sqlite3 -separator '|' "$db" "SELECT id, typeof(i_real), i_real = CAST(i_real AS REAL), typeof(r_real) FROM torture ORDER BY id")
duck=$(duckq "SELECT id, i_real, r_real, r_text, i_text FROM read_parquet('$f') ORDER BY id" | sed 's/\\N//g' | tr '\t' '|')
same "SQLite: reals and mixed columns keep every digit" "1|1|0.1|0.1|1
2|1.5|1e+308|xyz|abc
3|0.30000000000000004|-0.5||
4||5e-324|1|" "$duck"
check "SQLite: hyparquet reads the file" node "$HYPARQUET" "$f"
# Three columns that need a fallback in one row: all found in one pass.
sqlite3 "$db" "CREATE TABLE multi (a TEXT, b TEXT, c INTEGER, d TEXT);
  INSERT INTO multi VALUES (CAST(x'ff41' AS TEXT), CAST(x'fe42' AS TEXT), 'x', 'ok'), ('x', 'y', 1, 'w');"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
out=$(DSCAT_HOME=$home "$DSCAT" cache refresh lite main.multi --json 2>/dev/null)
cached "SQLite: three fallback columns in one row are all found" "$out"
assert_eq "SQLite: and each is reported" "a:binary,b:binary,c:text" "$(fallbacks_of multi)"
# Bytes that are not UTF-8 never reach a VARCHAR: DuckDB reads every column back.
check "SQLite: DuckDB reads every value back" duckq "SELECT count(*), min(hash(COLUMNS(*))) FROM read_parquet('$f')"
