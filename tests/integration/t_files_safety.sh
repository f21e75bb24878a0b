# Files and secrets at the edges: deletions never leave the cache root (planted symlinks), two
# catalogs sharing one root never sweep each other's versions, the store refuses a symlink, an
# empty file and another program's SQLite file (all left as they were), cache files carry the
# catalog's modes, read-only commands work in a directory they cannot write; no password from a
# misplaced URL in a config error; no `git` child (a fake one on PATH is never run); MCP answers
# lines that do not parse with their id.
export DSCAT_DELETION_GRACE=0
dir=$TEST_TMP/files
mkdir -p "$dir"
sqlite3 "$dir/shop.sqlite" 'CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL);
  INSERT INTO orders VALUES (1, 2.5), (2, 3.5);'

# ---- symlinks planted inside the cache root ---------------------------------------------------
root=$dir/root
export DSCAT_CACHE_ROOT=$root
home=$(new_home)
printf '[targets.shop]\ntype = "sqlite"\npath = "%s"\n' "$dir/shop.sqlite" >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
DSCAT_HOME=$home "$DSCAT" cache refresh shop main.orders >/dev/null 2>&1
# Outside the root: a tree shaped like a cache (conn/schema/table/version), old.
mkdir -p "$dir/outside/conn/schema/table/v1" "$dir/outside/v2"
echo precious >"$dir/outside/conn/schema/table/v1/data.parquet"
echo precious >"$dir/outside/v2/data.parquet"
touch -d '2 days ago' "$dir/outside/conn/schema/table/v1" "$dir/outside/v2"
ln -s "$dir/outside/conn" "$root/conn"                   # a connection directory
ln -s "$dir/outside/v2" "$root/shop/main/orders/v-linked" # a version directory
tdir=$(find "$root/shop/main/orders" -mindepth 1 -maxdepth 1 -type d | head -n 1)
ln -s "$dir/outside" "$tdir/inner" # inside a version
tree_sums "$dir/outside" >"$dir/outside.before"
DSCAT_TEST_ORPHAN_AGE=0 DSCAT_HOME=$home "$DSCAT" cache ls >/dev/null 2>&1
DSCAT_TEST_ORPHAN_AGE=0 DSCAT_HOME=$home "$DSCAT" cache ls >/dev/null 2>&1
tree_sums "$dir/outside" >"$dir/outside.after"
assert_same "nothing outside the cache root is deleted through planted symlinks" \
    "$dir/outside.before" "$dir/outside.after"
# A pending deletion whose path leads through a symlink is refused, not followed.
store_sql "$home" "INSERT INTO pending_deletions(path, delete_after, retry_count) VALUES ('$root/conn/schema/table/v1', '2000-01-01T00:00:00Z', 0)"
out=$(DSCAT_HOME=$home "$DSCAT" cache ls 2>&1)
check "a deletion through a symlink leaves the target" test -f "$dir/outside/conn/schema/table/v1/data.parquet"
assert_match "and is reported" "not a directory of the cache" "$out"
rm -f "$root/conn" "$root/shop/main/orders/v-linked" "$tdir/inner"
store_sql "$home" "DELETE FROM pending_deletions"

# ---- two catalogs, one cache root ------------------------------------------------------------
home_a=$(new_home)
home_b=$(new_home)
export DSCAT_CACHE_ROOT=$dir/shared
for h in "$home_a" "$home_b"; do
    printf '[targets.shop]\ntype = "sqlite"\npath = "%s"\n' "$dir/shop.sqlite" >"$h/targets.toml"
    DSCAT_HOME=$h "$DSCAT" refresh >/dev/null 2>&1
done
DSCAT_HOME=$home_a "$DSCAT" cache refresh shop main.orders >/dev/null 2>&1
DSCAT_HOME=$home_b "$DSCAT" cache refresh shop main.orders >/dev/null 2>&1
b_path=$(DSCAT_HOME=$home_b "$DSCAT" cache ls --json 2>/dev/null | jq -r '.tables[0].path')
find "$DSCAT_CACHE_ROOT" -mindepth 4 -maxdepth 4 -type d -exec touch -d '2 days ago' {} +
for _ in 1 2; do
    DSCAT_TEST_ORPHAN_AGE=0 DSCAT_HOME=$home_a "$DSCAT" cache ls >/dev/null 2>&1
