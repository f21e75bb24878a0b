# Cache crash safety and hostile names.
# variants: fs s3
. "$(dirname "${BASH_SOURCE[0]}")/../harness/cache_root.sh"
use_cache_root "crash-root-${CACHE_VARIANT:-fs}"
export DSCAT_DELETION_GRACE=0
work=$TEST_TMP/crash-${CACHE_VARIANT:-fs}
mkdir -p "$work"
pg_psql postgres -c 'DROP DATABASE IF EXISTS crashdb' -c 'CREATE DATABASE crashdb' >/dev/null
pg_psql crashdb -c 'CREATE TABLE t (tag int, i int)' -c 'INSERT INTO t SELECT 1, g FROM generate_series(1, 200000) g' >/dev/null
home=$(new_home)
pg_target pg 'database = "crashdb"' >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
DSCAT_HOME=$home "$DSCAT" cache refresh pg public.t >/dev/null 2>&1
state() { DSCAT_HOME=$home "$DSCAT" query 'SELECT count(*), min(tag), max(tag) FROM pg.public.t' --format csv 2>&1 | tail -n +2; }
tag=1
for stage in streaming file_closed swap_committed old_scheduled; do
    tag=$((tag + 1))
    pg_psql crashdb -c "UPDATE t SET tag = $tag" >/dev/null
    DSCAT_TEST_CRASH_AT=$stage DSCAT_HOME=$home "$DSCAT" cache refresh pg public.t >/dev/null 2>&1
    got=$(state)
    case $stage in
    streaming | file_closed) want="200000,$((tag - 1)),$((tag - 1))" ;;
    *) want="200000,$tag,$tag" ;;
    esac
    # Killed before the swap: the previous version is current; after it: the new one.
    assert_eq "killed at '$stage': the right version is current, readable and whole" "$want" "$got"
    if [ "$stage" = streaming ] || [ "$stage" = file_closed ]; then pg_psql crashdb -c "UPDATE t SET tag = $((tag - 1))" >/dev/null; tag=$((tag - 1)); fi
done
# SIGKILL at moments spread over long refreshes.
for delay in 0.05 0.1 0.15 0.2 0.3 0.4 0.5 0.6 0.8 1.0; do
    DSCAT_HOME=$home "$DSCAT" cache refresh pg public.t >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    got=$(state)
    check "SIGKILL after ${delay}s: one whole version is current ($got)" sh -c "echo '$got' | awk -F, '{ exit !(\$1 == 200000 && \$2 == \$3) }'"
done
# The orphan rule: what the crashes left is scheduled once old enough, then deleted.
vers=$(cache_version_paths | wc -l)
current=$(store_sql "$home" 'SELECT path FROM table_cache')
check "crashes left orphaned versions behind" test "$vers" -gt 1
if [ "${CACHE_VARIANT:-fs}" = s3 ]; then
    check "killed refreshes left staging files behind" test -n "$(ls -A "$cache_local/staging")"
else
    # A refresh killed between making its version directory and marking it leaves it empty.
    mkdir "$root/pg/public/t/v20000101T000000Z-00000000"
fi
age_cache_versions
DSCAT_HOME=$home "$DSCAT" cache ls >/dev/null 2>"$work/orphans.err"
check "orphans are reported" grep -q 'orphaned version' "$work/orphans.err"
DSCAT_HOME=$home "$DSCAT" cache ls >/dev/null 2>&1
unset DSCAT_TEST_ORPHAN_AGE
assert_eq "only the current version is left" "$current" "$(cache_version_paths)"
if [ "${CACHE_VARIANT:-fs}" = s3 ]; then
    assert_eq "and no staging file of a killed refresh is left" "" "$(ls -A "$cache_local/staging")"
fi
check "the current version still reads" test "$(state | cut -d, -f1)" = 200000

# Hostile names: no two share a path, nothing is created outside the root.
pg_psql crashdb >/dev/null <<'SQL'
CREATE SCHEMA "../up";
CREATE TABLE "../up"."a/b" (x int); INSERT INTO "../up"."a/b" VALUES (1);
CREATE TABLE public.".." (x int); INSERT INTO public.".." VALUES (2);
CREATE TABLE public."%2F" (x int); INSERT INTO public."%2F" VALUES (3);
CREATE TABLE public."/" (x int); INSERT INTO public."/" VALUES (4);
CREATE TABLE public."a.b" (x int); INSERT INTO public."a.b" VALUES (5);
CREATE TABLE public."Case" (x int); INSERT INTO public."Case" VALUES (6);
CREATE TABLE public."case" (x int); INSERT INTO public."case" VALUES (7);
CREATE TABLE public."q""uote" (x int); INSERT INTO public."q""uote" VALUES (8);
CREATE TABLE public."ünï" (x int); INSERT INTO public."ünï" VALUES (9);
SQL
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
before_parent=$(ls -A "$TEST_TMP" | sort)
outside() { [ "${CACHE_VARIANT:-fs}" = s3 ] && s3_keys "" | grep -v "^${root#s3://$S3_BUCKET/}/"; true; }
before_outside=$(outside)
for name in '"../up"."a/b"' 'public.".."' 'public."%2F"' 'public."/"' 'public."a.b"' 'public.Case' 'public.case' 'public."q""uote"' 'public.ünï'; do
    DSCAT_HOME=$home "$DSCAT" cache refresh pg "$name" >/dev/null 2>&1 || echo "failed: $name" >>"$work/hostile.fail"
done
check "every hostile table is cached" test ! -e "$work/hostile.fail"
assert_eq "no two share a path" 10 "$(store_sql "$home" 'SELECT count(DISTINCT path) FROM table_cache')"
check "every path lies inside the root" test "$(store_sql "$home" "SELECT count(*) FROM table_cache WHERE path NOT LIKE '$root/%' OR path LIKE '%/../%'")" = 0
assert_eq "nothing was created beside the root" "$before_parent" "$(ls -A "$TEST_TMP" | sort)"
assert_eq "no key was written outside the root" "$before_outside" "$(outside)"
# DuckDB matches names without regard to case: of "Case" and "case" only the first is a view.
assert_eq "each reads back its own row" "1 2 3 4 5 6 8 9" "$(for t in '"../up"."a/b"' 'public.".."' 'public."%2F"' 'public."/"' 'public."a.b"' 'public."Case"' 'public."q""uote"' 'public."ünï"'; do DSCAT_HOME=$home "$DSCAT" query "SELECT x FROM pg.$t" --format csv | tail -n +2; done | tr '\n' ' ' | sed 's/ $//')"
