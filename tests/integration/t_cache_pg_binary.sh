# PostgreSQL's binary COPY (docs/cache.md): a table holding every type the cache decodes in
# binary, at its edges (NULLs, the integers' extremes, numerics of 38 digits and of every width
# DuckDB stores a DECIMAL in, NaN and infinities, BC dates and timestamps, timestamps on either
# side of both epochs to the microsecond, empty, unicode, escaped and long text, bytes), beside
# types that go as the server's text (json, interval, inet, arrays, unconstrained numeric, a
# domain, char(n) with its padding). Every cell read back from the Parquet file, rendered as
# PostgreSQL renders it, equals the server's own text of the value; columns whose values all fit
# keep their native types, and numerics holding NaN or an infinity and a timestamp past DuckDB's
# range are stored as the server's text.
export DSCAT_DELETION_GRACE=0
work=$TEST_TMP/pgbin
mkdir -p "$work"
export DSCAT_CACHE_ROOT=$work/cache

pg_psql postgres -c 'DROP DATABASE IF EXISTS pgbin' -c 'CREATE DATABASE pgbin' >/dev/null
pg_psql pgbin >/dev/null <<'SQL'
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE every (id int PRIMARY KEY,
  i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision, bo boolean,
  d date, ts timestamp, tz timestamptz, tm time,
  n4 numeric(4,2), n9 numeric(9,0), n18 numeric(18,4), n38 numeric(38,0), n38s numeric(38,10),
  n38f numeric(38,38),
  u uuid, t text, vc varchar(10), bp char(5), nm name, b bytea,
  js json, jb jsonb, iv interval, nu numeric, ip inet, arr int[], dom posint, mo mood);
