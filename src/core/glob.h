/*
 * Shell globs: the one matcher every engine's filters go through, and the literal prefix a
 * server may use to return fewer rows before the matcher runs on ours.
 */
#ifndef DSCAT_CORE_GLOB_H
#define DSCAT_CORE_GLOB_H

#include "core/buf.h"

#include <stdbool.h>

/*
 * Whether name matches glob with the meaning fnmatch(3) gives it without flags in the "C" locale
 * (* any run, ? one character, [...] a bracket expression, [!...] or [^...] negated, with ranges,
 * [:alpha:] and the other classes, [=c=] and [.c.], "\" escaping inside and outside brackets;
 * \x the character x; a "[" never closed a literal "["; a trailing "\" never matches), where a
 * character is a UTF-8 character, never a byte of one: "?" matches "é", "[!a]" matches "日".
 * A byte that is not part of valid UTF-8 is one character of its own. Ranges order characters by
 * code point (invalid bytes after every code point); classes hold ASCII characters only. The
 * same answer whatever the process's locale. Thread-safe. (A glob with more than 63 different
 * non-ASCII characters, or an allocation failure on inputs over 1 KiB, is matched byte by byte.)
 */
bool dscat_glob_match(const char *glob, const char *name);

/*
 * Appends to out the ASCII literal prefix every name matching glob starts with (the glob's text
 * up to its first wildcard, bracket, trailing backslash or non-ASCII byte, escapes removed), so
 * that a server can be asked for names starting with it and nothing glob matches is lost. Sets
 * *whole when the prefix is the whole glob: then glob matches that one name and no other.
 * Returns 0, or DSCAT_ENOMEM.
 */
int dscat_glob_prefix(dscat_buf *out, bool *whole, const char *glob);

#endif
