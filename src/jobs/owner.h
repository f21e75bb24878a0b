/*
 * Who holds a claim in the store (a schedule's run, a pending deletion): a process named by its
 * machine and its pid, so that another process of the same machine can tell at once that the
 * holder is gone, while one of another machine waits for the claim's lease.
 */
#ifndef DSCAT_JOBS_OWNER_H
#define DSCAT_JOBS_OWNER_H

#include <stdbool.h>
#include <stddef.h>

/*
 * This process as a claim's owner: "<machine>/<pid>". The machine is its boot id (its host name
 * when there is none) and its pid namespace, so that containers sharing one kernel, each with pids
 * of its own, are different machines: a pid is only looked up where it means that process.
 */
void dscat_jobs__owner_id(char *out, size_t size);

/* True when owner (an id as above) is a process of me's machine that is gone. An owner of
 * another machine, or one that is no such id (NULL, written by an older dscat), is not known gone.
 */
bool dscat_jobs__owner_gone(const char *owner, const char *me);

#endif
