# Source rules (scripts/source-rules, rules in scripts/layers): the real tree passes; in a scratch
# copy, each planted violation (a wrong-way include, a call to atoi, a raw malloc, an engine name
# outside src/sources/) fails the check with a message naming its file and line, while the same
# words in a comment do not.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=$TEST_TMP/source_rules

# fresh_copy: the parts of the tree the rules read, copied to $dir/tree.
fresh_copy() {
    rm -rf "$dir/tree"
    mkdir -p "$dir/tree/scripts" "$dir/tree/tests"
    cp -R "$repo/src" "$dir/tree/src"
    cp -R "$repo/tests/tools" "$dir/tree/tests/tools"
    cp -R "$repo/include" "$dir/tree/include"
    cp "$repo/scripts/layers" "$repo/scripts/source-rules" "$dir/tree/scripts/"
}

# plant DESCRIPTION FILE LINE_TEXT MESSAGE_REGEX: appends LINE_TEXT to FILE in a fresh copy and
# expects the check to fail naming FILE, the planted line's number and MESSAGE_REGEX.
plant() {
    local desc=$1 file=$2 text=$3 want=$4 out rc n
    fresh_copy
    mkdir -p "$(dirname "$dir/tree/$file")"
    printf '%s\n' "$text" >>"$dir/tree/$file"
    n=$(wc -l <"$dir/tree/$file")
    out=$("$dir/tree/scripts/source-rules" "$dir/tree" 2>&1)
    rc=$?
    if [ "$rc" -eq 1 ] && grep -qE "^$file:$n: .*$want" <<<"$out"; then
        pass "$desc: fails, naming $file:$n"
    else
        fail "$desc: expected exit 1 and '$file:$n: ... $want' (exit $rc)" "$out"
    fi
}

# clean DESCRIPTION FILE LINE_TEXT: appends LINE_TEXT and expects the check to pass.
clean() {
    local desc=$1 file=$2 text=$3 out
    fresh_copy
    printf '%s\n' "$text" >>"$dir/tree/$file"
    if out=$("$dir/tree/scripts/source-rules" "$dir/tree" 2>&1); then
        pass "$desc"
    else
        fail "$desc" "$out"
    fi
}

check "the repository passes the source rules" "$repo/scripts/source-rules"
fresh_copy
check "a clean copy of the tree passes" "$dir/tree/scripts/source-rules" "$dir/tree"

plant "a wrong-way include (core/ including cli/)" src/core/buf.c '#include "cli/cli.h"' \
    'core/ may not include cli/'
plant "a sibling include (server/ including cli/)" src/server/http.c '#include "cli/cli.h"' \
    'server/ may not include cli/'
plant "a sibling include (catalog/ including cache/)" src/catalog/lookup.c \
    '#include "cache/internal.h"' 'catalog/ may not include cache/'
clean "an include going down the layers" src/api/catalog.c '#include "core/model.h"'
plant "the CLI including anything but public headers" src/cli/main.c '#include "api/render.h"' \
    'cli/ may not include api/'
plant "a call to atoi" src/core/model.c 'static int planted(const char *s) { return atoi(s); }' \
    'atoi\(\) is banned'
plant "a call to sprintf in a test tool" tests/tools/duckq.c \
    'static void planted(char *b) { sprintf(b, "x"); }' 'sprintf\(\) is banned'
plant "a raw malloc" src/core/atomic.c 'static void *planted(void) { return malloc(1); }' \
    'malloc\(\) outside src/core/alloc.c'
plant "a raw free without a word on who malloc()ed it" src/server/http.c \
    'static void planted(void *p) { free(p); }' 'free\(\) outside'
clean "a raw free whose comment says a library malloc()ed it" src/server/http.c \
    'static void planted(void *p) { free(p); /* getline(3): malloc()ed by libc */ }'
clean "atoi, malloc and postgres in comments only" src/core/model.c \
    '/* atoi(x) and malloc(1) are banned; postgres is a source */'
plant "an engine name outside src/sources/" src/core/atomic.c \
    'static const char *planted_engine = "postgres";' 'names a source engine'
plant "an engine constant outside src/sources/" src/cli/serve.c \
    'enum { PLANTED = DSCAT_SOURCE_MYSQL };' 'names a source engine'
