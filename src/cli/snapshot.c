/*
 * dscat snapshot [--project P] [--filter T] [--list], dscat demo
 */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char snapshot_help[] =
    "usage: dscat snapshot [--project P] [--filter TARGET] [--list]\n"
    "\n"
    "Writes <project>/artifacts/catalog/snapshot_YYYYMMDD/ (metadata.parquet, scan_info.json),\n"
    "the summary beside it and a `latest` link. The project is --project, else the working\n"
    "directory or up to 3 parents holding configs/project.toml (or src/ beside\n"
    ".claude/settings.json or artifacts/). --list prints the existing snapshots.\n";

static const char demo_help[] =
    "usage: dscat demo\n"
    "\n"
    "Builds a small shop database (one file, no server) in a temporary directory, refreshes a\n"
    "catalog of it and prints the DATA_CATALOG_SUMMARY.md it wrote, then three commands to try\n"
    "next. With DSCAT_HOME set, the catalog is written there (and kept, with the database); a\n"
    "DSCAT_HOME whose targets.toml is not the demo's own is refused. Without it, everything the\n"
    "demo wrote is removed before it exits.\n";

/* The first line of the demo's targets.toml: how a DSCAT_HOME holding a demo is recognised (by
 * its start, which every dscat has written). */
static const char demo_mark[] = "# The demo target: a database file made by dscat demo.\n";
#define DEMO_MARK_START "# The demo target: "

static int list_snapshots(const char *root)
{
    dscat_snapshot_list l;
    dscat_error err = {0};
    if (dscat_snapshots_list(&l, root, &err)) {
        cli_error("%s", err.message);
        return EXIT_FAIL;
    }
    if (l.count == 0)
        printf("No catalog snapshots found.\n");
    for (size_t i = 0; i < l.count; i++) {
        const dscat_snapshot_info *s = &l.items[i];
        if (s->has_metadata)
            printf("  %s: %ld tables, %ld columns\n", cli_show(s->name), s->tables, s->columns);
        else
            printf("  %s: (no metadata)\n", cli_show(s->name));
    }
    dscat_snapshot_list_free(&l);
    return EXIT_OK;
}

int cmd_snapshot(int argc, char **argv)
{
    const char *project = NULL, *filter = NULL;
    bool list = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(snapshot_help, stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--list") == 0) {
            list = true;
        } else if (strcmp(argv[i], "--project") == 0 && i + 1 < argc) {
            project = argv[++i];
        } else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) {
            filter = argv[++i];
        } else {
            return cli_usage("snapshot", "unknown or incomplete option '%s'", argv[i]);
        }
    }
    dscat_error err = {0};
    char *root = NULL;
    if (dscat_catalog_project_find(&root, project, &err)) {
        cli_error("%s", err.message);
        return EXIT_FAIL;
    }
    printf("Project: %s\n", cli_show(root));
    int rc = EXIT_OK;
    dscat_catalog *cat = NULL;
    char *dir = NULL;
    long tables = 0, columns = 0;
    if (list) {
        rc = list_snapshots(root);
        goto done;
    }
    if (cli_open_catalog(&cat)) {
        rc = EXIT_FAIL;
        goto done;
    }
    if (dscat_catalog_snapshot(&dir, &tables, &columns, cat, root, filter, &err)) {
        cli_error("%s", err.message);
        rc = EXIT_FAIL;
        goto done;
    }
    printf("Snapshot created: %s\n  Tables: %ld\n  Columns: %ld\n", cli_show(dir), tables, columns);
done:
    dscat_free(dir);
    dscat_free(root);
    dscat_catalog_close(cat);
    return rc;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    int rc = fputs(text, f) < 0 ? -1 : 0;
    return fclose(f) != 0 ? -1 : rc;
}

/* Removes a directory tree the demo made (no symlink is followed: nftw-free, by hand). */
static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char child[4400];
        snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(child);
        else
            unlink(child);
    }
    if (d)
        closedir(d);
    rmdir(path);
}

/* True when the catalog directory holds a targets.toml that the demo did not write. */
static bool foreign_targets(const char *catalog)
{
    char path[4300], head[sizeof(DEMO_MARK_START)] = "";
    snprintf(path, sizeof(path), "%s/targets.toml", catalog);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t n = fread(head, 1, sizeof(head) - 1, f);
    head[n] = '\0';
    fclose(f);
    return strcmp(head, DEMO_MARK_START) != 0;
}

/*
 * The temporary directory of the database an earlier demo run wrote into the demo catalog's
 * targets.toml (path = '<dir>/shop.db', <dir> named dscat-demo-*), into out; "" when there is
 * none.
 */
static void previous_demo_dir(const char *catalog, char *out, size_t size)
{
    char path[4300], line[4400];
    out[0] = '\0';
    if (foreign_targets(catalog))
        return;
    snprintf(path, sizeof(path), "%s/targets.toml", catalog);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f)) {
        static const char key[] = "path = '";
        char *end = strncmp(line, key, sizeof(key) - 1) == 0 ? strrchr(line, '\'') : NULL;
        if (end == NULL || end < line + sizeof(key) + 8)
            continue;
        *end = '\0';
        const char *db = line + sizeof(key) - 1;
        size_t n = strlen(db);
        const char *slash = n > 8 && strcmp(db + n - 8, "/shop.db") == 0 ? db + n - 8 : NULL;
        const char *base = slash ? slash : db;
        while (base > db && base[-1] != '/')
            base--;
        /* only a directory the demo itself made: dscat-demo-*, in the temporary directory */
        const char *tmpdir = getenv("TMPDIR");
        size_t tl = strlen(tmpdir && *tmpdir ? tmpdir : "/tmp");
        bool in_tmp = base > db && (size_t)(base - db - 1) == tl &&
                      strncmp(db, tmpdir && *tmpdir ? tmpdir : "/tmp", tl) == 0;
        if (slash && in_tmp && strncmp(base, "dscat-demo-", 11) == 0 && (size_t)(slash - db) < size)
            snprintf(out, size, "%.*s", (int)(slash - db), db);
        break;
    }
    if (f)
        fclose(f);
}

