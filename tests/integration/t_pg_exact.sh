# PostgreSQL catalog facts exactly as the server has them: table_size_bytes is by default the
# planner's figure (relpages of the table, its TOAST table and every index of both, times the block
# size; unknown before the first ANALYZE or VACUUM) and with exact_sizes = true
# pg_total_relation_size (table, TOAST, indexes), both summed over the leaves of a partitioned table;
# a table under an ACCESS EXCLUSIVE lock does not delay a scan with planner sizes;
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
xhome=$(new_home)
pg_target pg 'database = "exact"' 'exact_sizes = true' >"$xhome/targets.toml"
out=$(DSCAT_HOME=$xhome "$DSCAT" refresh 2>&1)
assert_eq "refresh with exact_sizes exits 0" 0 "$?"
pq=$home/metadata.parquet
xpq=$xhome/metadata.parquet
fact() { duckq "SELECT DISTINCT $1 FROM read_parquet('${3:-$pq}') WHERE table_name = '$2'"; }
xfact() { fact "$1" "$2" "$xpq"; }
rel_size() { pg_psql exact -c "SELECT pg_total_relation_size('$1')"; }
leaf_sum() { pg_psql exact -c "SELECT sum($1) FROM pg_partition_tree('$2') pt JOIN pg_class c ON c.oid = pt.relid WHERE pt.isleaf"; }
# The planner's figure of relation $1 (an oid), worked out here set-based: the relation and its TOAST
# table, then every index of those, their relpages summed; null (\N) when never analysed.
planner_sql() {
    echo "(WITH RECURSIVE rels(oid) AS (SELECT $1 UNION SELECT reltoastrelid FROM pg_class
        WHERE oid = $1 AND reltoastrelid <> 0 UNION SELECT i.indexrelid FROM pg_index i
        JOIN rels ON i.indrelid = rels.oid)
    SELECT CASE WHEN (SELECT reltuples FROM pg_class WHERE oid = $1) < 0 THEN NULL
        ELSE sum(p.relpages)::bigint * current_setting('block_size')::bigint END
    FROM pg_class p JOIN rels ON rels.oid = p.oid)"
}
planner_size() { pg_psql exact -c "SELECT $(planner_sql "'$1'::regclass::oid")"; }
# The same summed over the leaves of $1, null when one leaf's is null.
planner_leaves() {
    pg_psql exact -c "SELECT CASE WHEN count(*) = count(v) THEN sum(v) END FROM (SELECT $(planner_sql pt.relid::oid) AS v FROM pg_partition_tree('$1') pt WHERE pt.isleaf) l"
}

for t in big doms big_mv; do
    assert_eq "table_size_bytes of $t is the planner's figure" "$(planner_size $t)" "$(fact table_size_bytes $t)"
    assert_eq "with exact_sizes, table_size_bytes of $t is pg_total_relation_size" "$(rel_size $t)" "$(xfact table_size_bytes $t)"
done
check "the planner's size of big counts its TOAST table and indexes (more than its heap)" \
    test "$(fact table_size_bytes big)" -gt "$(pg_psql exact -c "SELECT relpages * current_setting('block_size')::int FROM pg_class WHERE oid = 'big'::regclass")"
check "the exact size of big counts its TOAST table and indexes (more than its heap)" \
    test "$(xfact table_size_bytes big)" -gt "$(pg_psql exact -c "SELECT pg_relation_size('big')")"
assert_eq "table_size_bytes of a partitioned table is the sum of the planner's figures over its leaves, recursively" \
    "$(planner_leaves meas)" "$(fact table_size_bytes meas)"
assert_eq "with exact_sizes, the sum of pg_total_relation_size over its leaves" \
    "$(leaf_sum 'pg_total_relation_size(c.oid)' meas)" "$(xfact table_size_bytes meas)"
assert_eq "the row estimate of a partitioned table is the sum over its leaves" \
    "$(leaf_sum 'c.reltuples::bigint' meas)" "$(fact row_count_estimate meas)"
assert_eq "after VACUUM ANALYZE the estimate of meas is its row count" 5000 "$(fact row_count_estimate meas)"
assert_eq "the row estimate of big is its row count" 3000 "$(fact row_count_estimate big)"

