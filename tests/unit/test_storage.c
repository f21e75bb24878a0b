/*
 * The storage table (src/storage/): the selection from the root, keys and paths, and the local
 * directory backend end to end (stage, put, list, read path, get, delete_prefix), including
 * its refusal to delete through a symlink. S3 is covered by the integration tests (t_s3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "storage/storage.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[256];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/dscat-test-storage.XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static dscat_settings settings;

static void test_selection(void **state)
{
    (void)state;
    dscat_storage *s = NULL;
    dscat_error err = {0};
    assert_int_equal(dscat_storage_open(&s, "s3://bucket/some/prefix/", &settings, &err), 0);
    assert_string_equal(s->backend->name, "s3");
    assert_true(dscat_storage_has(s, DSCAT_STORAGE_REMOTE));
    assert_string_equal(dscat_storage_root(s), "s3://bucket/some/prefix");
    char *p = dscat_storage_path(s, "a/b");
    assert_string_equal(p, "s3://bucket/some/prefix/a/b");
    assert_string_equal(dscat_storage_key(s, p), "a/b");
    assert_null(dscat_storage_key(s, "s3://bucket/some/prefixes/a"));
    dscat_free(p);
    dscat_storage_close(s);

    assert_int_equal(dscat_storage_open(&s, "/var/cache/dscat//", &settings, &err), 0);
    assert_string_equal(s->backend->name, "fs");
    assert_false(dscat_storage_has(s, DSCAT_STORAGE_REMOTE));
    assert_string_equal(dscat_storage_key(s, "/var/cache/dscat/x/y"), "x/y");
    assert_null(dscat_storage_key(s, "/var/cache/dscatx/y"));
    assert_null(dscat_storage_key(s, "/var/cache/dscat"));
    dscat_storage_close(s);
    dscat_storage_close(NULL);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_fs_roundtrip(void **state)
{
    (void)state;
    dscat_storage *s = NULL;
    dscat_error err = {0};
    char *staged = NULL, *read = NULL, warning[100];
    assert_int_equal(dscat_storage_open(&s, root, &settings, &err), 0);
    assert_int_equal(dscat_storage_check(s, &err), 0);
    assert_int_equal(dscat_storage_stage(s, "c/s/t/v1/data.parquet", &staged, &err), 0);
    write_file(staged, "hello");
    assert_int_equal(
        dscat_storage_put(s, staged, "c/s/t/v1/data.parquet", warning, sizeof(warning), &err), 0);
    assert_string_equal(warning, "");
    assert_int_equal(access(staged, F_OK), -1); /* the staged file is taken */
    assert_int_equal(dscat_storage_put_empty(s, "c/s/t/v1/.catalog-x", &err), 0);
    /* created exclusively: a second marker of the same name is an error */
    assert_int_not_equal(dscat_storage_put_empty(s, "c/s/t/v1/.catalog-x", &err), 0);

    struct stat sb;
    char dir[400];
    snprintf(dir, sizeof(dir), "%s/c/s/t/v1", root);
    assert_int_equal(lstat(dir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);

    assert_int_equal(dscat_storage_read_path(s, "c/s/t/v1/data.parquet", &read, &err), 0);
    char want[400];
    snprintf(want, sizeof(want), "%s/c/s/t/v1/data.parquet", root);
    assert_string_equal(read, want);

    char copy[400];
    snprintf(copy, sizeof(copy), "%s/copy", root);
    assert_int_equal(dscat_storage_get(s, "c/s/t/v1/data.parquet", copy, &err), 0);
    assert_int_equal(lstat(copy, &sb), 0);
    assert_int_equal(sb.st_size, 5);
    unlink(copy);

    dscat_storage_entry *e = NULL;
    size_t n = 0;
    assert_int_equal(dscat_storage_list(s, "", &e, &n, &err), 0);
    const char *keys[] = {
        "c/", "c/s/", "c/s/t/", "c/s/t/v1/", "c/s/t/v1/.catalog-x", "c/s/t/v1/data.parquet"};
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(e[i].key, keys[i]);
    assert_int_equal(e[5].size, 5);
    dscat_storage_entries_free(e, n);

    char *lock = NULL;
    assert_int_equal(dscat_storage_lock_path(s, "c/s/t", true, &lock, &err), 0);
    snprintf(want, sizeof(want), "%s/c/s/t/.lock", root);
    assert_string_equal(lock, want);

    /* whole segments only; the prefix must end in "/" */
    assert_int_not_equal(dscat_storage_delete_prefix(s, "c/s/t/v", &err), 0);
    /* no key at all ("" or "/", what a failed buffer's "" becomes) is never the whole root */
    assert_int_equal(dscat_storage_delete_prefix(s, "", &err), DSCAT_EINVALID);
    assert_int_equal(dscat_storage_delete_prefix(s, "/", &err), DSCAT_EINVALID);
    assert_int_equal(dscat_storage_delete_prefix(s, "//", &err), DSCAT_EINVALID);
    assert_int_equal(access(root, F_OK), 0);
    assert_int_equal(dscat_storage_delete_prefix(s, "c/s/t/v/", &err), 0);
    assert_int_equal(access(read, F_OK), 0);
    assert_int_equal(dscat_storage_delete_prefix(s, "c/s/t/v1/", &err), 0);
    assert_int_equal(access(dir, F_OK), -1);
    assert_int_equal(dscat_storage_delete_prefix(s, "c/s/t/v1/", &err), 0); /* already gone */
    dscat_free(lock);
    dscat_free(read);
    dscat_free(staged);
    dscat_storage_close(s);
}

