/*
 * Text helpers for human-readable output: cutting UTF-8 text to a number of characters, finding
 * line breaks, and escaping names and comments so that Markdown shows them as they are.
 */
#ifndef DSCAT_CORE_TEXT_H
#define DSCAT_CORE_TEXT_H

#include "core/buf.h"

#include <stddef.h>

/*
 * The length in bytes (1 to 4) of the well-formed UTF-8 character that starts at p (end is one
 * past the last byte), or 0 when p does not start one: a stray continuation byte, a lead byte
 * that never starts a character (C0, C1, F5 to FF), a sequence cut short or broken, an overlong
 * form (C0 80 for U+0000, E0 80 80, F0 80 80 80), a surrogate (ED A0 80 to ED BF BF) or a code
 * point above U+10FFFF (F4 90 80 80 and up). The one decoder of human-readable output and of the
 * catalog's name check, so that what one accepts the other shows as it is. Requires p < end.
 */
size_t dscat_utf8_char(const char *p, const char *end);

/*
 * The number of bytes of s (len bytes) that hold its first `chars` characters: a cut at this
 * length never splits a UTF-8 sequence. Bytes that are not valid UTF-8 count as one character
 * each. Returns len when s has no more than `chars` characters.
 */
size_t dscat_text_prefix(const char *s, size_t len, size_t chars);

/*
 * The length in bytes of the line break that starts at p (end is one past the last byte): 2 for
 * CR LF, 1 for LF, CR, vertical tab or form feed, 2 for U+0085 (NEL), 3 for U+2028 and U+2029
 * (line and paragraph separators); 0 when p does not start a line break.
 */
size_t dscat_text_line_break(const char *p, const char *end);

/*
 * The length in bytes of the control character that starts at p (end is one past the last
 * byte): 1 for a C0 control (U+0000 to U+001F) or DEL (0x7F), 2 for a C1 control (U+0080 to
 * U+009F, encoded C2 80 to C2 9F); 0 otherwise. A terminal acts on these (ESC starts a sequence
 * that can clear the screen, move the cursor or retitle the window) rather than showing them.
 */
size_t dscat_text_control(const char *p, const char *end);

/*
 * Appends the control character or stray byte that starts at p, n bytes, as visible ASCII: a C0
 * control, DEL or a byte that is not part of valid UTF-8 as "\xNN" (ESC is "\x1b"), a C1
 * control as "\u00NN". Returns 0 or DSCAT_ENOMEM.
 */
int dscat_text_show_control(dscat_buf *b, const char *p, size_t n);

/*
 * Appends s (len bytes) as plain text that is safe on a terminal: every control character
 * (dscat_text_control: C0 including tab and line breaks, DEL, C1) and every byte that is not
 * valid UTF-8 is written visibly by dscat_text_show_control; everything else as it is. For one
 * line of human-readable output that quotes names, comments or messages. Returns 0 or
 * DSCAT_ENOMEM.
 */
int dscat_text_plain(dscat_buf *b, const char *s, size_t len);

/*
 * Appends s (len bytes) to b escaped as one piece of Markdown inline text, so that CommonMark
 * and GitHub Flavored Markdown render exactly its characters inside a table cell, a heading, a
 * list item or a paragraph, and it can never end a table cell or start a new block:
 *   - a line break (any of dscat_text_line_break's) becomes "<br>", the only HTML written;
 *   - "\" becomes "\\" and "|" becomes "\|";
 *   - ` * [ ] < # ~ always get a backslash; "_" does unless it sits between two ASCII
 *     letters or digits (where it can never be emphasis, so "order_id" stays as it is); "&"
 *     does when it starts what reads as an entity ("&amp;", "&#124;"), so "R&D" stays;
 *   - at the start of the text (after any spaces or tabs), "-", "+", "=" and ">" get a backslash,
 *     and so does the "." or ")" after a leading run of digits ("1. x" becomes "1\. x");
 *   - every other control character (tab, ESC, DEL, C1 controls) and every byte that is not
 *     valid UTF-8 is written visibly as dscat_text_show_control does ("\x1b", "\u009b"), so
 *     that the text printed on a terminal can never act on it.
 * Every other escape is a backslash before ASCII punctuation, so a reader gets the text back by
 * removing the backslash of each "\X", reading "<br>" as a line break and "\xNN" or "\u00NN"
 * as that byte or character (a backslash of the text itself is always written "\\"). Leading and
 * trailing spaces of a table cell are not kept by Markdown renderers, and GFM may show a bare URL
 * as a link (with the same text). Returns 0 or DSCAT_ENOMEM (b may then hold part of the text).
 */
int dscat_text_md_escape(dscat_buf *b, const char *s, size_t len);

/* dscat_text_md_escape of a C string; NULL appends nothing. */
int dscat_text_md_escapes(dscat_buf *b, const char *s);

/*
 * Appends s (len bytes) case-folded for case-insensitive matching, for all of Unicode (full case
 * folding from libutf8proc: "ÜNÏCØDÉ" and "ünïcødé" fold alike, "ß" to "ss"). Bytes that are not
 * valid UTF-8 are kept as they are, ASCII letters among them lower-cased. Two strings match
 * case-insensitively when their folded forms do. Returns 0 or DSCAT_ENOMEM.
 */
int dscat_text_fold(dscat_buf *b, const char *s, size_t len);

/*
 * Appends the n parts (NULL ones left out) as one qualified name for people to read: joined by
 * ".", a part written in SQL-style double quotes ("" for a quote inside) when it holds a dot, a
 * double quote or white space, or is empty: Sales."Q1 2024".Orders. The one form every table
 * reference in human output takes. Returns 0 or DSCAT_ENOMEM.
 */
int dscat_text_qualified(dscat_buf *b, const char *const *parts, size_t n);

/*
 * Writes a user name usable as a file name: each Unicode letter, mark or digit is kept, as are
 * "-" and "_", and every other character (or byte that is not UTF-8) becomes "_"; at most 64
 * characters and size - 1 bytes (a character is never split); "anonymous" when the result is
 * empty. "José" stays "José", "a/b" becomes "a_b".
 */
void dscat_text_user_name(const char *raw, char *out, size_t size);

/*
 * Reads a decimal integer (an optional sign and at least one digit, ASCII white space allowed
 * around it) into *out, in place of atoi/atol/atoll, which cannot report junk or overflow. With
 * end NULL the whole of s must be the number; otherwise reading stops after the digits and *end
 * points there. Returns 0, or DSCAT_EINVALID when s is NULL, holds no number, has something
 * after it (end NULL), or the value is outside [min, max] (*out is then left alone).
 */
int dscat_text_to_ll(long long *out, const char *s, const char **end, long long min, long long max);

/* dscat_text_to_ll of the whole of s, or `fallback` when s is NULL or not such a number. */
long long dscat_text_ll_or(const char *s, long long min, long long max, long long fallback);

#endif
