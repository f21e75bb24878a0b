#include "export/atomic.h"

#include "core/alloc.h"
#include "core/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

char *dscat_atomic_tmp_name(const char *path)
{
    /* Unique per process and per call: a server runs several refreshes at once. */
    static _Atomic unsigned long counter;
    dscat_buf b = DSCAT_BUF_INIT;
    if (dscat_buf_printf(&b, "%s.%ld.%lu.tmp", path, (long)getpid(), ++counter))
        return NULL;
    return dscat_buf_detach(&b);
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
    char *tmp = dscat_atomic_tmp_name(path);
    if (tmp == NULL)
        return dscat_error_set(err, DSCAT_ENOMEM, "out of memory");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = 0;
    if (fd < 0) {
        rc = dscat_error_set(err, DSCAT_EIO, "cannot write %s: %s", tmp, strerror(errno));
        goto done;
    }
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
