# SQL Server (FreeTDS): no server can run here, so the wire failures: a refused port, a port that
# accepts and closes, a port that accepts and stays silent — each one line naming the target,
# nothing changed. A targets file without `type` is SQL Server.
home=$(new_home)
printf '[targets.lite]\ntype = "sqlite"\npath = "%s"\n' "$FIXTURES/chinook/Chinook_Sqlite.sqlite" >"$home/targets.toml"
DSCAT_HOME=$home "$DSCAT" refresh >/dev/null 2>&1
printf '[targets.oms]\nname = "RCOOMSSQL001"\nhost_env = "OMS_HOST"\nuser_env = "OMS_USER"\npassword_env = "OMS_PASSWORD"\ninclude_databases = ["Orders"]\n' >"$home/targets.toml"
check "a target without type is listed as sqlserver" sh -c "DSCAT_HOME='$home' '$DSCAT' targets | grep -q '^oms: RCOOMSSQL001 (sqlserver)'"
before=$(catalog_sums "$home")
export OMS_USER=reader OMS_PASSWORD=not-a-real-one

ms_failure() {
    local label=$1 cause=$2 host=$3 err rc
    err=$(OMS_HOST=$host DSCAT_HOME=$home "$DSCAT" refresh 2>&1 >/dev/null)
    rc=$?
    assert_eq "sqlserver $label: exit 1" 1 "$rc"
    assert_eq "sqlserver $label: one line on stderr" 1 "$(line_count "$err")"
    assert_match "sqlserver $label: names the target and the cause" "^dscat: target oms: .*$cause" "$err"
    assert_eq "sqlserver $label: nothing changed" "$before" "$(catalog_sums "$home")"
}
ms_failure "refused port" "[Rr]efused" "127.0.0.1:$(free_port)"

"$SILENT" --close >"$TEST_TMP/close.port" &
cpid=$!
"$SILENT" >"$TEST_TMP/silent_ms.port" &
spid=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$TEST_TMP/close.port" ] && [ -s "$TEST_TMP/silent_ms.port" ] && break; sleep 0.1; done
ms_failure "port that accepts and closes" "connection failed" "127.0.0.1:$(cat "$TEST_TMP/close.port")"
t0=$(date +%s%N)
ms_failure "silent server" "timed out" "127.0.0.1:$(cat "$TEST_TMP/silent_ms.port")"
ms=$((($(date +%s%N) - t0) / 1000000))
check "sqlserver silent server: elapsed close to connect_timeout ($ms ms)" test "$ms" -ge 900 -a "$ms" -le 2500
kill "$cpid" "$spid" 2>/dev/null
err=$(env -u OMS_PASSWORD OMS_HOST=db DSCAT_HOME=$home "$DSCAT" refresh 2>&1 >/dev/null)
assert_match "sqlserver missing password variable is named" "^dscat: target oms: environment variable OMS_PASSWORD is not set$" "$err"
err=$(OMS_HOST='127.0.0.1\NOINSTANCE' DSCAT_HOME=$home "$DSCAT" refresh 2>&1 >/dev/null)
assert_match "sqlserver host\\instance is accepted and fails cleanly" "^dscat: target oms: cannot connect to 127.0.0.1.NOINSTANCE" "$err"
assert_eq "sqlserver failures left everything as it was" "$before" "$(catalog_sums "$home")"