done
check "catalog A's orphan rule leaves catalog B's current version" test -f "$b_path/data.parquet"
assert_eq "catalog B still reads it" 2 \
    "$(DSCAT_HOME=$home_b "$DSCAT" query --format csv 'SELECT count(*) FROM shop.main.orders' 2>/dev/null | tail -n 1)"
check "each version names the catalog that wrote it" \
    test "$(find "$DSCAT_CACHE_ROOT" -name '.catalog-*' | wc -l)" -ge 2
# An orphan of A's own is still swept.
a_dir=$(dirname "$(DSCAT_HOME=$home_a "$DSCAT" cache ls --json 2>/dev/null | jq -r '.tables[0].path')")
a_id=$(store_sql "$home_a" "SELECT value FROM catalog_meta WHERE key = 'catalog_id'")
mkdir -m 700 "$a_dir/v-crashed"
(umask 077 && touch "$a_dir/v-crashed/.catalog-$a_id")
touch -d '2 days ago' "$a_dir/v-crashed"
DSCAT_TEST_ORPHAN_AGE=0 DSCAT_HOME=$home_a "$DSCAT" cache ls >/dev/null 2>&1
DSCAT_TEST_ORPHAN_AGE=0 DSCAT_HOME=$home_a "$DSCAT" cache ls >/dev/null 2>&1
check "an orphan of the catalog's own is swept" test ! -e "$a_dir/v-crashed"

# ---- modes ------------------------------------------------------------------------------------
bad=$(find "$DSCAT_CACHE_ROOT" \( -type d ! -perm 700 \) -o \( -type f ! -perm 600 \))
assert_eq "cache directories are 0700 and files 0600, as the catalog" "" "$bad"

# ---- the store file ---------------------------------------------------------------------------
# catalog.db itself (a symlink, another program's file, an empty file): SQLite only, a
# PostgreSQL store has no file in the catalog directory.
if [ "$(store_engine)" = sqlite ]; then
    export DSCAT_CACHE_ROOT=$dir/cache3
    home=$(new_home)
    printf '[targets.shop]\ntype = "sqlite"\npath = "%s"\n' "$dir/shop.sqlite" >"$home/targets.toml"
    sqlite3 "$dir/foreign.db" 'CREATE TABLE accounts (id INTEGER, secret TEXT); INSERT INTO accounts VALUES (1, 42);'
    sum_before=$(sha256sum "$dir/foreign.db")
    ln -s "$dir/foreign.db" "$home/catalog.db"
    out=$(DSCAT_HOME=$home "$DSCAT" refresh 2>&1)
    rc=$?
    assert_eq "a catalog.db that is a symlink: refresh exits 1" 1 "$rc"
    assert_match "naming the symlink" "symlink" "$out"
    assert_eq "the file it points to is untouched" "$sum_before" "$(sha256sum "$dir/foreign.db")"
    rm "$home/catalog.db"
    cp "$dir/foreign.db" "$home/catalog.db"
    sum_before=$(sha256sum "$home/catalog.db")
    out=$(DSCAT_HOME=$home "$DSCAT" refresh 2>&1)
    rc=$?
    assert_eq "another program's SQLite file as catalog.db: exit 1" 1 "$rc"
    assert_match "named as not a dscat store" "not a dscat catalog store" "$out"
    assert_eq "and left untouched" "$sum_before" "$(sha256sum "$home/catalog.db")"
    check "no table of ours was added to it" test "$(sqlite3 "$home/catalog.db" "SELECT count(*) FROM sqlite_schema WHERE name = 'scans'")" = 0
    rm "$home/catalog.db"
    : >"$home/catalog.db"
    out=$(DSCAT_HOME=$home "$DSCAT" refresh 2>&1)
    rc=$?
    assert_eq "an empty catalog.db: exit 1" 1 "$rc"
    assert_match "named as empty" "empty" "$out"
    check "it is not silently recreated" test ! -s "$home/catalog.db"
    out=$(DSCAT_HOME=$home "$DSCAT" status 2>&1)
    check "status says so too (exit non-zero)" test $? -ne 0
    rm "$home/catalog.db"
