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


# A refresh that waits for the table's lock without taking another's result (the holder here
# publishes nothing) writes its own version, with the fallbacks its values need: none once the
# values that needed them are gone, never the old version's list.
pg_psql postgres -c 'CREATE DATABASE waitdb' >/dev/null
pg_psql waitdb -c "CREATE TABLE w (id int PRIMARY KEY, n numeric(10,2));
  INSERT INTO w VALUES (1, 'NaN'), (2, 1.5)" >/dev/null
whome=$(new_home)
pg_target pg 'database = "waitdb"' >"$whome/targets.toml"
DSCAT_HOME=$whome "$DSCAT" refresh >/dev/null 2>&1
DSCAT_HOME=$whome "$DSCAT" cache refresh pg public.w >/dev/null 2>&1
assert_eq "waited: the first version stores n in its text fallback" "n:text" \
    "$(DSCAT_HOME=$whome "$DSCAT" cache ls --json | jq -r '[.tables[] | select(.table_name == "w") | .fallbacks[] | "\(.column):\(.storage)"] | join(",")')"
pg_psql waitdb -c "DELETE FROM w WHERE id = 1" >/dev/null
lock=$(dirname "$(DSCAT_HOME=$whome "$DSCAT" cache ls --json | jq -r '.tables[] | select(.table_name == "w") | .path')")/.lock
flock "$lock" sleep 1.5 &
holder=$!
sleep 0.3
out=$(DSCAT_HOME=$whome "$DSCAT" cache refresh pg public.w --json 2>/dev/null)
wait "$holder"
check "the refresh waited for the lock ($lock)" test "$(jq -r '.tables[0].duration_ms' <<<"$out")" -ge 900
assert_eq "waited without joining: its own version, no fallback any more" "false " \
    "$(jq -r '.tables[0] | "\(.joined) \([.fallbacks[] | .column] | join(","))"' <<<"$out")"
assert_eq "... and cache ls records none with the version" "" \
    "$(DSCAT_HOME=$whome "$DSCAT" cache ls --json | jq -r '[.tables[] | select(.table_name == "w") | .fallbacks[] | .column] | join(",")')"
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

# MariaDB floats bit for bit: the text protocol prints a FLOAT with 6 digits (1.2345678 as
# 1.23457) and a DOUBLE(M,D) with D decimals. Both sides as doubles (CAST on the server, the
# shortest text of the double), compared as the bits of the double (Python's float.hex).
my_sql exactmy <<'SQL'
CREATE TABLE floats (id int PRIMARY KEY, fl float, d double, d2 double(10,2), f2 float(7,3));
INSERT INTO floats VALUES
 (1, 1.2345678, 1.7976931348623157e308, 1.005, 1.2345),
 (2, 16777217, 4.9e-324, 0.1, 2.0005),
 (3, 3.4028234e38, -0e0, 2.675, -1.0005),
 (4, 1.4e-45, 0.1e0 + 0.2e0, 12345678.91, 0),
 (5, -0e0, 2.2250738585072014e-308, NULL, NULL),
 (6, 1.17549435e-38, 123456789012345678, NULL, NULL),
 (7, -3.4028234e38, -4.9e-324, NULL, NULL),
 (8, 1e-40, 0.1, NULL, NULL),
 (9, 0.1, -1.7976931348623157e308, NULL, NULL);