/* Builds, refreshes and prints the demo catalog; dir is the temporary directory. */
static int run_demo(const char *dir, const char *home)
{
    char db[4200], catalog[4200], targets[4300], text[8800], summary[4300];
    snprintf(db, sizeof(db), "%s/shop.db", dir);
    snprintf(catalog, sizeof(catalog), "%s", home ? home : "");
    if (home == NULL)
        snprintf(catalog, sizeof(catalog), "%s/catalog", dir);
    snprintf(targets, sizeof(targets), "%s/targets.toml", catalog);
    snprintf(summary, sizeof(summary), "%s/DATA_CATALOG_SUMMARY.md", catalog);
    if (home && foreign_targets(home)) {
        cli_error("%s/targets.toml exists and is not the demo's: unset DSCAT_HOME or name an "
                  "empty directory",
                  home);
        return EXIT_FAIL;
    }
    dscat_error err = {0};
    if (dscat_catalog_demo_create(db, catalog, &err)) {
        cli_error("%s", err.message);
        return EXIT_FAIL;
    }
    /* The path is written as a TOML literal string: a demo directory holds no quote (checked
     * in cmd_demo). */
    snprintf(text, sizeof(text),
             "%s[targets.demo]\nname = \"Demo shop\"\ntype = \"%s\"\npath = '%s'\n", demo_mark,
             dscat_catalog_demo_source_type(), db);
    if (write_text(targets, text) != 0) {
        cli_error("cannot write %s: %s", targets, strerror(errno));
        return EXIT_FAIL;
    }
    dscat_catalog *cat = NULL;
    dscat_refresh_report *rep = NULL;
    if (dscat_catalog_open(&cat, catalog, 0, &err) ||
        dscat_catalog_refresh(&rep, cat, &(dscat_refresh_options){.project = NULL}, &err)) {
        cli_error("%s", err.message);
        dscat_catalog_close(cat);
        return EXIT_FAIL;
    }
    int rc = EXIT_OK;
    if (!rep->written || rep->targets[0].status == DSCAT_SCAN_FAILED) {
        cli_error("%s", rep->targets[0].error.message);
        rc = EXIT_FAIL;
    } else {
        fprintf(stderr, "dscat demo: database %s\ndscat demo: catalog %s\n\n", db, catalog);
        FILE *f = fopen(summary, "r");
        char buf[8192];
        size_t n;
        while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
            fwrite(buf, 1, n, stdout);
        if (f)
            fclose(f);
        else
            rc = EXIT_FAIL;
    }
    dscat_catalog_refresh_free(rep);
    dscat_catalog_close(cat);
    return rc;
}

int cmd_demo(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(demo_help, stdout);
            return EXIT_OK;
        }
        return cli_usage("demo", "unknown option '%s'", argv[i]);
    }
    const char *home = getenv("DSCAT_HOME");
    if (home && *home == '\0')
        home = NULL;
    const char *tmpdir = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/dscat-demo-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (strpbrk(dir, "'\n\r")) {
        cli_error("TMPDIR %s holds a quote or a line break: name another directory", dir);
        return EXIT_FAIL;
    }
    if (mkdtemp(dir) == NULL) {
        cli_error("cannot create a temporary directory: %s", strerror(errno));
        return EXIT_FAIL;
    }
    /* A kept demo catalog names its database's temporary directory: the one of an earlier run
     * in the same catalog is removed once the new one is in place, never left behind. */
    char previous[4096] = "", now[4096] = "";
    if (home)
        previous_demo_dir(home, previous, sizeof(previous));
    int rc = run_demo(dir, home);
    if (home)
        previous_demo_dir(home, now, sizeof(now)); /* what targets.toml names now */
    /* Whichever of the two directories the catalog does not name is removed: the new one when
     * the run failed before naming it, the earlier one once the new one replaced it. */
    if (home == NULL || strcmp(now, dir) != 0)
        remove_tree(dir);
    else if (previous[0] && strcmp(previous, dir) != 0)
        remove_tree(previous);
    if (rc == EXIT_OK) {
        /* On stderr: stdout is exactly the summary. */
        const char *prefix = home ? "" : "DSCAT_HOME=DIR ";
        if (home)
            fprintf(stderr, "\nThe demo catalog is in %s. Try next:\n", home);
        else
            fprintf(stderr, "\nThe demo's temporary files are removed. To keep a demo catalog in "
                            "DIR, run DSCAT_HOME=DIR dscat demo, then try:\n");
        fprintf(stderr,
                "  %sdscat find customer\n  %sdscat table customers\n  %sdscat joins customers\n",
                prefix, prefix, prefix);
    }
    return rc;
}