plant "an engine's name as a string outside src/sources/" src/api/catalog.c \
    'static const char *planted_engine = "duckdb";' 'names a source engine'
plant "an engine name in a public header" include/dscat/config.h \
    'enum { PLANTED_MYSQL_PORT = 3306 };' 'names a source engine'
plant "an engine's alias outside src/sources/" src/jobs/schema_refresh.c \
    'static const char *planted_engine = "MSSQL";' 'names a source engine'
# An engine added later is covered by its driver's own name: a scratch copy gets a new driver
# file, and its name used elsewhere fails.
fresh_copy
printf '%s\n' 'static const struct { const char *name; } planted = {.name = "oracle",};' \
    >"$dir/tree/src/sources/oracle.c"
printf '%s\n' 'static const char *planted_engine = "oracle";' >>"$dir/tree/src/api/catalog.c"
n=$(wc -l <"$dir/tree/src/api/catalog.c")
out=$("$dir/tree/scripts/source-rules" "$dir/tree" 2>&1)
if [ $? -eq 1 ] && grep -q "^src/api/catalog.c:$n: names a source engine" <<<"$out"; then
    pass "a new engine's name (from its driver file) outside src/sources/: fails"
else
    fail "a new engine's name (from its driver file) outside src/sources/: expected a failure" "$out"
fi
clean "the store naming its own engine" src/store/store.c \
    'static const char *planted_name = "sqlite";'
clean "engine names inside src/sources/" src/sources/registry.c \
    'static const char *planted_engine = "postgres";'
plant "a folder missing from scripts/layers" src/newlayer/x.c '#include "core/buf.h"' \
    'is not in scripts/layers'

# The layers by symbol (scripts/symbol-layers): the built objects pass; an object planted in a
# scratch copy that calls up the layers through a public header (no #include of the folder)
# fails, naming the object, the symbol and the folders; the same call from a higher folder passes.
build_dir=$repo/${BUILD:-build}
check "the built library passes the layers by symbol" "$repo/scripts/symbol-layers" "$build_dir"
# plant_call DESCRIPTION FOLDER EXPECT(fail|pass) MESSAGE_REGEX
plant_call() {
    local desc=$1 folder=$2 expect=$3 want=${4:-} out rc
    rm -rf "$dir/sym"
    mkdir -p "$dir/sym/scripts" "$dir/sym/src/$folder" "$dir/sym/build"
    cp -R "$repo/src" "$dir/sym/"
    cp "$repo/scripts/layers" "$repo/scripts/symbol-layers" "$dir/sym/scripts/"
    cp -R "$build_dir/obj" "$dir/sym/build/obj"
    printf '%s\n' '#include "dscat/cache.h"' \
        'int planted(dscat_schema_refresh_result *r, const dscat_config *c, dscat_error *e);' \
        'int planted(dscat_schema_refresh_result *r, const dscat_config *c, dscat_error *e)' \
        '{ return dscat_schema_refresh(r, c, NULL, e); }' >"$dir/sym/src/$folder/planted.c"
    mkdir -p "$dir/sym/build/obj/src/$folder"
    if ! cc -I"$repo/include" -c "$dir/sym/src/$folder/planted.c" \
        -o "$dir/sym/build/obj/src/$folder/planted.o" 2>"$dir/sym/cc.err"; then
        fail "$desc: the planted file does not compile" "$(cat "$dir/sym/cc.err")"
        return
    fi
    out=$(SYMBOL_LAYERS_ROOT=$dir/sym "$dir/sym/scripts/symbol-layers" "$dir/sym/build" 2>&1)
    rc=$?
    if [ "$expect" = pass ]; then
        if [ "$rc" -eq 0 ]; then pass "$desc"; else fail "$desc" "$out"; fi
    elif [ "$rc" -eq 1 ] && grep -qE "src/$folder/planted.o: uses dscat_schema_refresh .*$want" \
        <<<"$out"; then
        pass "$desc: fails, naming the object and the symbol"
    else
        fail "$desc: expected exit 1 naming planted.o (exit $rc)" "$out"
    fi
}
plant_call "a call from cache/ up to a job, through a public header" cache fail \
    'cache/ may not use jobs/'
plant_call "a call from core/ up to a job" core fail 'core/ may not use jobs/'
plant_call "the same call from api/" api pass