SQL
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
out=$(DSCAT_HOME=$home "$DSCAT" cache refresh my exactmy.floats --json 2>/dev/null)
cached "MariaDB: the floats table is cached" "$out"
assert_eq "MariaDB: floats need no fallback" "" "$(fallbacks_of floats)"
f=$(file_of my floats)
bits() { python3 -c 'import sys
for l in sys.stdin.read().split("\n"):
    if l: print(" ".join(float(x).hex() if x not in ("", "NULL", "\\N") else "-" for x in l.split("\t")))'; }
same "MariaDB: every float and double has the source's bits" \
    "$(my_sql exactmy -e "SELECT id, CAST(fl AS DOUBLE), CAST(d AS DOUBLE), CAST(d2 AS DOUBLE),
        CAST(f2 AS DOUBLE) FROM floats ORDER BY id" | bits)" \
    "$(duckq "SELECT id, CAST(fl AS DOUBLE), d, d2, CAST(f2 AS DOUBLE) FROM read_parquet('$f') ORDER BY id" | bits)"
assert_eq "MariaDB: FLOAT stays FLOAT, DOUBLE(M,D) DOUBLE" "FLOAT DOUBLE DOUBLE FLOAT" \
    "$(duckq "SELECT typeof(fl), typeof(d), typeof(d2), typeof(f2) FROM read_parquet('$f') LIMIT 1" | tr '\t' ' ')"
assert_eq "MariaDB: 16777217 is the float 16777216, 1.2345678 every digit of its float" \
    "16777216.0 1.2345677614212036" \
    "$(duckq "SELECT CAST(fl AS DOUBLE) FROM read_parquet('$f') WHERE id IN (2, 1) ORDER BY id DESC" | tr '\n' ' ' | sed 's/ $//')"

# MariaDB bytes with NUL bytes, every binary-ish type: geometries (their SRID first: 0 is four
# NUL bytes), binary strings, blobs, bit, and text holding NUL. Compared as hex, whole.
my_sql exactmy <<'SQL'
CREATE TABLE bytes (id int PRIMARY KEY, g geometry, p point, ls linestring, vb varbinary(20),
  bn binary(4), bl blob, lb longblob, bi bit(16), vc varchar(20), tx text, ch char(5));
INSERT INTO bytes VALUES
 (1, ST_GeomFromText('POINT(1 2)'), ST_GeomFromText('POINT(0 0)', 4326),
  ST_GeomFromText('LINESTRING(0 0, 1 1, 2 0)'), x'00', x'0001', x'000000', x'00ff00ff',
  b'0000000000000001', CONCAT('a', CHAR(0), 'b'), CONCAT(CHAR(0), 'x', CHAR(0)), CONCAT('c', CHAR(0))),
 (2, ST_GeomFromText('POLYGON((0 0, 1 0, 1 1, 0 0))'), ST_GeomFromText('POINT(-1.5 1e300)'), NULL,
  x'', x'', x'', REPEAT(x'00', 100000), b'0', '', '', ''),
 (3, ST_GeomFromText('GEOMETRYCOLLECTION(POINT(0 0))', 3857), NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, 'tab\there', 'plain', 'x');
SQL
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
out=$(DSCAT_HOME=$home "$DSCAT" cache refresh my exactmy.bytes --json 2>/dev/null)
cached "MariaDB: the bytes table is cached" "$out"
assert_eq "MariaDB: bytes need no fallback" "" "$(fallbacks_of bytes)"
f=$(file_of my bytes)
same "MariaDB: geometries, binaries, blobs, bit and text with NUL keep every byte" \
    "$(my_sql exactmy -e "SELECT id, hex(CAST(g AS BINARY)), hex(CAST(p AS BINARY)),
        hex(CAST(ls AS BINARY)), hex(vb), hex(bn), hex(bl), md5(lb), length(lb), hex(CAST(bi AS BINARY)),
        hex(vc), hex(tx), hex(ch) FROM bytes ORDER BY id" | sed 's/NULL//g' | tr '\t' '|')" \
    "$(duckq "SELECT id, hex(g), hex(p), hex(ls), hex(vb), hex(bn), hex(bl), md5(lb), octet_length(lb),
        hex(bi), hex(vc), hex(tx), hex(ch) FROM read_parquet('$f') ORDER BY id" | sed 's/\\N//g' | tr '\t' '|')"
assert_eq "MariaDB: geometries are BLOB, text with NUL VARCHAR" "BLOB BLOB BLOB VARCHAR" \
    "$(duckq "SELECT typeof(g), typeof(p), typeof(ls), typeof(vc) FROM read_parquet('$f') LIMIT 1" | tr '\t' ' ')"
assert_eq "MariaDB: a POINT with SRID 0 is its 25 bytes" "25" \
    "$(duckq "SELECT octet_length(g) FROM read_parquet('$f') WHERE id = 1")"

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
    "i_real:literal,i_text:literal,i_blob:literal,r_text:literal,t_bad:binary,t_nul:binary,b_text:literal,n_num:literal,v_none:literal" \
    "$(fallbacks_of torture)"
f=$(file_of lite torture)
# Text columns as SQLite's text (reals in 17 digits, then compared as numbers), bytes by hex;
# columns of several storage classes as SQLite's own literals (quote(), exact without reals).
src=$(sqlite3 -separator '|' "$db" "SELECT id, i_int, iif(i_blob IS NULL, NULL, quote(i_blob)), hex(CAST(t_bad AS BLOB)),
  hex(CAST(t_nul AS BLOB)), hex(b_blob), iif(b_text IS NULL, NULL, quote(b_text)), t_text, big FROM torture ORDER BY id")
duck=$(duckq "SELECT id, i_int, i_blob, hex(t_bad), hex(t_nul), hex(b_blob), b_text, t_text, big
  FROM read_parquet('$f') ORDER BY id" | sed 's/\\N//g' | tr '\t' '|')
same "SQLite: integers, bytes and text equal the source's" "$src" "$duck"
src=$(sqlite3 -separator '|' "$db" "SELECT id, typeof(i_real), i_real = CAST(i_real AS REAL), typeof(r_real) FROM torture ORDER BY id")
duck=$(duckq "SELECT id, i_real, r_real, r_text, i_text FROM read_parquet('$f') ORDER BY id" | sed 's/\\N//g' | tr '\t' '|')
same "SQLite: reals and mixed columns keep every digit" "1|1|0.1|0.1|1
2|1.5|1e+308|'xyz'|'abc'
3|0.30000000000000004|-0.5||
4||5e-324|1.0|" "$duck"
check "SQLite: hyparquet reads the file" node "$HYPARQUET" "$f"
# Three columns that need a fallback in one row: all found in one pass.
sqlite3 "$db" "CREATE TABLE multi (a TEXT, b TEXT, c INTEGER, d TEXT);
  INSERT INTO multi VALUES (CAST(x'ff41' AS TEXT), CAST(x'fe42' AS TEXT), 'x', 'ok'), ('x', 'y', 1, 'w');"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
out=$(DSCAT_HOME=$home "$DSCAT" cache refresh lite main.multi --json 2>/dev/null)
cached "SQLite: three fallback columns in one row are all found" "$out"
assert_eq "SQLite: and each is reported" "a:binary,b:binary,c:literal" "$(fallbacks_of multi)"
# Storage classes survive: 1, 1.0, '1' and X'31' in a column without a declared type are four
# values (each as its SQL literal, the column reported), not four times "1"; a column of reals
# only is SQLite's own text of each (1.0, not 1).
sqlite3 "$db" "CREATE TABLE classes (id INTEGER PRIMARY KEY, v, r, t TEXT);
  INSERT INTO classes VALUES (1, 1, 1.0, '1'), (2, 1.0, 0.1, '1.0'), (3, '1', 1e20, 'x'),
    (4, x'31', -2.5e-7, NULL), (5, 'it''s', 123456789.0, NULL), (6, 1e20, NULL, NULL),
    (7, 0.30000000000000004, NULL, NULL), (8, 'a' || char(0) || 'b', NULL, NULL),
    (9, 9e999, NULL, NULL), (10, -1.5e-7, NULL, NULL), (11, -9223372036854775808, NULL, NULL),
    (12, x'', NULL, NULL), (13, '', NULL, NULL), (14, NULL, NULL, NULL);"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
out=$(DSCAT_HOME=$home "$DSCAT" cache refresh lite main.classes --json 2>/dev/null)
cached "SQLite: a column of several storage classes is cached" "$out"
assert_eq "SQLite: it is reported as literals, with why" "v:literal 1" \
    "$(fallbacks_of classes) $(jq '[.warnings[] | select(.message | test("^column v is stored as literal: .*storage classes"))] | length' <<<"$out")"
f=$(file_of lite classes)
same "SQLite: each value as its literal, its class kept" "1|1|1.0|1
2|1.0|0.1|1.0
3|'1'|1.0e+20|x
4|X'31'|-2.5e-07|
5|'it''s'|123456789.0|
6|1.0e+20||
7|0.30000000000000004||
8|CAST(X'610062' AS TEXT)||
9|9.0e+999||
10|-1.5e-07||
11|-9223372036854775808||
12|X''||
13|''||
14|||" "$(duckq "SELECT id, v, r, t FROM read_parquet('$f') ORDER BY id" | sed 's/\\N//g' | tr '\t' '|')"
assert_eq "SQLite: the literals are SQLite's own quote() where it is exact" \
    "$(sqlite3 "$db" "SELECT group_concat(quote(v), ' ') FROM classes WHERE id IN (1, 2, 3, 4, 5, 6, 11, 12, 13)")" \
    "$(duckq "SELECT string_agg(v, ' ' ORDER BY id) FROM read_parquet('$f') WHERE id IN (1, 2, 3, 4, 5, 6, 11, 12, 13)")"
assert_eq "SQLite: a column of reals only is SQLite's text of each" \
    "$(sqlite3 "$db" "SELECT group_concat(r, ' ') FROM classes WHERE r IS NOT NULL")" \
    "$(duckq "SELECT string_agg(r, ' ' ORDER BY id) FROM read_parquet('$f') WHERE r IS NOT NULL")"
# Bytes that are not UTF-8 never reach a VARCHAR: DuckDB reads every column back.
# Text that is not UTF-8 among other classes keeps its class too: its bytes cast to text.
sqlite3 "$db" "CREATE TABLE classes2 (id INTEGER PRIMARY KEY, v);
  INSERT INTO classes2 VALUES (1, 1), (2, '1'), (3, CAST(x'ff41' AS TEXT)), (4, x'31');"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
DSCAT_HOME=$home "$DSCAT" cache refresh lite main.classes2 >/dev/null 2>&1
assert_eq "SQLite: text that is not UTF-8 in a column of several classes: still literals" \
    "v:literal 1|'1'|CAST(X'FF41' AS TEXT)|X'31'" \
    "$(fallbacks_of classes2) $(duckq "SELECT string_agg(v, '|' ORDER BY id) FROM read_parquet('$(file_of lite classes2)')")"
check "SQLite: DuckDB reads every value back" duckq "SELECT count(*), min(hash(COLUMNS(*))) FROM read_parquet('$f')"
