/*
 * targets.toml and .env (SPEC §1, §2): every key and alias, defaults, environment overrides,
 * refused keys, unknown keys with their line, the .env search order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dscat/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static dscat_config *parse_ok(const char *text)
{
    dscat_config *cfg = NULL;
    dscat_error err = {0};
    int rc = dscat_config_parse(&cfg, "/cat", "targets.toml", text, strlen(text), &err);
    if (rc)
        print_error("unexpected error: %s\n", err.message);
    assert_int_equal(rc, 0);
    return cfg;
}

/* Parses text that must be refused; returns the message. */
static const char *parse_err(const char *text)
{
    static dscat_error err;
    dscat_config *cfg = NULL;
    memset(&err, 0, sizeof(err));
    int rc = dscat_config_parse(&cfg, "/cat", "targets.toml", text, strlen(text), &err);
    assert_int_equal(rc, DSCAT_ECONFIG);
    assert_null(cfg);
    return err.message;
}

static void clear_env(void)
{
    const char *vars[] = {"DSCAT_PARALLEL_SCANS",
                          "DSCAT_CONNECT_TIMEOUT",
                          "DSCAT_CACHE_ROOT",
                          "DSCAT_S3_ENDPOINT",
                          "AWS_REGION",
                          "DSCAT_DELETION_GRACE",
                          "DSCAT_DELETION_INTERVAL",
                          "XDG_CACHE_HOME"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
}

static void defaults(void **state)
{
    (void)state;
    clear_env();
    setenv("HOME", "/home/u", 1);
    dscat_config *cfg = parse_ok("[targets.oms]\nhost_env = \"H\"\nuser_env = \"U\"\n"
                                 "password_env = \"P\"\n");
    const dscat_settings *s = &cfg->settings;
    assert_int_equal(s->parallel_scans, 4);
    assert_int_equal(s->stale_after_days, 7);
    assert_false(s->profile_by_default);
    assert_int_equal(s->profile_sample_size, 1000);
    assert_int_equal(s->max_tables_per_db, 0);
    assert_true(s->connect_timeout == 10);
    assert_int_equal(s->query_timeout, 300);
    assert_int_equal(s->keep_scans, 20);
    assert_string_equal(s->cache_root, "/home/u/.cache/dscat");
    assert_null(s->s3_endpoint);
    assert_string_equal(s->s3_region, "us-east-1");
    assert_int_equal(s->refresh_parallelism, 4);
    assert_int_equal(s->deletion_grace_seconds, 60);
    assert_int_equal(s->deletion_interval_seconds, 30);
    assert_int_equal(s->max_jobs, 4);
    assert_int_equal(s->max_queued_jobs, 64);
    assert_int_equal(cfg->ntargets, 1);
    const dscat_target_config *t = dscat_config_target(cfg, "oms");
    assert_non_null(t);
    assert_string_equal(t->type, "sqlserver"); /* no type: SQL Server */
    assert_string_equal(t->name, "oms");       /* name defaults to the key */
    assert_false(t->include_databases.set);
    dscat_config_free(cfg);
}

static void every_key(void **state)
{
    (void)state;
    clear_env();
    dscat_config *cfg = parse_ok(
        "[settings]\nparallel_scans = 2\ncache_ttl_days = 3\ndefault_scan_depth = \"profile\"\n"
        "profile_sample_size = 50\nmax_tables_per_db = 9\nconnect_timeout = 1.5\n"
        "query_timeout = 30\nkeep_scans = 5\ncache_root = \"s3://b/p\"\n"
        "s3_endpoint = \"http://127.0.0.1:9\"\ns3_region = \"eu-west-1\"\n"
        "refresh_parallelism = 3\ndeletion_grace_seconds = 1\ndeletion_interval_seconds = 2\n"
        "[targets.pg]\ntype = \"postgres\"\nname = \"PG1\"\nhost = \"db1\"\nuser = \"reader\"\n"
        "password_env = \"PGPW\"\nport = 6543\ndatabase = \"app\"\n"
        "databases = [\"app\", \"ana*\"]\nexclude_databases = [\"tmp*\"]\n"
        "include_schemas = [\"s*\"]\nexclude_schemas = [\"x\"]\ninclude_tables = [\"t*\"]\n"
        "exclude_tables = [\"t_old*\"]\nsslmode = \"require\"\nexact_sizes = true\n"
        "[targets.pg2]\ntype = \"postgres\"\nhost = \"db2\"\n"
        "[targets.lite]\ntype = \"sqlite\"\npath_env = \"LITE_PATH\"\n");
    const dscat_settings *s = &cfg->settings;
    assert_int_equal(s->parallel_scans, 2);
    assert_int_equal(s->stale_after_days, 3); /* cache_ttl_days is the older name */
    assert_true(s->profile_by_default);
    assert_int_equal(s->profile_sample_size, 50);
    assert_int_equal(s->max_tables_per_db, 9);
    assert_true(s->connect_timeout == 1.5);
    assert_int_equal(s->keep_scans, 5);
    assert_string_equal(s->cache_root, "s3://b/p");
    assert_string_equal(s->s3_region, "eu-west-1");
    assert_int_equal(s->deletion_interval_seconds, 2);
    const dscat_target_config *t = dscat_config_target(cfg, "pg");
    assert_string_equal(t->type, "postgres");
    assert_string_equal(t->name, "PG1");
    assert_int_equal(t->port, 6543);
    assert_true(t->include_databases.set); /* `databases` is an alias */
    assert_int_equal(t->include_databases.count, 2);
    assert_true(dscat_glob_list_match(&t->include_databases, "analytics", true));
    assert_false(dscat_glob_list_match(&t->include_databases, "other", true));
    assert_true(dscat_glob_list_match(&t->exclude_databases, "tmp1", false));
    assert_false(dscat_glob_list_match(&t->exclude_schemas, "y", false));
    assert_true(dscat_glob_list_match(&t->include_schemas, "anything", false) == false);
    assert_string_equal(t->sslmode, "require");
    assert_true(t->exact_sizes);
    assert_false(dscat_config_target(cfg, "pg2")->exact_sizes); /* planner sizes by default */
    assert_string_equal(dscat_config_target(cfg, "lite")->path_env, "LITE_PATH");
    dscat_config_free(cfg);
}

static void env_overrides(void **state)
{
    (void)state;
    clear_env();
    setenv("DSCAT_PARALLEL_SCANS", "7", 1);
    setenv("DSCAT_CONNECT_TIMEOUT", "0.5", 1);
    setenv("DSCAT_CACHE_ROOT", "/data/cache", 1);
    setenv("DSCAT_S3_ENDPOINT", "http://127.0.0.1:1", 1);
    setenv("AWS_REGION", "ap-south-1", 1);
    setenv("DSCAT_DELETION_GRACE", "3", 1);
    setenv("DSCAT_DELETION_INTERVAL", "4", 1);
    dscat_config *cfg = parse_ok("[settings]\nparallel_scans = 2\nconnect_timeout = 9\n"
                                 "cache_root = \"/x\"\ns3_region = \"eu-west-1\"\n");
    assert_int_equal(cfg->settings.parallel_scans, 7); /* the environment wins */
    assert_true(cfg->settings.connect_timeout == 0.5);
    assert_string_equal(cfg->settings.cache_root, "/data/cache");
    assert_string_equal(cfg->settings.s3_endpoint, "http://127.0.0.1:1");
    assert_string_equal(cfg->settings.s3_region, "ap-south-1");
    assert_int_equal(cfg->settings.deletion_grace_seconds, 3);
    assert_int_equal(cfg->settings.deletion_interval_seconds, 4);
    dscat_config_free(cfg);
    setenv("DSCAT_PARALLEL_SCANS", "many", 1);
    dscat_config *bad = NULL;
    dscat_error err = {0};
    assert_int_equal(dscat_config_parse(&bad, "/c", "targets.toml", "", 0, &err), DSCAT_ECONFIG);
    assert_non_null(strstr(err.message, "DSCAT_PARALLEL_SCANS"));
    clear_env();
}

static void refused_keys(void **state)
{
    (void)state;
    clear_env();
    const char *keys[] = {"password", "passwd", "pwd", "secret", "token"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text),
                 "[targets.a]\ntype = \"postgres\"\nhost_env = \"H\"\n%s = \"x\"\n", keys[i]);
        const char *msg = parse_err(text);
        assert_non_null(strstr(msg, "targets.toml: line 4:"));
        assert_non_null(strstr(msg, keys[i]));
        assert_non_null(strstr(msg, "password_env"));
    }
    const char *msg = parse_err("[targets.a]\ntype = \"postgres\"\n"
                                "host = \"postgresql://reader:s3cr3t@db:5432/app\"\n");
    assert_non_null(strstr(msg, "line 3"));
    assert_null(strstr(msg, "s3cr3t")); /* the secret itself is never echoed */
    msg = parse_err("[settings]\ntoken = \"abc\"\n");
    assert_non_null(strstr(msg, "line 2"));
}

