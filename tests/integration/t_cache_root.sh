# A relative cache root names one directory for every process of the catalog: cache_root in
# targets.toml is relative to the catalog directory, DSCAT_CACHE_ROOT to the working directory of
# the process that reads it; either is made absolute when the configuration is read, so the store
# records absolute paths, and a process whose root differs says so in one line.
dir=$TEST_TMP/cache_root
mkdir -p "$dir/cwd1" "$dir/cwd2"
sqlite3 "$dir/src.sqlite" "CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT);
  INSERT INTO products VALUES (1, 'a'), (2, 'b');"
home=$(new_home)
printf '[targets.demo]\ntype = "sqlite"\npath = "%s"\n' "$dir/src.sqlite" >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
run_in() { (cd "$1" && shift && DSCAT_HOME=$home "$@"); }

out=$(run_in "$dir/cwd1" env DSCAT_CACHE_ROOT=relcache "$DSCAT" cache refresh demo main.products 2>&1)
check "DSCAT_CACHE_ROOT=relcache: the version is written under the working directory" \
    test -f "$(find "$dir/cwd1/relcache/demo" -name data.parquet | head -1)"
check "... and nowhere under the other directory" test ! -e "$dir/cwd2/relcache"
assert_eq "the store records the absolute path" "1" \
    "$(store_sql "$home" "SELECT count(*) FROM table_cache WHERE path LIKE '$dir/cwd1/relcache/%'")"
assert_eq "a query from the same directory reads it" "2" \
    "$(run_in "$dir/cwd1" env DSCAT_CACHE_ROOT=relcache "$DSCAT" query --format csv 'SELECT count(*) FROM demo.main.products' | tail -1)"
err=$(run_in "$dir/cwd2" env DSCAT_CACHE_ROOT=relcache "$DSCAT" query 'SELECT count(*) FROM demo.main.products' 2>&1 >/dev/null)
assert_match "from another directory the same relative root is another root, said in one line" \
    "is not under the cache root $dir/cwd2/relcache" "$err"
assert_eq "... one line" 1 "$(printf '%s\n' "$err" | wc -l)"

# cache_root in targets.toml: relative to the catalog directory, whatever the working directory.
printf '[settings]\ncache_root = "../shared_cache"\n[targets.demo]\ntype = "sqlite"\npath = "%s"\n' \
    "$dir/src.sqlite" >"$home/targets.toml"
run_in "$dir/cwd2" "$DSCAT" cache refresh demo main.products >/dev/null 2>&1
root=$(cd "$home/.." && pwd)/shared_cache
check "cache_root = \"../shared_cache\" is beside the catalog directory" \
    test -f "$(find "$root/demo" -name data.parquet 2>/dev/null | head -1)"
assert_eq "a query from any directory reads it" "2" \
    "$(run_in "$dir/cwd1" "$DSCAT" query --format csv 'SELECT count(*) FROM demo.main.products' | tail -1)"
rm -rf "$root"
printf '[settings]\ncache_root = "inside"\n[targets.demo]\ntype = "sqlite"\npath = "%s"\n' \
    "$dir/src.sqlite" >"$home/targets.toml"
err=$(run_in "$dir/cwd1" "$DSCAT" cache ls 2>&1 >/dev/null)
assert_match "a relative cache_root inside the catalog directory is refused, naming the file" \
    "targets.toml: cache_root $home/inside is inside the catalog directory" "$err"
printf '[targets.demo]\ntype = "sqlite"\npath = "%s"\n' "$dir/src.sqlite" >"$home/targets.toml"
err=$(run_in "$dir/cwd1" env DSCAT_CACHE_ROOT="$home/x" "$DSCAT" cache ls 2>&1 >/dev/null)
assert_match "a DSCAT_CACHE_ROOT inside the catalog directory is refused, naming the variable" \
    "DSCAT_CACHE_ROOT $home/x is inside the catalog directory" "$err"
check "... not blaming targets.toml" sh -c "! printf '%s' '$err' | grep -q targets.toml"

# The computed default (no cache_root, no DSCAT_CACHE_ROOT) with HOME unset or a relative
# XDG_CACHE_HOME is not taken for a cache_root of the file: commands work from elsewhere.
check "HOME unset: a command that never caches works" \
    sh -c "cd '$dir/cwd1' && env -u HOME -u XDG_CACHE_HOME DSCAT_HOME='$home' '$DSCAT' find products >/dev/null"
check "a relative XDG_CACHE_HOME is ignored" \
    sh -c "cd '$dir/cwd1' && XDG_CACHE_HOME=rel DSCAT_HOME='$home' '$DSCAT' find products >/dev/null"
