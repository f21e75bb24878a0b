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
plant "a sibling include (server/ including cli/)" src/server/render.c '#include "cli/cli.h"' \
    'server/ may not include cli/'
plant "an include the allowlist names for another file" src/catalog/model.c \
    '#include "export/atomic.h"' 'catalog/ may not include export/'
clean "an include going down the layers" src/cli/main.c '#include "catalog/model.h"'
plant "a call to atoi" src/catalog/model.c 'static int planted(const char *s) { return atoi(s); }' \
    'atoi\(\) is banned'
plant "a call to sprintf in a test tool" tests/tools/duckq.c \
    'static void planted(char *b) { sprintf(b, "x"); }' 'sprintf\(\) is banned'
plant "a raw malloc" src/export/atomic.c 'static void *planted(void) { return malloc(1); }' \
    'malloc\(\) outside src/core/alloc.c'
plant "a raw free without a word on who malloc()ed it" src/server/render.c \
    'static void planted(void *p) { free(p); }' 'free\(\) outside'
clean "a raw free whose comment says a library malloc()ed it" src/server/render.c \
    'static void planted(void *p) { free(p); /* getline(3): malloc()ed by libc */ }'
clean "atoi, malloc and postgres in comments only" src/catalog/model.c \
    '/* atoi(x) and malloc(1) are banned; postgres is a source */'
plant "an engine name outside src/sources/" src/export/atomic.c \
    'static const char *planted_engine = "postgres";' 'names a source engine'
plant "an engine constant outside src/sources/" src/cli/serve.c \
    'enum { PLANTED = DSCAT_SOURCE_MYSQL };' 'names a source engine'
plant "one engine name more than a file's allowance" src/core/init.c \
    'static const char *planted_engine = "mariadb";' 'over its allow-engine count'
clean "engine names inside src/sources/" src/sources/registry.c \
    'static const char *planted_engine = "postgres";'
plant "a folder missing from scripts/layers" src/newlayer/x.c '#include "core/buf.h"' \
    'is not in scripts/layers'