static void unknown_and_wrong(void **state)
{
    (void)state;
    clear_env();
    const char *msg =
        parse_err("[targets.a]\ntype = \"sqlite\"\npath = \"/x\"\n\ninclude_tabels = []\n");
    assert_non_null(strstr(msg, "line 5"));
    assert_non_null(strstr(msg, "include_tabels"));
    msg = parse_err("[settings]\nparalel_scans = 2\n");
    assert_non_null(strstr(msg, "line 2"));
    assert_non_null(strstr(msg, "paralel_scans"));
    msg = parse_err("[target.a]\n");
    assert_non_null(strstr(msg, "'target'"));
    msg = parse_err("[targets.a]\ntype = \"oracle\"\nhost_env = \"H\"\n");
    assert_non_null(strstr(msg, "oracle"));
    msg = parse_err("[targets.a]\ntype = \"postgres\"\nhost_env = 5\n");
    assert_non_null(strstr(msg, "must be a string"));
    msg = parse_err("[targets.a]\ntype = \"sqlite\"\npath = \"/x\"\nhost_env = \"H\"\n");
    assert_non_null(strstr(msg, "does not apply to sqlite"));
    msg = parse_err("[targets.a]\ntype = \"postgres\"\nhost = \"h\"\nexact_sizes = \"yes\"\n");
    assert_non_null(strstr(msg, "line 4: key 'exact_sizes' must be true or false"));
    msg = parse_err("[targets.a]\ntype = \"mysql\"\nhost = \"h\"\nexact_sizes = true\n");
    assert_non_null(strstr(msg, "key 'exact_sizes' in [targets.a] does not apply to mysql"));
    msg = parse_err("[targets.a]\ntype = \"postgres\"\n");
    assert_non_null(strstr(msg, "host_env"));
    msg = parse_err("[targets.a]\nhost_env = \"H\"\nuser_env = \"U\"\n"); /* sqlserver */
    assert_non_null(strstr(msg, "password_env"));
    msg = parse_err("[targets.\"a.b\"]\ntype = \"sqlite\"\npath = \"/x\"\n");
    assert_non_null(strstr(msg, "a.b"));
    msg = parse_err("[targets.a]\ntype = \"sqlite\"\npath = \"/x\n");
    assert_non_null(strstr(msg, "targets.toml: line 3:"));
    msg = parse_err("[settings]\nkeep_scans = 1\n");
    assert_non_null(strstr(msg, "keep_scans"));
    /* settings range errors name the key's own line, not the section header's */
    msg = parse_err("[settings]\nstale_after_days = 7\n\nparallel_scans = 0\n");
    assert_non_null(strstr(msg, "targets.toml: line 4: key 'parallel_scans' must be at least 1"));
    msg = parse_err("[settings]\n# x\nrefresh_parallelism = 0\n");
    assert_non_null(strstr(msg, "line 3: key 'refresh_parallelism'"));
    msg = parse_err("[settings]\nmax_jobs = 0\n");
    assert_non_null(strstr(msg, "line 2: key 'max_jobs' must be from 1 to 256"));
    msg = parse_err("[settings]\nmax_queued_jobs = 10001\n");
    assert_non_null(strstr(msg, "line 2: key 'max_queued_jobs' must be from 0 to 10000"));
}