# A partition never analysed: the parent's estimate is unknown, not the sum of the others; so is
# its planner size, while the exact size still counts every partition. A table never analysed has
# no planner size either.
pg_psql exact -c "CREATE TABLE meas_2025 PARTITION OF meas FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')" \
    -c "INSERT INTO meas VALUES (7, '2025-03-01', 'late')" \
    -c "CREATE TABLE fresh (id int PRIMARY KEY, v text)" -c "INSERT INTO fresh VALUES (1, 'x')" >/dev/null
check "the new partition has never been analysed" \
    test "$(pg_psql exact -c "SELECT reltuples FROM pg_class WHERE relname = 'meas_2025'")" = -1
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
DSCAT_HOME=$xhome "$DSCAT" refresh >/dev/null 2>&1
assert_eq "a partition never analysed makes the parent's row estimate unknown" \
    '\N' "$(fact row_count_estimate meas)"
assert_eq "a partition never analysed makes the parent's planner size unknown" \
    '\N' "$(fact table_size_bytes meas)"
assert_eq "the parent's exact size still counts every partition (exact sizes are always known)" \
    "$(leaf_sum 'pg_total_relation_size(c.oid)' meas)" "$(xfact table_size_bytes meas)"
assert_eq "a table never analysed has no planner size" '\N' "$(fact table_size_bytes fresh)"
assert_eq "a table never analysed has its exact size" "$(rel_size fresh)" "$(xfact table_size_bytes fresh)"
check "the partitions themselves are not catalogued" \
    test "$(duckq "SELECT count(*) FROM read_parquet('$pq') WHERE table_name LIKE 'meas_%'")" = 0

# A table held under ACCESS EXCLUSIVE (as by VACUUM FULL or ALTER TABLE): planner sizes open no
# relation, so the scan does not wait for the lock.
lhome=$(new_home)
{
    printf '[settings]\nquery_timeout = 5\n\n'
    pg_target pg 'database = "exact"'
} >"$lhome/targets.toml"
pg_psql exact -c "BEGIN; LOCK TABLE big IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60)" >/dev/null 2>&1 &
locker=$!
for _ in $(seq 1 100); do
    [ "$(pg_psql exact -c "SELECT count(*) FROM pg_locks WHERE relation = 'big'::regclass AND mode = 'AccessExclusiveLock' AND granted")" = 1 ] && break
    sleep 0.1
done
t0=$(date +%s%N)
out=$(DSCAT_HOME=$lhome "$DSCAT" refresh 2>&1)
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
pg_psql exact -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null
wait "$locker" 2>/dev/null
echo "  refresh beside an ACCESS EXCLUSIVE lock: $ms ms"
assert_eq "a refresh beside a table under ACCESS EXCLUSIVE exits 0" 0 "$rc"
check "and does not wait for the lock ($ms ms < 4000)" test "$ms" -lt 4000
assert_eq "the locked table keeps its planner size" "$(planner_size big)" \
    "$(fact table_size_bytes big "$lhome/metadata.parquet")"

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
pg_psql exact -c "CREATE ROLE partial_reader LOGIN" \
    -c 'GRANT SELECT (id, name, b, n) ON shapes TO partial_reader' -c 'GRANT SELECT ON doms TO partial_reader' >/dev/null
pg_role_password partial_reader
out=$(T_PG_USER=partial_reader DSCAT_HOME=$home "$DSCAT" refresh --json 2>&1)
assert_eq "refresh as a role with column grants exits 0" 0 "$?"
for c in id name n; do
    want=$(pg_psql exact -c "SELECT count(*), count(*) - count($c), count(DISTINCT $c) FROM (SELECT $c FROM shapes ORDER BY id LIMIT $N) s" | tr '\t' ' ')
    assert_eq "granted column shapes.$c is profiled" "$want" "$(pcol shapes $c)"
done
assert_eq "a column the role may not read is null" '\N \N \N' "$(pcol shapes secret)"
check "columns it may not read are no problem" sh -c "! printf '%s' '$out' | grep -q 'profile of public.shapes'"
check "a table it may not read at all is still a problem" sh -c "printf '%s' '$out' | grep -q 'profile of public.big failed'"