INSERT INTO every VALUES
 (1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (2, -32768, -2147483648, -9223372036854775808, -3.4028235e38, -1.7976931348623157e308, false,
  '4713-01-01 BC', '4713-01-01 00:00:00 BC', '4713-01-01 00:00:00+00 BC', '00:00:00',
  -99.99, -999999999, -99999999999999.9999, -99999999999999999999999999999999999999,
  -9999999999999999999999999999.9999999999, -0.99999999999999999999999999999999999999,
  '00000000-0000-0000-0000-000000000000', '', '', '', '', '\x',
  '{}', '{}', '-178000000 years', 'NaN', '0.0.0.0', '{}', 1, 'sad'),
 (3, 32767, 2147483647, 9223372036854775807, 3.4028235e38, 1.7976931348623157e308, true,
  '5874897-12-31', '294246-12-31 23:59:59.999999', '294246-12-31 23:59:59.999999+00',
  '24:00:00', 99.99, 999999999, 99999999999999.9999, 99999999999999999999999999999999999999,
  9999999999999999999999999999.9999999999, 0.99999999999999999999999999999999999999,
  'ffffffff-ffff-ffff-ffff-ffffffffffff', repeat('é€😀 long ', 30000), 'ünï😀', 'ab',
  'a name', decode(repeat('00ff7f80', 100000), 'hex'),
  '{"a": [1, 2.50, "x"]}', '{"a": [1, 2.50, "x"]}', '1 year 2 mons 3 days 04:05:06.789',
  '1e-100', '192.168.1.1', '{1,NULL,3}', 2147483647, 'ok'),
 (4, 0, 0, 0, 'NaN', 'NaN', NULL, 'infinity', 'infinity', 'infinity', '23:59:59.999999',
  0, 0, 0, 0, 0, 0, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', E'tab\tnew\nline\\back\r',
  E'\\N', 'x y', 'x', '\x00', 'null', 'null', '0', 'Infinity', '::1/128', '{{1,2},{3,4}}', 3,
  NULL),
 (5, -1, -1, -1, 'Infinity', '-Infinity', NULL, '-infinity', '-infinity', '-infinity',
  '00:00:00.000001', -0.01, -1, -0.0001, -1, -0.0000000001, -0.00000000000000000000000000000000000001,
  '00000000-0000-0000-0000-000000000001', 'plain', 'a', ' ', '', '\xdeadbeef', '"x"', '"x"',
  '-1 days', '123456789012345678901234567890.123456789', '10.0.0.0/8', '{-1}', 4, NULL),
 (6, 1, 1, 1, '-Infinity', 5e-324, NULL, '0044-03-15 BC', '0044-03-15 12:00:00.5 BC',
  '0001-12-31 23:59:59.999999+00 BC', '12:34:56.7', 1.5, 12345, 1234.5678, 1e37, 1.5, 0.5,
  '12345678-9abc-def0-1234-56789abcdef0', 'x', 'y', 'z', 'n', '\x0102', '[1, 2]', '[1, 2]',
  '00:00:00.000001', '-0.000', NULL, NULL, 5, NULL),
 (7, 2, 2, 2, 1.4e-45, -0.0, NULL, '1999-12-31', '1999-12-31 23:59:59.999999',
  '1969-12-31 23:59:59.999999+00', NULL, 0.1, -12345, -1234.5, -1e37, 1234567890.0123456789,
  0.00000000000000000000000000000000000001, NULL, 'x', NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, '-1e-20', NULL, NULL, NULL, NULL),
 (8, 3, 3, 3, 0.1, 0.1, NULL, '2000-01-01', '2000-01-01 00:00:00', '2000-01-01 00:00:00+00',
  NULL, 10, 100000000, 1e13, 1, 1e27, 0.1, NULL, 'x', NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  '1e30', NULL, NULL, NULL, NULL),
 (9, 4, 4, 4, 16777216, 9007199254740993, NULL, '1970-01-01', '1970-01-01 00:00:00',
  '1969-12-31 23:59:59.999999+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'x', NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (10, 5, 5, 5, 3.14159, 2.718281828459045, NULL, '0001-01-01', '0001-01-01 00:00:00',
  '2024-06-01 12:00:00+02', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'x', NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
-- Every row of every edge at volume: more than one batch of 2,048 rows.
CREATE TABLE bulk AS SELECT g AS id, (g % 32767)::smallint AS i2, (g * 7919) % 2147483647 AS i4,
  g::bigint * 1000000007 AS i8, (g / 7.0)::real AS f4, g / 7.0::double precision AS f8,
  g % 3 = 0 AS bo, date '2000-01-01' + (g % 40000 - 20000) AS d,
  timestamp '2000-01-01' + (g - 60000) * interval '1 hour 1.000001 second' AS ts,
  timestamptz '1970-01-01 00:00:00+00' + (g - 60000) * interval '1 day 0.000007 second' AS tz,
  (g % 99999 / 100.0)::numeric(7,2) AS n, md5(g::text) AS t,
  CASE WHEN g % 5 = 0 THEN NULL ELSE g END AS maybe
FROM generate_series(1, 120000) g;
-- Values numerics and timestamps cannot hold: those columns are the server's text. m is
-- catalogued as numeric(10,2), then changed to numeric (which holds infinities) behind the
-- catalog's back: the values decide, as on the text path.
CREATE TABLE special (id int PRIMARY KEY, n numeric(10,2), m numeric(10,2), ts timestamp,
  ok numeric(10,2));
INSERT INTO special VALUES (1, 'NaN', 1, '294276-12-31 23:59:59', 1.5),
  (2, 1.25, 2, '2024-01-01 00:00:00', -2.5), (3, NULL, 1, NULL, NULL);
CREATE TABLE empty (id int, t text, n numeric(10,2));
SQL

home=$(new_home)
pg_target pg 'database = "pgbin"' >"$home/targets.toml"
check "the catalog of pgbin is refreshed" env DSCAT_HOME="$home" "$DSCAT" refresh
pg_psql pgbin -c 'ALTER TABLE special ALTER m TYPE numeric' \
    -c "UPDATE special SET m = CASE id WHEN 1 THEN 'Infinity' WHEN 2 THEN '-Infinity' ELSE m END" >/dev/null
file_of() { DSCAT_HOME=$home "$DSCAT" cache ls --json | jq -r --arg t "$1" \
    '.tables[] | select(.connection_id == "pg" and .table_name == $t) | .path + "/data.parquet"'; }
fallbacks_of() { DSCAT_HOME=$home "$DSCAT" cache ls --json | jq -r --arg t "$1" \
    '[.tables[] | select(.table_name == $t) | .fallbacks[] | "\(.column):\(.storage)"] | join(",")'; }
same() {
    if [ -n "$2" ] && [ "$2" == "$3" ]; then
        pass "$1"
    else
        fail "$1" "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | head -n 20)"
    fi
}

# The server's text, one line per row, a column per field ("" for NULL); text and bytes by md5,
# floats in the shortest exact form.
pg_text() { pg_psql pgbin -At -F '|' -c "SET extra_float_digits = 1; $1" | sed 's/\r$//'; }
# DuckDB's rendering of the cached value, spelt as PostgreSQL spells it: "BC" after the date,
# infinities and floats as PostgreSQL writes them.
bc() { echo "regexp_replace(regexp_replace($1::VARCHAR, '^([0-9-]+) \(BC\)(.*)\$', '\\1\\2 BC'), '^([0-9]+-[0-9]+-[0-9]+ [0-9:.]+) BC\$', '\\1 BC')"; }
dec() { echo "regexp_replace($1::VARCHAR, '^(-?)\.', '\10.')"; }
fl() { echo "regexp_replace(replace(replace(replace($1::VARCHAR, 'inf', 'Infinity'), 'nan', 'NaN'), 'Infinityinity', 'Infinity'), '^(-?[0-9]+)\.0\$', '\\1')"; }
# timestamptz as a UTC timestamp (DuckDB's own cast is off by a millisecond near its maximum)
tz="(CASE WHEN isfinite(tz::TIMESTAMP) THEN make_timestamp(epoch_us(tz)) ELSE tz::TIMESTAMP END)"
duck_text() { duckq "$1" | sed 's/\\N//g' | tr '\t' '|'; }

out=$(DSCAT_HOME=$home "$DSCAT" cache refresh pg public.every --json 2>/dev/null)
assert_eq "the table of every type is cached" true "$(jq -r '.tables[0].ok' <<<"$out" 2>/dev/null)"
assert_eq "no column of it needs a fallback" "" "$(fallbacks_of every)"
f=$(file_of every)
assert_eq "each decoded column keeps its native type" \
    "SMALLINT INTEGER BIGINT FLOAT DOUBLE BOOLEAN DATE TIMESTAMP TIMESTAMP WITH TIME ZONE TIME DECIMAL(4,2) DECIMAL(9,0) DECIMAL(18,4) DECIMAL(38,0) DECIMAL(38,10) DECIMAL(38,38) UUID VARCHAR VARCHAR VARCHAR VARCHAR BLOB" \
    "$(duckq "SELECT typeof(i2), typeof(i4), typeof(i8), typeof(f4), typeof(f8), typeof(bo), typeof(d), typeof(ts), typeof(tz), typeof(tm), typeof(n4), typeof(n9), typeof(n18), typeof(n38), typeof(n38s), typeof(n38f), typeof(u), typeof(t), typeof(vc), typeof(bp), typeof(nm), typeof(b) FROM read_parquet('$f') LIMIT 1" | tr '\t' ' ')"
src=$(pg_text "SELECT id, i2, i4, i8, bo::text, d, ts, tz AT TIME ZONE 'UTC', tm, n4, n9, n18,
    n38, n38s, n38f, u, md5(t), length(t), md5(vc), md5(CASE WHEN bp IS NOT NULL THEN concat(bp) END),
    octet_length(CASE WHEN bp IS NOT NULL THEN concat(bp) END),
    md5(nm::text), md5(b), length(b), js, jb, iv, nu, ip, arr, dom, mo FROM every ORDER BY id")
duck=$(duck_text "SELECT id, i2, i4, i8, lower(bo::VARCHAR), $(bc d), $(bc ts), $(bc "$tz"),
    tm, n4, n9, n18, n38, n38s, $(dec n38f), u, md5(t), length(t), md5(vc), md5(bp),
    strlen(bp), md5(nm), md5(b), octet_length(b), js, jb, iv, nu, ip, arr, dom, mo
    FROM read_parquet('$f') ORDER BY id")
same "every cell equals the server's text of it" "$src" "$duck"
# Floats by value: both engines write the shortest text that reads back as the same number, but
# spell it differently (1.6777216e+07, 16777216). floats N...: fields N... (from 1) as Python's.
floats() { python3 -c 'import sys
cols = [int(a) - 1 for a in sys.argv[1:]]
for l in sys.stdin.read().split("\n"):
    f = l.split("|")
    print("|".join(repr(float(x)) if i in cols and x else x for i, x in enumerate(f)))' "$@"; }
same "every float and double equals the server's" \
    "$(pg_text "SELECT f4, f8 FROM every ORDER BY id" | floats 1 2)" \
    "$(duck_text "SELECT $(fl f4), $(fl f8) FROM read_parquet('$f') ORDER BY id" | floats 1 2)"

out=$(DSCAT_HOME=$home "$DSCAT" cache refresh pg public.bulk --json 2>/dev/null)
assert_eq "120,000 rows of edges are cached" "true 120000" "$(jq -r '"\(.tables[0].ok) \(.tables[0].rows)"' <<<"$out" 2>/dev/null)"
f=$(file_of bulk)
src=$(pg_text "SELECT id, i2, i4, i8, f4, f8, bo::text, d, ts, tz AT TIME ZONE 'UTC', n, t, maybe
    FROM bulk ORDER BY id" | floats 5 6 | md5sum)
duck=$(duck_text "SELECT id, i2, i4, i8, $(fl f4), $(fl f8), lower(bo::VARCHAR), $(bc d), $(bc ts),
    $(bc "$tz"), n, t, maybe FROM read_parquet('$f') ORDER BY id" | floats 5 6 | md5sum)
same "every cell of the bulk table equals the server's text" "$src" "$duck"

out=$(DSCAT_HOME=$home "$DSCAT" cache refresh pg public.special --json 2>/dev/null)
assert_eq "NaN, infinities and a far timestamp make their columns text" "n:text,m:text,ts:text" \
    "$(fallbacks_of special)"
f=$(file_of special)
same "the text columns hold the server's text, the others their values" \
    "$(pg_text "SELECT id, n, m, ts, ok FROM special ORDER BY id")" \
    "$(duck_text "SELECT id, n, m, ts, ok FROM read_parquet('$f') ORDER BY id")"
assert_eq "the column without a misfit stays DECIMAL" "DECIMAL(10,2)" \
    "$(duckq "SELECT typeof(ok) FROM read_parquet('$f') LIMIT 1")"

out=$(DSCAT_HOME=$home "$DSCAT" cache refresh pg public.empty --json 2>/dev/null)
assert_eq "a table without rows is cached (the COPY's header and end in one message)" "true 0" \
    "$(jq -r '"\(.tables[0].ok) \(.tables[0].rows)"' <<<"$out" 2>/dev/null)"
assert_eq "and reads back with its types" "0 INTEGER VARCHAR DECIMAL(10,2)" \
    "$(duckq "SELECT count(*), typeof(any_value(id)), typeof(any_value(t)), typeof(any_value(n)) FROM read_parquet('$(file_of empty)')" | tr '\t' ' ')"

# A table without columns is catalogued but cannot be a Parquet file: named as such, not "not
# found"; the other tables of an --include-uncached refresh are cached all the same.
pg_psql pgbin -c 'CREATE TABLE no_columns ()' >/dev/null
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
err=$(DSCAT_HOME=$home "$DSCAT" cache refresh pg public.no_columns 2>&1 >/dev/null)
assert_eq "a table without columns: one line saying so" \
    "dscat: table 'public.no_columns' has no columns: a Parquet file cannot hold it, nothing to cache" "$err"
assert_eq "... exit 1" 1 "$(DSCAT_HOME=$home "$DSCAT" cache refresh pg public.no_columns >/dev/null 2>&1; echo $?)"
out=$(DSCAT_HOME=$home "$DSCAT" cache refresh pg --include-uncached --json 2>/dev/null)
assert_eq "--include-uncached: the table without columns is the one failure, with that reason" \
    "public.no_columns: table 'public.no_columns' has no columns: a Parquet file cannot hold it, nothing to cache" \
    "$(jq -r '.tables[] | select(.ok | not) | "\(.schema_name).\(.table_name): \(.error)"' <<<"$out")"
