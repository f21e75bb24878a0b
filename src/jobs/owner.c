/* The owners of claims in the store (owner.h). */
#include "jobs/owner.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

void dscat_jobs__owner_id(char *out, size_t size)
{
    char boot[64] = "", ns[64] = "", nsid[32] = "";
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f == NULL || fgets(boot, sizeof(boot), f) == NULL)
        gethostname(boot, sizeof(boot) - 1);
    if (f)
        fclose(f);
    boot[strcspn(boot, "\n")] = '\0';
    ssize_t n = readlink("/proc/self/ns/pid", ns, sizeof(ns) - 1); /* "pid:[4026531836]" */
    size_t k = 0;
    for (ssize_t i = 0; i < n && k + 1 < sizeof(nsid); i++)
        if (ns[i] >= '0' && ns[i] <= '9')
            nsid[k++] = ns[i];
    nsid[k] = '\0';
    snprintf(out, size, "%s+%s/%ld", boot, nsid, (long)getpid());
}

bool dscat_jobs__owner_gone(const char *owner, const char *me)
{
    const char *slash = owner ? strrchr(owner, '/') : NULL, *mine = strrchr(me, '/');
    if (slash == NULL || mine == NULL || slash - owner != mine - me ||
        memcmp(owner, me, (size_t)(slash - owner)) != 0)
        return false; /* another machine's process: only its lease tells */
    char *end = NULL;
    long pid = strtol(slash + 1, &end, 10);
    if (pid <= 0 || *end != '\0')
        return false;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}