/* [[targets.X.cache]] entries: full and append modes, their keys and their errors. */
static void cache_entries(void **state)
{
    (void)state;
    clear_env();
    static const char head[] = "[targets.a]\ntype = \"sqlite\"\npath = \"/x\"\n";
    char text[1024];
    snprintf(text, sizeof(text),
             "%s[[targets.a.cache]]\ntable = \"main.orders\"\nrefresh_every = \"15m\"\n"
             "[[targets.a.cache]]\ntable = \"main.events\"\nrefresh_every = \"5m\"\n"
             "mode = \"append\"\nappend_key = \"my \\\"id\"\nfull_every = \"1d\"\n"
             "[[targets.a.cache]]\ntable = \"main.logs\"\nrefresh_every = \"1m\"\n"
             "mode = \"append\"\nappend_key = \"ts\"\n"
             "[[targets.a.cache]]\ntable = \"main.full\"\nrefresh_every = \"1h\"\n"
             "mode = \"full\"\n",
             head);
    dscat_config *cfg = parse_ok(text);
    const dscat_target_config *t = &cfg->targets[0];
    assert_int_equal(t->ncache, 4);
    assert_int_equal(t->cache[0].mode, DSCAT_CACHE_FULL);
    assert_null(t->cache[0].append_key);
    assert_int_equal(t->cache[0].full_every, 0);
    assert_int_equal(t->cache[1].mode, DSCAT_CACHE_APPEND);
    assert_string_equal(t->cache[1].append_key, "my \"id");
    assert_int_equal(t->cache[1].every, 300);
    assert_int_equal(t->cache[1].full_every, 86400);
    assert_int_equal(t->cache[2].mode, DSCAT_CACHE_APPEND);
    assert_string_equal(t->cache[2].append_key, "ts");
    assert_int_equal(t->cache[2].full_every, 0);
    assert_int_equal(t->cache[3].mode, DSCAT_CACHE_FULL);
    dscat_config_free(cfg);

    static const struct {
        const char *entry, *message;
    } bad[] = {
        {"mode = \"append\"\n", "line 7: a cache entry with mode = \"append\" needs append_key"},
        {"append_key = \"id\"\n", "line 7: key 'append_key' applies only to mode = \"append\""},
        {"mode = \"full\"\nappend_key = \"id\"\n",
         "line 8: key 'append_key' applies only to mode = \"append\""},
        {"full_every = \"1d\"\n", "line 7: key 'full_every' applies only to mode = \"append\""},
        {"mode = \"append\"\nappend_key = \"id\"\nfull_every = \"often\"\n",
         "line 9: key 'full_every' must be a duration"},
        {"mode = \"append\"\nappend_key = \"id\"\nfull_every = 86400\n",
         "line 9: key 'full_every' must be a duration"},
        {"mode = \"incremental\"\n", "line 7: key 'mode' of a cache entry must be \"full\" or "
                                     "\"append\""},
        {"mode = \"Append\"\nappend_key = \"id\"\n", "line 7: key 'mode'"},
        {"mode = 1\n", "line 7: key 'mode'"},
        {"mode = \"append\"\nappend_key = \"\"\n", "line 8: key 'append_key' of a cache entry "
                                                   "must be a column name"},
        {"mode = \"append\"\nappend_key = 3\n", "line 8: key 'append_key'"},
        {"mode = \"append\"\nappend_kee = \"id\"\n", "line 8: unknown key 'append_kee'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text),
                 "%s[[targets.a.cache]]\ntable = \"main.t\"\nrefresh_every = \"1m\"\n%s", head,
                 bad[i].entry);
        const char *msg = parse_err(text);
        if (strstr(msg, bad[i].message) == NULL)
            print_error("entry %zu: %s\n", i, msg);
        assert_non_null(strstr(msg, bad[i].message));
    }
}

