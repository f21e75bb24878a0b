# PostgreSQL catalog facts exactly as the server has them: table_size_bytes is
# pg_total_relation_size (table, TOAST, indexes), summed over the leaves of a partitioned table;
# row estimates are summed over partitions, and one partition never analysed makes the parent's
# estimate unknown, never smaller; a NOT NULL domain makes its columns non-nullable; bpchar
# without a length is "character". Profiling leaves out only the columns it cannot profile: types
# without an ordering (box, point, json), columns the role may not read, and tables wider than a
# query's select list are profiled in chunks.
pg_psql postgres -c 'CREATE DATABASE exact' >/dev/null
pg_psql exact >/dev/null <<'SQL'
CREATE DOMAIN posint AS int NOT NULL CHECK (VALUE > 0);
CREATE TABLE big (id int PRIMARY KEY, body text, note varchar(20));
CREATE INDEX big_note ON big (note);
INSERT INTO big SELECT g, repeat(md5(g::text), 200), 'n' || (g % 10) FROM generate_series(1, 3000) g;
CREATE TABLE doms (id int PRIMARY KEY, d posint, free int, c bpchar, c5 char(5),
                   cs character);
INSERT INTO doms VALUES (1, 1, NULL, 'a', 'b', 'c');
CREATE TABLE meas (id int, at date, v text) PARTITION BY RANGE (at);
CREATE TABLE meas_2023 PARTITION OF meas FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE meas_2024 PARTITION OF meas FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')
    PARTITION BY RANGE (id);
CREATE TABLE meas_2024_a PARTITION OF meas_2024 FOR VALUES FROM (0) TO (1000);
CREATE TABLE meas_2024_b PARTITION OF meas_2024 FOR VALUES FROM (1000) TO (100000);
CREATE INDEX meas_id ON meas (id);
INSERT INTO meas SELECT g, date '2023-01-01' + (g % 700), repeat('x', g % 50)
FROM generate_series(1, 5000) g;
CREATE MATERIALIZED VIEW big_mv AS SELECT id, note FROM big;
VACUUM ANALYZE;
SQL

home=$(new_home)
pg_target pg 'database = "exact"' >"$home/targets.toml"
out=$(DSCAT_HOME=$home "$DSCAT" refresh 2>&1)
assert_eq "refresh exits 0" 0 "$?"
pq=$home/metadata.parquet
fact() { duckq "SELECT DISTINCT $1 FROM read_parquet('$pq') WHERE table_name = '$2'"; }
rel_size() { pg_psql exact -c "SELECT pg_total_relation_size('$1')"; }
leaf_sum() { pg_psql exact -c "SELECT sum($1) FROM pg_partition_tree('$2') pt JOIN pg_class c ON c.oid = pt.relid WHERE pt.isleaf"; }

for t in big doms big_mv; do
    assert_eq "table_size_bytes of $t is pg_total_relation_size" "$(rel_size $t)" "$(fact table_size_bytes $t)"
done
check "the size of big counts its TOAST table and indexes (more than its heap)" \
    test "$(fact table_size_bytes big)" -gt "$(pg_psql exact -c "SELECT pg_relation_size('big')")"
assert_eq "table_size_bytes of a partitioned table is the sum over its leaves, recursively" \
    "$(leaf_sum 'pg_total_relation_size(c.oid)' meas)" "$(fact table_size_bytes meas)"
assert_eq "the row estimate of a partitioned table is the sum over its leaves" \
    "$(leaf_sum 'c.reltuples::bigint' meas)" "$(fact row_count_estimate meas)"
assert_eq "after VACUUM ANALYZE the estimate of meas is its row count" 5000 "$(fact row_count_estimate meas)"
assert_eq "the row estimate of big is its row count" 3000 "$(fact row_count_estimate big)"

# A partition never analysed: the parent's estimate is unknown, not the sum of the others.
pg_psql exact -c "CREATE TABLE meas_2025 PARTITION OF meas FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')" \
    -c "INSERT INTO meas VALUES (7, '2025-03-01', 'late')" >/dev/null
check "the new partition has never been analysed" \
    test "$(pg_psql exact -c "SELECT reltuples FROM pg_class WHERE relname = 'meas_2025'")" = -1
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
assert_eq "a partition never analysed makes the parent's row estimate unknown" \
    '\N' "$(fact row_count_estimate meas)"
assert_eq "the parent's size still counts every partition (sizes are always known)" \
    "$(leaf_sum 'pg_total_relation_size(c.oid)' meas)" "$(fact table_size_bytes meas)"
check "the partitions themselves are not catalogued" \
    test "$(duckq "SELECT count(*) FROM read_parquet('$pq') WHERE table_name LIKE 'meas_%'")" = 0

col() { duckq "SELECT $1 FROM read_parquet('$pq') WHERE table_name = 'doms' AND column_name = '$2'"; }
assert_eq "a column of a NOT NULL domain is not nullable" false "$(col is_nullable d)"
assert_eq "a plain column stays nullable" true "$(col is_nullable free)"
assert_eq "bpchar without a length is character" character "$(col data_type c)"
assert_eq "char(5) is character" character "$(col data_type c5)"
assert_eq "character (char(1)) is character" character "$(col data_type cs)"
assert_eq "char(5) keeps its full type" 'character(5)' "$(col column_type c5)"
compare_pg "exact" "$pq" pg exact