static void test_fs_symlinks(void **state)
{
    (void)state;
    dscat_storage *s = NULL;
    dscat_error err = {0};
    char outside[300], link[600], victim[600];
    snprintf(outside, sizeof(outside), "%s-outside", root);
    snprintf(victim, sizeof(victim), "%s/v1", outside);
    assert_int_equal(mkdir(outside, 0700), 0);
    assert_int_equal(mkdir(victim, 0700), 0);
    snprintf(link, sizeof(link), "%s/conn", root);
    assert_int_equal(symlink(outside, link), 0);
    assert_int_equal(dscat_storage_open(&s, root, &settings, &err), 0);
    /* deleting through the link is refused, and nothing behind it is listed */
    assert_int_not_equal(dscat_storage_delete_prefix(s, "conn/v1/", &err), 0);
    assert_non_null(strstr(err.message, "symlink"));
    assert_int_equal(access(victim, F_OK), 0);
    dscat_storage_entry *e = NULL;
    size_t n = 0;
    assert_int_equal(dscat_storage_list(s, "", &e, &n, &err), 0);
    assert_int_equal(n, 0);
    dscat_storage_entries_free(e, n);
    /* nor is anything staged through it */
    char *staged = NULL;
    assert_int_not_equal(dscat_storage_stage(s, "conn/v2/data.parquet", &staged, &err), 0);
    assert_null(staged);
    unlink(link);
    rmdir(victim);
    rmdir(outside);
    dscat_storage_close(s);
}

/* copy on a local root: a hard link that outlives the prefix it came from; never through or of
 * a symlink; never over an existing key. */
static void test_fs_copy(void **state)
{
    (void)state;
    dscat_storage *s = NULL;
    dscat_error err = {0};
    char *staged = NULL, warning[100], from[400], to[400], outside[400], link[400];
    assert_int_equal(dscat_storage_open(&s, root, &settings, &err), 0);
    assert_int_equal(dscat_storage_stage(s, "c/s/t/v1/data.parquet", &staged, &err), 0);
    write_file(staged, "hello");
    assert_int_equal(
        dscat_storage_put(s, staged, "c/s/t/v1/data.parquet", warning, sizeof(warning), &err), 0);
    assert_int_equal(dscat_storage_copy(s, "c/s/t/v1/data.parquet", "c/s/t/v2/data.parquet", &err),
                     0);
    snprintf(from, sizeof(from), "%s/c/s/t/v1/data.parquet", root);
    snprintf(to, sizeof(to), "%s/c/s/t/v2/data.parquet", root);
    struct stat a, b;
    assert_int_equal(lstat(from, &a), 0);
    assert_int_equal(lstat(to, &b), 0);
    assert_true(a.st_ino == b.st_ino && b.st_nlink == 2); /* one file, two names */
    snprintf(link, sizeof(link), "%s/c/s/t/v2", root);
    assert_int_equal(lstat(link, &a), 0);
    assert_int_equal(a.st_mode & 0777, 0700);
    /* the old version goes, the new one keeps its file */
    assert_int_equal(dscat_storage_delete_prefix(s, "c/s/t/v1/", &err), 0);
    assert_int_equal(lstat(to, &b), 0);
    assert_int_equal(b.st_size, 5);
    /* never over an existing key, never from something missing */
    assert_int_not_equal(
        dscat_storage_copy(s, "c/s/t/v2/data.parquet", "c/s/t/v2/data.parquet", &err), 0);
    assert_int_not_equal(
        dscat_storage_copy(s, "c/s/t/v1/data.parquet", "c/s/t/v3/data.parquet", &err), 0);
    /* never of a symlink, never through one */
    snprintf(outside, sizeof(outside), "%s-secret", root);
    write_file(outside, "secret");
    snprintf(link, sizeof(link), "%s/c/s/t/v2/evil.parquet", root);
    assert_int_equal(symlink(outside, link), 0);
    assert_int_not_equal(
        dscat_storage_copy(s, "c/s/t/v2/evil.parquet", "c/s/t/v4/data.parquet", &err), 0);
    snprintf(link, sizeof(link), "%s/c/s/x", root);
    snprintf(to, sizeof(to), "%s/c/s/t", root);
    assert_int_equal(symlink(to, link), 0);
    assert_int_not_equal(
        dscat_storage_copy(s, "c/s/x/v2/data.parquet", "c/s/t/v5/data.parquet", &err), 0);
    unlink(outside);
    dscat_free(staged);
    dscat_storage_close(s);
}

static void test_encode(void **state)
{
    (void)state;
    char *a = dscat_storage_encode("a/b.c");
    assert_string_equal(a, "a%2Fb%2Ec");
    dscat_free(a);
    char *e = dscat_storage_encode("");
    assert_string_equal(e, "%00");
    dscat_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selection),
        cmocka_unit_test_setup_teardown(test_fs_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fs_symlinks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fs_copy, setup, teardown),
        cmocka_unit_test(test_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