static void resolve(void **state)
{
    (void)state;
    clear_env();
    dscat_config *cfg = parse_ok("[targets.ms]\nhost_env = \"R_HOST\"\nuser_env = \"R_USER\"\n"
                                 "password_env = \"R_PW\"\n"
                                 "[targets.pg]\ntype = \"postgres\"\nhost_env = \"R_HOST2\"\n"
                                 "port_env = \"R_PORT\"\n");
    dscat_target_conn c;
    dscat_error err = {0};
    unsetenv("R_PW");
    setenv("R_HOST", "sql1\\REPORTING", 1);
    setenv("R_USER", "reader", 1);
    assert_int_equal(dscat_target_resolve(&c, dscat_config_target(cfg, "ms"), &err), DSCAT_EUNSET);
    assert_string_equal(err.message, "target ms: environment variable R_PW is not set");
    /* missing credentials: every unset variable of the target in one error */
    unsetenv("R_HOST");
    unsetenv("R_USER");
    assert_int_equal(dscat_target_resolve(&c, dscat_config_target(cfg, "ms"), &err), DSCAT_EUNSET);
    assert_string_equal(err.message,
                        "target ms: environment variables R_HOST, R_USER, R_PW are not set");
    setenv("R_HOST", "sql1\\REPORTING", 1);
    setenv("R_USER", "reader", 1);
    setenv("R_PW", "pw", 1);
    assert_int_equal(dscat_target_resolve(&c, dscat_config_target(cfg, "ms"), &err), 0);
    assert_string_equal(c.host, "sql1");
    assert_string_equal(c.instance, "REPORTING");
    assert_string_equal(c.password, "pw");
    dscat_target_conn_free(&c);
    setenv("R_HOST2", "db.example:6432", 1);
    unsetenv("R_PORT");
    assert_int_equal(dscat_target_resolve(&c, dscat_config_target(cfg, "pg"), &err), DSCAT_EUNSET);
    setenv("R_PORT", "7000", 1);
    assert_int_equal(dscat_target_resolve(&c, dscat_config_target(cfg, "pg"), &err), 0);
    assert_string_equal(c.host, "db.example");
    assert_int_equal(c.port, 6432); /* host:port wins over port_env */
    assert_null(c.password);        /* optional outside SQL Server */
    dscat_target_conn_free(&c);
    dscat_config_free(cfg);
}