# Profiling: columns without an ordering, unreadable columns, a 1,600-column table.
N=100
pg_psql exact >/dev/null <<'SQL'
CREATE DOMAIN posint2 AS posint;
CREATE TABLE doms2 (id int PRIMARY KEY, d2 posint2);
CREATE TABLE shapes (id int PRIMARY KEY, name text, b box, p point, doc json, jb jsonb,
                     pts point[], n numeric(8,2), secret text);
INSERT INTO shapes SELECT g, 'n' || (g % 17), box(point(g, g), point(0, 0)), point(g, g % 5),
    '{"a": 1}', jsonb_build_object('k', g % 3), ARRAY[point(g, g)],
    CASE WHEN g % 4 = 0 THEN NULL ELSE g % 9 END, 's' || g
FROM generate_series(1, 500) g;
DO $$ BEGIN
    EXECUTE 'CREATE TABLE wide (id int PRIMARY KEY, '
        || (SELECT string_agg(format('c%s int', i), ', ') FROM generate_series(1, 1599) i) || ')';
    EXECUTE 'INSERT INTO wide SELECT g, '
        || (SELECT string_agg(format('CASE WHEN g %% %s = 0 THEN NULL ELSE g %% %s END', i % 7 + 2, i % 11 + 3), ', ')
            FROM generate_series(1, 1599) i) || ' FROM generate_series(1, 300) g';
END $$;
SQL
cat >"$home/targets.toml" <<TOML
[settings]
profile_sample_size = $N
default_scan_depth = "profile"

$(pg_target pg 'database = "exact"')
TOML
out=$(DSCAT_HOME=$home "$DSCAT" refresh --json 2>&1)
assert_eq "refresh with profiling exits 0" 0 "$?"
check "no profile problem at all" sh -c "! printf '%s' '$out' | grep -q 'profile of'"
# information_schema says nullable (it looks at one domain only); the server enforces the base
# domain's NOT NULL, so the column cannot hold NULL.
assert_eq "a column of a domain over a NOT NULL domain is not nullable" false \
    "$(duckq "SELECT is_nullable FROM read_parquet('$pq') WHERE table_name = 'doms2' AND column_name = 'd2'")"
pcol() { duckq "SELECT profiled_rows, null_count, distinct_count FROM read_parquet('$pq') WHERE table_name = '$1' AND column_name = '$2'" | tr '\t' ' '; }
for c in id name jb n secret; do
    want=$(pg_psql exact -c "SELECT count(*), count(*) - count($c), count(DISTINCT $c) FROM (SELECT $c FROM shapes ORDER BY id LIMIT $N) s" | tr '\t' ' ')
    assert_eq "shapes.$c is profiled beside columns without an ordering" "$want" "$(pcol shapes $c)"
done
for c in b p doc pts; do
    assert_eq "shapes.$c (no ordering) is null" '\N \N \N' "$(pcol shapes $c)"
done
ok=1
for c in id c1 c2 c800 c831 c832 c1200 c1599; do
    want=$(pg_psql exact -c "SELECT count(*), count(*) - count($c), count(DISTINCT $c) FROM (SELECT $c FROM wide ORDER BY id LIMIT $N) s" | tr '\t' ' ')
    [ "$want" = "$(pcol wide $c)" ] || { ok=0; echo "    wide.$c: want $want got $(pcol wide $c)"; }
done
assert_eq "every sampled column of the 1,600-column table equals the test's aggregate" 1 "$ok"
check "all 1,600 columns of wide are profiled" \
    test "$(duckq "SELECT count(*) FROM read_parquet('$pq') WHERE table_name = 'wide' AND profiled_rows = $N")" = 1600

# A role that may read some columns only: those are profiled, the others stay null.
pg_psql exact -c "CREATE ROLE partial_reader LOGIN PASSWORD '$PG_PASSWORD'" \
    -c 'GRANT SELECT (id, name, b, n) ON shapes TO partial_reader' -c 'GRANT SELECT ON doms TO partial_reader' >/dev/null
out=$(T_PG_USER=partial_reader DSCAT_HOME=$home "$DSCAT" refresh --json 2>&1)
assert_eq "refresh as a role with column grants exits 0" 0 "$?"
for c in id name n; do
    want=$(pg_psql exact -c "SELECT count(*), count(*) - count($c), count(DISTINCT $c) FROM (SELECT $c FROM shapes ORDER BY id LIMIT $N) s" | tr '\t' ' ')
    assert_eq "granted column shapes.$c is profiled" "$want" "$(pcol shapes $c)"
done
assert_eq "a column the role may not read is null" '\N \N \N' "$(pcol shapes secret)"
check "columns it may not read are no problem" sh -c "! printf '%s' '$out' | grep -q 'profile of public.shapes'"
check "a table it may not read at all is still a problem" sh -c "printf '%s' '$out' | grep -q 'profile of public.big failed'"