else
    # The PostgreSQL store's counterpart of another program's file: the directory's schema
    # already holding another program's tables.
    export DSCAT_CACHE_ROOT=$dir/cache3
    home=$(new_home)
    printf '[targets.shop]\ntype = "sqlite"\npath = "%s"\n' "$dir/shop.sqlite" >"$home/targets.toml"
    schema=$(store_schema "$home")
    pg_store_client psql -X -q -v ON_ERROR_STOP=1 -c "CREATE SCHEMA $schema" \
        -c "CREATE TABLE $schema.accounts (id int, secret text)" \
        -c "INSERT INTO $schema.accounts VALUES (1, '42')"
    dump_before=$(store_dump "$home")
    out=$(DSCAT_HOME=$home "$DSCAT" refresh 2>&1)
    rc=$?
    assert_eq "a schema holding another program's tables: exit 1" 1 "$rc"
    assert_match "named as not a dscat store" "not a dscat catalog store" "$out"
    assert_eq "and left untouched" "$dump_before" "$(store_dump "$home")"
    out=$(DSCAT_HOME=$home "$DSCAT" status 2>&1)
    check "status says so too (exit non-zero)" test $? -ne 0
fi

# ---- read-only commands in a directory they cannot write ---------------------------------------
home=$(new_home)
printf '[targets.shop]\ntype = "sqlite"\npath = "%s"\n' "$dir/shop.sqlite" >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
chmod 0755 "$home"
chmod 0644 "$home/targets.toml"
if [ "$(store_engine)" = sqlite ]; then
    chmod 0644 "$home/catalog.db"
    store_checkpoint "$home"
    rm -f "$home/catalog.db-wal" "$home/catalog.db-shm"
fi
ro() { runuser -u nobody -- env DSCAT_HOME="$home" HOME=/nonexistent "$DSCAT" "$@"; }
check "find works in a directory it cannot write" ro find orders
check "table works there" ro table shop.main.orders
check "status works there" ro status
check "cache ls works there, without a warning about the deletions it cannot do" \
    test "$(ro cache ls 2>&1)" = "No cached tables."
if [ "$(store_engine)" = sqlite ]; then
    err=$(ro refresh 2>&1 >/dev/null)
    assert_eq "a refresh there says the catalog cannot be written, in one line" \
        "dscat: catalog store $home/catalog.db cannot be written by this user (Permission denied): this command writes the catalog, whose directory and catalog.db must be writable" "$err"
fi
check "and nothing was created in it" test ! -e "$home/catalog.db-shm"

# ---- secrets ----------------------------------------------------------------------------------
home=$(new_home)
printf '[targets.a]\ntype = "postgres://reader:Hunter2-secret@db.example/x"\n' >"$home/targets.toml"
out=$(DSCAT_HOME=$home "$DSCAT" targets 2>&1)
check "a URL in a wrong key: a config error" test -n "$out"
check "that never echoes the password" bash -c "! grep -q Hunter2 <<<'$out'"
mkdir -p "$dir/fakebin"
printf '#!/bin/sh\necho ran >"%s/git-ran"\nenv >"%s/git-env"\necho Fake\n' "$dir" "$dir" >"$dir/fakebin/git"
chmod +x "$dir/fakebin/git"
home=$(new_home)
printf '[targets.shop]\ntype = "sqlite"\npath = "%s"\n' "$dir/shop.sqlite" >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
printf '[user]\n\tname = "Ada Lovelace"\n' >"$dir/gitconfig"
PATH=$dir/fakebin:$PATH GIT_CONFIG_GLOBAL=$dir/gitconfig SECRET_PASSWORD=shh DSCAT_USER= \
    DSCAT_HOME=$home "$DSCAT" annotate shop.main.orders note "checked" >/dev/null 2>&1
check "no git child was started (a fake git on PATH never ran)" test ! -e "$dir/git-ran"
check "git's user.name is read from its config file" \
    grep -rq 'Ada_Lovelace\|Ada Lovelace' "$home/annotations"

# ---- MCP lines that do not parse are answered with their id ------------------------------------
r=$(printf '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x","arguments":{"k":"\\uZZZZ"}}}\n{"jsonrpc":"2.0","id":"r-8","method":"ping","params":{"a":"\xe2\x82"}}\n{"jsonrpc":"2.0","method":"ping"\n' |
    DSCAT_HOME=$home "$DSCAT" mcp)
assert_eq "MCP answers every line, with the id it can read" "7 r-8 null" \
    "$(jq -r '.id' <<<"$r" | tr '\n' ' ' | sed 's/ $//')"
