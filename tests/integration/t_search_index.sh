# search.idx, the persisted search index: written by refresh, used by find when it describes the
# store's current snapshot, rebuilt when missing, stale or malformed; results identical either way.
dir=$TEST_TMP/search_index
mkdir -p "$dir"
words=(customer order invoice product supplier payment account region price tax ledger event)
ends=(id name code date amount status total qty email notes)
{
    echo "BEGIN;"
    for ((t = 1; t <= 120; t++)); do
        a=${words[t % 12]} b=${words[(t * 7) % 12]}
        printf 'CREATE TABLE %s_%s_%d (%s_id INTEGER PRIMARY KEY' "$a" "$b" "$t" "$a"
        for ((c = 1; c < 8; c++)); do
            printf ', %s_%s_%d %s' "${words[(t + c * 5) % 12]}" "${ends[(t * c) % 10]}" "$c" \
                "$([ $((c % 3)) = 0 ] && echo TEXT || echo INTEGER)"
        done
        [ $((t % 4)) = 0 ] && printf ', ref_%d INTEGER REFERENCES %s_%s_%d(%s_id)' "$t" \
            "${words[(t - 1) % 12]}" "${words[((t - 1) * 7) % 12]}" $((t - 1)) "${words[(t - 1) % 12]}"
        echo ");"
    done
    echo "COMMIT;"
} >"$dir/schema.sql"
sqlite3 "$dir/one.sqlite" <"$dir/schema.sql"
sqlite3 "$dir/two.sqlite" <"$dir/schema.sql"
home=$(new_home)
printf '[targets.one]\ntype = "sqlite"\npath = "%s"\n[targets.two]\ntype = "sqlite"\npath = "%s"\n' \
    "$dir/one.sqlite" "$dir/two.sqlite" >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
idx=$home/search.idx
check "refresh writes search.idx" test -s "$idx"
check "search.idx starts with its magic" test "$(head -c 8 "$idx")" = DSCATSIX
DSCAT_HOME=$home DSCAT_USER=ana "$DSCAT" annotate one.main.order_account_1 note "Quarterly VAT figures" >/dev/null
cp "$idx" "$dir/good.idx"
f() { DSCAT_HOME=$home "$DSCAT" find "$@" 2>&1; }
inode() { stat -c '%i %Y' "$idx"; }

# Every query, with the persisted index and without it (the file removed: find builds the
# index from the store, then writes the file again).
queries=(customer ord "invoice id" "tax total" zzz vat quarterly _id ledger_ "order payment qty"
    ID Customer "e n" amo "%" . 1 "product supplier region" email_ notes)
same=0 differ=0 rebuilt=0
for q in "${queries[@]}"; do
    for opts in "--format json" "--format csv" "--by-table --format json" "--top 3" \
        "--top 500 --format csv" "--target two --format json" "--database one --by-table"; do
        before=$(inode)
        # shellcheck disable=SC2086
        with=$(f $q $opts)
        [ "$(inode)" = "$before" ] || rebuilt=$((rebuilt + 1))
        rm -f "$idx"
        # shellcheck disable=SC2086
        without=$(f $q $opts)
        if [ "$with" = "$without" ]; then same=$((same + 1)); else
            differ=$((differ + 1))
            echo "differs: find $q $opts" >&2
        fi
    done
done
check "find gives the same output with and without search.idx ($same queries)" test "$differ" = 0
check "find does not rewrite a current search.idx" test "$rebuilt" = 0
check "find rewrites a missing search.idx, identical to refresh's" cmp -s "$idx" "$dir/good.idx"

# An annotation added later is searched with the persisted index, which stays as it is.
expect=$(f vat --format json)
DSCAT_HOME=$home DSCAT_USER=bo "$DSCAT" annotate two.main.order_account_1 note "vat again" >/dev/null
before=$(inode)
check "a new annotation is searched without rebuilding search.idx" \
    test "$(f vat --format json | jq length)" = $((2 * $(jq length <<<"$expect")))
check "search.idx untouched by the annotation" test "$(inode)" = "$before"

# Malformed files: detected, never trusted, the index rebuilt and the file written again.
expect=$(f customer --by-table --format json)
size=$(stat -c %s "$dir/good.idx")
bad=0
for n in 0 7 8 100 200 300 1000 $((size / 2)) $((size - 8)) $((size - 1)); do
    head -c "$n" "$dir/good.idx" >"$idx"
    [ "$(f customer --by-table --format json)" = "$expect" ] || { bad=$((bad + 1)); echo "truncated to $n" >&2; }
    cmp -s "$idx" "$dir/good.idx" || { bad=$((bad + 1)); echo "not rewritten after truncation to $n" >&2; }
done
check "a truncated search.idx is rebuilt, same results" test "$bad" = 0
bad=0
for at in 9 20 40 100 130 260 400 $((size / 3)) $((size / 2)) $((size - 3)); do
    cp "$dir/good.idx" "$idx"
    printf '\377\376' | dd of="$idx" bs=1 seek="$at" conv=notrunc status=none
    [ "$(f customer --by-table --format json)" = "$expect" ] || { bad=$((bad + 1)); echo "flipped at $at" >&2; }
    cmp -s "$idx" "$dir/good.idx" || { bad=$((bad + 1)); echo "not rewritten after a change at $at" >&2; }
