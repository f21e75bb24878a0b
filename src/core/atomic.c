#include "core/atomic.h"

#include "core/alloc.h"
#include "core/buf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

char *dscat_atomic_tmp_name(const char *path)
{
    /* "<path>.<pid>.<random>.tmp": unique per call (a server runs several refreshes at once),
     * unpredictable (nobody can plant a symlink there first), and the pid tells whether the
     * writer is still alive (dscat_atomic_remove_stale). */
    unsigned char r[8] = {0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, r, sizeof(r)) != (ssize_t)sizeof(r)) {
        static _Atomic unsigned long counter;
        unsigned long c = ++counter;
        memcpy(r, &c, sizeof(c) < sizeof(r) ? sizeof(c) : sizeof(r));
    }
    if (fd >= 0)
        close(fd);
    dscat_buf b = DSCAT_BUF_INIT;
    if (dscat_buf_printf(&b, "%s.%ld.%02x%02x%02x%02x%02x%02x%02x%02x.tmp", path, (long)getpid(),
                         r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]))
        return NULL;
    return dscat_buf_detach(&b);
}

char *dscat_atomic_tmp_create(const char *path, int *fd, dscat_error *err)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        char *tmp = dscat_atomic_tmp_name(path);
        if (tmp == NULL) {
            dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
            return NULL;
        }
        *fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (*fd >= 0)
            return tmp;
        int e = errno;
        dscat_free(tmp);
        if (e != EEXIST) {
            dscat_error_set(err, DSCAT_EIO, "cannot write %s: %s", path, strerror(e));
            return NULL;
        }
    }
    dscat_error_set(err, DSCAT_EIO, "cannot write %s: no free temporary name", path);
    return NULL;
}

int dscat_atomic_remove_stale(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int removed = 0;
    while (d && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".tmp") != 0)
            continue;
        /* "<name>.<pid>.<random>.tmp" */
        char *copy = dscat_strdup(e->d_name);
        if (copy == NULL)
            break;
        copy[n - 4] = '\0';
        char *rand_dot = strrchr(copy, '.');
        if (rand_dot)
            *rand_dot = '\0';
        char *pid_dot = rand_dot ? strrchr(copy, '.') : NULL;
        char *end = NULL;
        long pid = pid_dot ? strtol(pid_dot + 1, &end, 10) : 0;
        if (pid > 0 && end && *end == '\0' && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
            dscat_buf p = DSCAT_BUF_INIT;
            struct stat sb;
            if (dscat_buf_printf(&p, "%s/%s", dir, e->d_name) == 0 &&
                lstat(dscat_buf_cstr(&p), &sb) == 0 && !S_ISDIR(sb.st_mode) &&
                unlink(dscat_buf_cstr(&p)) == 0)
                removed++;
            dscat_buf_free(&p);
        }
        dscat_free(copy);
    }
    if (d)
        closedir(d);
    return removed;
}

/* Fsyncs the directory holding path so that a rename survives a crash. */
static void sync_dir(const char *path)
{
    char *copy = dscat_strdup(path);
    if (copy == NULL)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    dscat_free(copy);
}

int dscat_atomic_commit(const char *tmp, const char *path, dscat_error *err)
{
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        return dscat_error_set(err, DSCAT_EIO, "cannot write %s: %s", path, strerror(e));
    }
    close(fd);
    sync_dir(path);
    return 0;
}

int dscat_atomic_write(const char *path, const char *data, size_t len, dscat_error *err)
{
    int fd = -1, rc = 0;
    char *tmp = dscat_atomic_tmp_create(path, &fd, err);
    if (tmp == NULL)
        return err && err->code ? err->code : DSCAT_EIO;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = dscat_error_set(err, DSCAT_EIO, "cannot write %s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            goto done;
        }
        off += (size_t)n;
    }
    close(fd);
    rc = dscat_atomic_commit(tmp, path, err);
done:
    dscat_free(tmp);
    return rc;
}
