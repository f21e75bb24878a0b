# shellcheck shell=bash
# The cache root of a cache test, by CACHE_VARIANT: "fs" (a local directory) or "s3" (a prefix in
# the harness's S3 bucket, through the signature-checking front). The helpers look at what the
# cache holds without going through dscat: the directory tree, or the bucket's listing.

# use_cache_root NAME: sets root and exports DSCAT_CACHE_ROOT (and the S3 variables).
use_cache_root() {
    if [ "${CACHE_VARIANT:-fs}" = s3 ]; then
        root=s3://$S3_BUCKET/$1
        cache_local=$TEST_TMP/$1-local
        eval "export $(s3_env | tr '\n' ' ')"
        export DSCAT_S3_LOCAL_DIR=$cache_local
    else
        root=$TEST_TMP/$1
        mkdir -p "$root"
        cache_local=$root
    fi
    export DSCAT_CACHE_ROOT=$root
}

# s3_keys PREFIX: the keys under PREFIX (relative to the bucket), one per line.
s3_keys() { "$S3TOOL" "s3://$S3_BUCKET" ls "$1" | cut -f1; }

# cache_versions REL: the version names of one table (REL = conn/schema/table, encoded).
cache_versions() {
    if [ "${CACHE_VARIANT:-fs}" = s3 ]; then
        s3_keys "${root#s3://$S3_BUCKET/}/$1/" | awk -F/ '{print $(NF-1)}' | sort -u
    else
        ls "$root/$1"
    fi
}

# cache_version_paths: every version path under the root, as the store writes them.
cache_version_paths() {
    if [ "${CACHE_VARIANT:-fs}" = s3 ]; then
        s3_keys "${root#s3://$S3_BUCKET/}/" | sed 's|/[^/]*$||' | sort -u | sed "s|^|s3://$S3_BUCKET/|"
    else
        find "$root" -mindepth 4 -maxdepth 4 -type d
    fi
}

# cache_lock REL: the lock file of one table.
cache_lock() {
    if [ "${CACHE_VARIANT:-fs}" = s3 ]; then
        printf '%s/locks/%s/.lock' "$cache_local" "$1"
    else
        printf '%s/%s/.lock' "$root" "$1"
    fi
}

# cache_table_locked REL: succeeds while a process holds the writer's lock of one table: the flock
# of its lock file, or on a PostgreSQL store a session advisory lock of one bigint key (the
# store's own write and migration locks have two int keys), seen in pg_locks.
cache_table_locked() {
    local lock
    if [ "$(store_engine)" = postgres ]; then
        test "$(pg_store_client psql -X -At -c "SELECT count(*) FROM pg_locks
            WHERE locktype = 'advisory' AND objsubid = 1 AND granted")" -gt 0
        return
    fi
    lock=$(cache_lock "$1")
    [ -e "$lock" ] && ! flock -n "$lock" true
}

# age_cache_versions: makes every version look two hours old, for the orphan rule.
age_cache_versions() {
    if [ "${CACHE_VARIANT:-fs}" = s3 ]; then
        export DSCAT_TEST_ORPHAN_AGE=0 # object times cannot be set back on S3
    else
        find "$root" -mindepth 4 -maxdepth 4 -type d -exec touch -d '2 hours ago' {} +
    fi
}