done
check "a search.idx with changed bytes is rebuilt, same results" test "$bad" = 0
head -c "$size" /dev/urandom >"$idx"
check "a garbage search.idx is rebuilt" test "$(f customer --by-table --format json)" = "$expect"
{ printf 'DSCATSIX'; head -c $((size - 8)) /dev/urandom; } >"$idx"
check "garbage behind the magic is rebuilt" test "$(f customer --by-table --format json)" = "$expect"
cp "$dir/good.idx" "$idx"
printf '\003' | dd of="$idx" bs=1 seek=8 conv=notrunc status=none # format version 3
assert_eq "another format version is rebuilt" "$expect" "$(f customer --by-table --format json)"
check "... and rewritten" cmp -s "$idx" "$dir/good.idx"

# Stale: a refresh that changes the catalog makes an older file stale.
sqlite3 "$dir/one.sqlite" "CREATE TABLE zebra_stripes (stripe_id INTEGER PRIMARY KEY, zebra_count INTEGER)"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
check "refresh rewrites search.idx" sh -c "! cmp -s '$idx' '$dir/good.idx'"
cp "$idx" "$dir/new.idx"
cp "$dir/good.idx" "$idx"
check "a stale search.idx is not used" test "$(f zebra --format json | jq length)" = 2
check "a stale search.idx is rewritten" cmp -s "$idx" "$dir/new.idx"

# A refresh that finds nothing changed writes the file again from itself, with the new stamp,
# instead of reading the column rows out of the store: identical to an index built from the store.
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
cp "$idx" "$dir/again.idx"
check "an unchanged refresh stamps search.idx anew" sh -c "! cmp -s '$idx' '$dir/new.idx'"
before=$(inode)
expect=$(f zebra --format json)
check "... which find uses as it is" test "$(inode)" = "$before"
rm -f "$idx"
assert_eq "... with the results of an index built from the store" "$expect" "$(f zebra --format json)"
check "... and the same bytes" cmp -s "$idx" "$dir/again.idx"
# Seen from outside: a column renamed in the store behind dscat's back (its content hash kept) is
# not read again by an unchanged refresh, but is by a rebuild.
store_sql "$home" "UPDATE columns SET name = 'okapi_count' WHERE name = 'zebra_count'" >/dev/null
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
check "an unchanged refresh does not rebuild search.idx" test "$(f okapi --format json | jq length)" = 0
rm -f "$idx"
check "... a rebuild reads the store" test "$(f okapi --format json | jq length)" = 1
# A new table is a new table set: the file is rebuilt.
store_sql "$home" "UPDATE columns SET name = 'zebra_count' WHERE name = 'okapi_count'" >/dev/null
sqlite3 "$dir/two.sqlite" "CREATE TABLE okapi_herds (herd_id INTEGER PRIMARY KEY)"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
check "a changed catalog rebuilds search.idx" test "$(f okapi --format json | jq length)" = 1
cp "$idx" "$dir/changed.idx"
rm -f "$idx"
f okapi >/dev/null
check "... identical to an index built from the store" cmp -s "$idx" "$dir/changed.idx"

# The build does not depend on the order the store's plan gives the column rows in: on the
# PostgreSQL store, hash joins (no nested loop, no merge join) give them in another order, and the
# index built then answers as the one built from the usual plan. (On SQLite PGOPTIONS is unused.)
if [ "$(store_engine)" = postgres ]; then
    # The index's column query (search.c's load_sql) under those settings: its rows must come out
    # of (scan, table, position) order here, or the comparison below would prove nothing.
    rows=$(PGOPTIONS='-c enable_nestloop=off -c enable_mergejoin=off -c enable_memoize=off' \
        STORE_SQL_SEP=' ' store_sql "$home" "SELECT t.scan_id, t.id, c.ordinal FROM (SELECT t.*
        FROM targets g JOIN scans s ON s.id = g.current_scan_id JOIN scan_tables t
        ON t.scan_id = s.id) t CROSS JOIN columns c WHERE c.set_id = t.column_set")
    check "the PostgreSQL store's hash plan gives the column rows out of order" \
        sh -c "! printf '%s\n' \"\$1\" | sort -c -k1,1n -k2,2n -k3,3n 2>/dev/null" _ "$rows"
fi
rm -f "$idx"
expect=$(f customer --by-table --format json)
rm -f "$idx"
assert_eq "an index built from hash joins answers the same (--by-table lists columns by position)" \
    "$expect" "$(PGOPTIONS='-c enable_nestloop=off -c enable_mergejoin=off -c enable_memoize=off' f customer --by-table --format json)"
rm -f "$idx"
assert_eq "... and so does a search by column" "$(f order qty --format json)" \
    "$(rm -f "$idx"; PGOPTIONS='-c enable_nestloop=off -c enable_mergejoin=off -c enable_memoize=off' f order qty --format json)"
