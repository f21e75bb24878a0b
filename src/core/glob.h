/* Shell globs as regular expressions, so that filters can run inside a server's query. */
#ifndef DSCAT_CORE_GLOB_H
#define DSCAT_CORE_GLOB_H

#include "core/buf.h"

/*
 * Appends glob as an anchored POSIX extended regular expression ("^...$") with the meaning
 * fnmatch(3) gives it without flags: * any run, ? one character, [...] a class ([!...] negated),
 * \x the character x, everything else literal. (Backslashes inside a class are not escapes.)
 */
int dscat_glob_to_regex(dscat_buf *out, const char *glob);

#endif
