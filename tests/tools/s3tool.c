/*
 * s3tool: drives dscat's S3 client directly, for the integration tests.
 *   s3tool ROOT put KEY FILE | get KEY FILE | head KEY | rm KEY | ls PREFIX | rmprefix PREFIX
 *               | fill PREFIX N FILE (N keys PREFIX0..PREFIX<N-1>, each a copy of FILE)
 *               | cp FROM TO (a copy on the server, as the cache's appends make)
 * ROOT is s3://bucket; DSCAT_S3_ENDPOINT, AWS_REGION and the AWS_* credentials as for dscat.
 */
#include "storage/s3_client.h"
#include "dscat/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: s3tool ROOT put|get|head|rm|ls|rmprefix|fill|cp ARGS...\n");
        return 2;
    }
    dscat_error err = {0};
    dscat_settings settings = {0};
    settings.s3_endpoint = getenv("DSCAT_S3_ENDPOINT");
    settings.s3_region = getenv("AWS_REGION");
    dscat_s3 *s = NULL;
    if (dscat_global_init(&err) || dscat_s3_open(&s, argv[1], &settings, &err)) {
        fprintf(stderr, "s3tool: %s\n", err.message);
        return 1;
    }
    const char *cmd = argv[2], *key = argv[3];
    int rc = 0;
    char warning[512] = "";
    if (strcmp(cmd, "put") == 0 && argc == 5) {
        rc = dscat_s3_put_file(s, key, argv[4], warning, sizeof(warning), &err);
    } else if (strcmp(cmd, "get") == 0 && argc == 5) {
        rc = dscat_s3_get_file(s, key, argv[4], &err);
    } else if (strcmp(cmd, "head") == 0) {
        int64_t size = 0;
        if ((rc = dscat_s3_head(s, key, &size, &err)) == 0)
            printf("%lld\n", (long long)size);
    } else if (strcmp(cmd, "rm") == 0) {
        rc = dscat_s3_delete(s, key, &err);
    } else if (strcmp(cmd, "ls") == 0) {
        dscat_s3_object *o = NULL;
        size_t n = 0;
        if ((rc = dscat_s3_list(s, key, &o, &n, &err)) == 0)
            for (size_t i = 0; i < n; i++)
                printf("%s\t%lld\n", o[i].key, (long long)o[i].size);
        dscat_s3_objects_free(o, n);
    } else if (strcmp(cmd, "fill") == 0 && argc == 6) {
        char *end = NULL;
        long n = strtol(argv[4], &end, 10);
        if (*end || end == argv[4])
            n = 0;
        for (long i = 0; i < n && rc == 0; i++) {
            char k[1024];
            snprintf(k, sizeof(k), "%s%05ld", key, i);
            rc = dscat_s3_put_file(s, k, argv[5], warning, sizeof(warning), &err);
        }
    } else if (strcmp(cmd, "cp") == 0 && argc == 5) {
        rc = dscat_s3_copy(s, key, argv[4], &err);
    } else if (strcmp(cmd, "rmprefix") == 0) {
        rc = dscat_s3_delete_prefix(s, key, &err);
    } else {
        fprintf(stderr, "s3tool: unknown command %s\n", cmd);
        rc = 2;
    }
    if (warning[0])
        fprintf(stderr, "s3tool: warning: %s\n", warning);
    if (rc && rc != 2)
        fprintf(stderr, "s3tool: %s\n", err.message);
    dscat_s3_close(s);
    dscat_global_shutdown();
    return rc == 0 ? 0 : rc == 2 ? 2 : 1;
}
