# The six filter keys, with globs, on PostgreSQL and MariaDB: each changes exactly the catalogued
# set the test expects, computed here with the shell's own glob matching.
for db in fa1 fa2 fb1 gz; do
    pg_psql postgres -c "CREATE DATABASE $db" >/dev/null
    pg_psql "$db" -c 'CREATE SCHEMA s_keep' -c 'CREATE SCHEMA s_drop' -c 'CREATE SCHEMA x_other' >/dev/null
    for s in s_keep s_drop x_other; do
        pg_psql "$db" -c "CREATE TABLE $s.t_keep1 (id int)" -c "CREATE TABLE $s.t_old1 (id int)" \
            -c "CREATE TABLE $s.u_x (id int)" >/dev/null
    done
    my_sql -e "CREATE DATABASE my_$db; CREATE TABLE my_$db.t_keep1 (id int); CREATE TABLE my_$db.t_old1 (id int); CREATE TABLE my_$db.u_x (id int);"
done

# expected ENGINE KEY GLOB...: the (database, schema, table) triples a filter should keep.
expected() {
    local engine=$1 key=$2 d s t keep g
    shift 2
    local globs=("$@")
    if [ "$engine" = pg ]; then dbs=(fa1 fa2 fb1 gz); schemas=(s_keep s_drop x_other); else dbs=(my_fa1 my_fa2 my_fb1 my_gz); fi
    for d in "${dbs[@]}"; do
        [ "$engine" = my ] && schemas=("$d")
        for s in "${schemas[@]}"; do
            for t in t_keep1 t_old1 u_x; do
                case $key in
                include_databases) subject=$d; want=1 ;; exclude_databases) subject=$d; want=0 ;;
                include_schemas) subject=$s; want=1 ;; exclude_schemas) subject=$s; want=0 ;;
                include_tables) subject=$t; want=1 ;; exclude_tables) subject=$t; want=0 ;;
                esac
                keep=0
                # shellcheck disable=SC2053
                for g in "${globs[@]}"; do [[ $subject == $g ]] && keep=1; done
                [ "$keep" = "$want" ] && printf '%s\t%s\t%s\n' "$d" "$s" "$t"
            done
        done
    done | LC_ALL=C sort
}

run_filter() {
    local engine=$1 key=$2 list="" g home
    shift 2
    for g in "$@"; do list+="${list:+, }\"$g\""; done
    home=$(new_home)
    if [ "$engine" = pg ]; then
        dbs='"fa1", "fa2", "fb1", "gz"'
        [ "$key" = include_databases ] && dbs=$list
        pg_target f "include_databases = [$dbs]" "$( [ "$key" != include_databases ] && echo "$key = [$list]")" >"$home/targets.toml"
    else
        dbs='"my_*"'
        [ "$key" = include_databases ] && dbs=$list
        my_target f "include_databases = [$dbs]" "$( [ "$key" != include_databases ] && echo "$key = [$list]")" >"$home/targets.toml"
    fi
    DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
    duckq "SELECT DISTINCT \"database\", \"schema\", table_name FROM read_parquet('$home/metadata.parquet')" | LC_ALL=C sort >"$TEST_TMP/filter.actual"
    expected "$engine" "$key" "$@" >"$TEST_TMP/filter.expected"
    assert_same "$engine $key = [$list] keeps exactly the expected tables" "$TEST_TMP/filter.expected" "$TEST_TMP/filter.actual"
}

for engine in pg my; do
    p=""
    [ "$engine" = my ] && p="my_"
    run_filter "$engine" include_databases "${p}fa*" "${p}f?1"
    run_filter "$engine" exclude_databases "${p}fa[12]" "${p}gz"
    run_filter "$engine" include_tables 't_*' 'u_[xy]'
    run_filter "$engine" exclude_tables 't_old*'
done
run_filter pg include_schemas 's_*'
run_filter pg exclude_schemas 's_d*' 'x_*'
run_filter my include_schemas 'my_f?1'
run_filter my exclude_schemas '*a*'

# Generated globs against generated table names on PostgreSQL (where the include lists narrow
# the server's query by their literal prefixes): the catalogued tables are exactly those the
# globs select, as the shell's own matcher (UTF-8 characters as characters) selects them.
pg_psql postgres -c "CREATE DATABASE gen" >/dev/null
RANDOM=13
alphabet=(a b c x _ 1 9 ']' '-' '€' '¢' ' ' '%' '.')
gen_names=()
for i in $(seq 1 40); do
    n=""
    for _ in $(seq 0 $((RANDOM % 5))); do n+=${alphabet[RANDOM % ${#alphabet[@]}]}; done
    gen_names+=("$n")
done
mapfile -t gen_names < <(printf '%s\n' "${gen_names[@]}" | LC_ALL=C sort -u)
for n in "${gen_names[@]}"; do
    printf 'CREATE TABLE public."%s" (id int);\n' "${n//\"/\"\"}"
done | pg_psql gen >/dev/null
pieces=(a b c x _ 1 ']' '€' '¢' '%' '*' '?' '[ab]' '[!a]' '[a-c]' '[[:alpha:]]' '[[:digit:]]'
        '\_' '[a\]]' '[]b]' '\%' '.' ' ')
gen_glob() {
    local g="" k
    for k in $(seq 0 $((RANDOM % 4))); do g+=${pieces[RANDOM % ${#pieces[@]}]}; done
    printf '%s' "$g"
}
# gen_expected INCLUDE_GLOBS... -- EXCLUDE_GLOB: the generated names the globs select.
gen_expected() (
    export LC_ALL=C.UTF-8
    local n g keep incs=()
    while [ "$1" != -- ]; do incs+=("$1"); shift; done
    for n in "${gen_names[@]}"; do
        keep=0
        # shellcheck disable=SC2053
        for g in "${incs[@]}"; do [[ $n == $g ]] && keep=1; done
        # shellcheck disable=SC2053
        [[ $n == $2 ]] && keep=0
        [ "$keep" = 1 ] && printf '%s\n' "$n"
    done | LC_ALL=C sort
)
for round in $(seq 1 12); do
    inc=("$(gen_glob)")
    [ $((round % 2)) = 1 ] && inc[0]+='*' # selects more of the names
    [ $((round % 3)) != 0 ] && inc+=("$(gen_glob)")
    exc=$(gen_glob)
    list=""
    for g in "${inc[@]}"; do list+="${list:+, }'$g'"; done
    home=$(new_home)
    pg_target f 'include_databases = ["gen"]' "include_tables = [$list]" \
        "exclude_tables = ['$exc']" >"$home/targets.toml"
    DSCAT_HOME=$home "$DSCAT" refresh >"$TEST_TMP/gen.out" 2>&1
    duckq "SELECT table_name FROM read_parquet('$home/metadata.parquet') GROUP BY 1" |
        LC_ALL=C sort >"$TEST_TMP/gen.actual"
    gen_expected "${inc[@]}" -- "$exc" >"$TEST_TMP/gen.expected"
    assert_same "generated globs [$list] minus '$exc' select as the shell's matcher does" \
        "$TEST_TMP/gen.expected" "$TEST_TMP/gen.actual"
done