/*
 * A host or user variable holding a URI, a connection string or "user:password@host" is refused
 * for every server engine, before anything is contacted, naming the variable and never echoing
 * the value; host names, IP addresses, ports, instances and (PostgreSQL) socket directories pass.
 */
static void resolve_refuses_credentials(void **state)
{
    (void)state;
    clear_env();
    dscat_config *cfg = parse_ok("[targets.ms]\nhost_env = \"C_HOST\"\nuser_env = \"C_USER\"\n"
                                 "password_env = \"C_PW\"\n"
                                 "[targets.pg]\ntype = \"postgres\"\nhost_env = \"C_HOST\"\n"
                                 "user_env = \"C_USER\"\n"
                                 "[targets.my]\ntype = \"mysql\"\nhost_env = \"C_HOST\"\n"
                                 "user_env = \"C_USER\"\n");
    const char *const keys[] = {"ms", "pg", "my"};
    const char *const bad_hosts[] = {
        "postgresql://reader:LeakMe123@127.0.0.1:5432/app",
        "mysql://reader:LeakMe123@db",
        "host=127.0.0.1 password=LeakMe456",
        "password=LeakMe456",
        "reader:LeakMe789@db.example",
        "LeakMe789@db.example",
        "db.example LeakMe",
        "Server=db;Password=LeakMe;",
        "db.example\nLeakMe",
        "/run/postgresql password=LeakMe",
        "db.example/LeakMe",
        "db.invalid:5432:app:reader:LeakMe1", /* a .pgpass line */
        "db.invalid:3306:LeakMe2",
        "db%LeakMe",
        "[LeakMe]:5432",
        "[::1]LeakMe",
        "::1%Leak/Me",
        "db.example:LeakMe",
    };
    const char *const bad_users[] = {
        "reader:LeakMe1",         "reader password=LeakMe2",   "user=reader password=LeakMe3",
        "scott/LeakMe4",          "reader password = LeakMe5", "postgresql://reader:LeakMe6@db",
        "Uid=reader;Pwd=LeakMe7", "reader LeakMe8@db.example", "reader\tpassword LeakMe9",
        "app \"user\" LeakMeA",   "reader\nLeakMeB",           "password=LeakMeC"};
    dscat_target_conn c;
    dscat_error err = {0};
    setenv("C_PW", "pw", 1);
    for (size_t k = 0; k < 3; k++) {
        setenv("C_USER", "reader", 1);
        for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++) {
            setenv("C_HOST", bad_hosts[i], 1);
            int rc = dscat_target_resolve(&c, dscat_config_target(cfg, keys[k]), &err);
            if (rc != DSCAT_ECONFIG || strstr(err.message, "Leak"))
                print_error("%s, host %zu: %d %s\n", keys[k], i, rc, err.message);
            assert_int_equal(rc, DSCAT_ECONFIG);
            assert_null(strstr(err.message, "Leak"));
            assert_non_null(strstr(err.message, "environment variable C_HOST must hold only a "
                                                "host name"));
            assert_null(c.host);
        }
        setenv("C_HOST", "db.example", 1);
        for (size_t i = 0; i < sizeof(bad_users) / sizeof(bad_users[0]); i++) {
            setenv("C_USER", bad_users[i], 1);
            assert_int_equal(dscat_target_resolve(&c, dscat_config_target(cfg, keys[k]), &err),
                             DSCAT_ECONFIG);
            assert_null(strstr(err.message, "Leak"));
            assert_non_null(strstr(err.message, "environment variable C_USER must hold only a "
                                                "user name"));
        }
    }
    /* Real user names with a space or an apostrophe pass, as each engine's names may. */
    const char *const good_users[] = {
        "app user", "o'brien",      "O'Brien Reporting", "reader",
        "x_y-z.1",  "Ünïcode user", "reader@myserver",   "alice@corp.example.com"};
    setenv("C_HOST", "db.example", 1);
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < sizeof(good_users) / sizeof(good_users[0]); i++) {
            setenv("C_USER", good_users[i], 1);
            int rc = dscat_target_resolve(&c, dscat_config_target(cfg, keys[k]), &err);
            if (rc)
                print_error("%s, user %s: %s\n", keys[k], good_users[i], err.message);
            assert_int_equal(rc, 0);
            assert_string_equal(c.user, good_users[i]);
            dscat_target_conn_free(&c);
        }
    /* What a host may be. */
    setenv("C_USER", "DOMAIN\\reader", 1);
    const char *const good[] = {"db.example",   "db-1.example.com:6432", "10.0.0.7",
                                "::1",          "[fe80::1%eth0]:5432",   "my_host",
                                "fe80::1%eth0", "[2001:db8::7]",         "10.0.0.7:5432"};
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
            setenv("C_HOST", good[i], 1);
            int rc = dscat_target_resolve(&c, dscat_config_target(cfg, keys[k]), &err);
            if (rc)
                print_error("%s, %s: %s\n", keys[k], good[i], err.message);
            assert_int_equal(rc, 0);
            dscat_target_conn_free(&c);
        }
    setenv("C_USER", "reader@myserver", 1); /* Azure SQL's form */
    setenv("C_HOST", "sql1\\REPORTING", 1);
    assert_int_equal(dscat_target_resolve(&c, dscat_config_target(cfg, "ms"), &err), 0);
    dscat_target_conn_free(&c);
    assert_int_equal(dscat_target_resolve(&c, dscat_config_target(cfg, "pg"), &err),
                     DSCAT_ECONFIG); /* an instance is SQL Server's only */
    setenv("C_HOST", "/run/postgresql", 1);
    assert_int_equal(dscat_target_resolve(&c, dscat_config_target(cfg, "pg"), &err), 0);
    dscat_target_conn_free(&c);
    assert_int_equal(dscat_target_resolve(&c, dscat_config_target(cfg, "my"), &err), DSCAT_ECONFIG);
    setenv("C_HOST", "pg1,pg2", 1);
    assert_int_equal(dscat_target_resolve(&c, dscat_config_target(cfg, "pg"), &err), 0);
    dscat_target_conn_free(&c);
    dscat_config_free(cfg);
    unsetenv("C_HOST");
    unsetenv("C_USER");
    unsetenv("C_PW");
}

