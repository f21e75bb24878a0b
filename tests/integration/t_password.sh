# The per-run random password (scram-sha-256) appears nowhere: not in any file under the catalog
# directory (store and WAL included), not on stdout or stderr; neither does a wrong one.
pg_psql postgres -c 'CREATE DATABASE secretive' >/dev/null
pg_psql secretive -c 'CREATE TABLE t (id int PRIMARY KEY)' >/dev/null
home=$(new_home)
pg_target pg 'database = "secretive"' >"$home/targets.toml"
# Keep the WAL after the run so that it is searched too.
out=$(DSCAT_HOME=$home "$DSCAT" refresh --json 2>&1)
assert_eq "scan with the scram password succeeds" 0 "$?"
check "the password is nowhere in the catalog directory" no_secret_in "$PG_PASSWORD" "$home"
check "the password is not in the refresh output" no_secret_text "$PG_PASSWORD" "$out"
out2=$(DSCAT_HOME=$home "$DSCAT" status 2>&1; DSCAT_HOME=$home "$DSCAT" targets --json 2>&1)
check "the password is not in status or targets output" no_secret_text "$PG_PASSWORD" "$out2"
check "targets says the password variable is set" sh -c "printf '%s' '$out2' | grep -q '\"set\": true'"

wrong="wrong-$(random_secret)"
out=$(T_PG_PASSWORD=$wrong DSCAT_HOME=$home "$DSCAT" refresh 2>&1)
assert_eq "scan with a wrong password fails" 1 "$?"
check "the wrong password is not in the output" no_secret_text "$wrong" "$out"
check "the wrong password is nowhere in the catalog directory" no_secret_in "$wrong" "$home"
check "neither password is in the server's log lines about dscat" \
    eval 'no_secret_in "$wrong" "$PG_LOG" && no_secret_in "$PG_PASSWORD" "$PG_LOG"'