/* Literal host, user and database values in targets.toml are checked when it is loaded. */
static void literal_host_values(void **state)
{
    (void)state;
    const char *const bad[] = {
        "host = \"host=db password=LeakMe\"\n",
        "host = \"reader:LeakMe@db\"\n",
        "host = \"postgresql://reader@db/app\"\n",
        "host = \"db\"\nuser = \"reader:LeakMe\"\n",
        "host = \"db\"\ndatabase = \"dbname=app password=LeakMe\"\n",
        "host = \"db\"\ndatabase = \"app; password = LeakMe\"\n",
        "host = \"db\"\ndatabase = \"postgres://db/app\"\n",
    };
    char text[512];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "[targets.pg]\ntype = \"postgres\"\n%s", bad[i]);
        const char *msg = parse_err(text);
        if (strstr(msg, "must hold only") == NULL || strstr(msg, "Leak"))
            print_error("entry %zu: %s\n", i, msg);
        assert_non_null(strstr(msg, "must hold only"));
        assert_null(strstr(msg, "Leak"));
    }
    dscat_config_free(parse_ok("[targets.pg]\ntype = \"postgres\"\nhost = \"db.example:6432\"\n"
                               "user = \"reader\"\ndatabase = \"my app\"\n"));
    dscat_config_free(parse_ok("[targets.pg]\ntype = \"postgres\"\nhost = \"db\"\n"
                               "database = \"hostile db; drop\"\n"));
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void dotenv_order(void **state)
{
    (void)state;
    char dir[] = "/tmp/dscat-unit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char home[256], cat[256], work[256], path[300];
    snprintf(home, sizeof(home), "%s/home", dir);
    snprintf(cat, sizeof(cat), "%s/cat", dir);
    snprintf(work, sizeof(work), "%s/work", dir);
    mkdir(home, 0700);
    mkdir(cat, 0700);
    mkdir(work, 0700);
    char old[1024];
    assert_non_null(getcwd(old, sizeof(old)));
    assert_int_equal(chdir(work), 0);
    setenv("HOME", home, 1);
    unsetenv("DE_A");
    unsetenv("DE_B");
    setenv("DE_SET", "kept", 1);
    snprintf(path, sizeof(path), "%s/.env", cat);
    write_file(path, "DE_A=from-catalog\n");
    snprintf(path, sizeof(path), "%s/.env", home);
    write_file(path, "# comment\nexport DE_A=\"from-home\"\nDE_SET=overridden\nDE_B = 'b' \n");
    dscat_error err = {0};
    assert_int_equal(dscat_dotenv_load(cat, &err), 0);
    assert_string_equal(getenv("DE_A"), "from-home"); /* ~/.env before the catalog's */
    assert_string_equal(getenv("DE_B"), "b");
    assert_string_equal(getenv("DE_SET"), "kept"); /* never overrides */
    unsetenv("DE_A");
    write_file(".env", "DE_A=from-cwd\n");
    assert_int_equal(dscat_dotenv_load(cat, &err), 0);
    assert_string_equal(getenv("DE_A"), "from-cwd"); /* ./.env first, and only the first */
    unlink(".env");
    snprintf(path, sizeof(path), "%s/.env", home);
    unlink(path);
    unsetenv("DE_A");
    assert_int_equal(dscat_dotenv_load(cat, &err), 0);
    assert_string_equal(getenv("DE_A"), "from-catalog");
    assert_int_equal(chdir(old), 0);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    assert_int_equal(system(path), 0);
}

static void catalog_dir(void **state)
{
    (void)state;
    char *d = NULL;
    dscat_error err = {0};
    setenv("HOME", "/home/u", 1);
    unsetenv("DSCAT_HOME");
    unsetenv("DENG_CATALOG_DIR");
    assert_int_equal(dscat_catalog_dir(&d, &err), 0);
    assert_string_equal(d, "/home/u/.ds_catalog");
    free(d);
    setenv("DENG_CATALOG_DIR", "/older/", 1);
    assert_int_equal(dscat_catalog_dir(&d, &err), 0);
    assert_string_equal(d, "/older");
    free(d);
    setenv("DSCAT_HOME", "/new", 1);
    assert_int_equal(dscat_catalog_dir(&d, &err), 0);
    assert_string_equal(d, "/new");
    free(d);
    unsetenv("DSCAT_HOME");
    unsetenv("DENG_CATALOG_DIR");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(every_key),
        cmocka_unit_test(env_overrides),
        cmocka_unit_test(refused_keys),
        cmocka_unit_test(unknown_and_wrong),
        cmocka_unit_test(resolve),
        cmocka_unit_test(dotenv_order),
        cmocka_unit_test(catalog_dir),
        cmocka_unit_test(cache_entries),
        cmocka_unit_test(resolve_refuses_credentials),
        cmocka_unit_test(literal_host_values),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
