/*
 * Luxima's base vocabulary, shared by every module: the error struct that
 * carries an HTTP status and a stable machine code, allocation that aborts
 * instead of returning NULL, a growable byte buffer and structured logging.
 */
#ifndef LX_H
#define LX_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define LX_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define LX_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * An error: what went wrong, for the caller to log or turn into an
 * application/problem+json response. Functions returning -1 fill one.
 */
struct lx_err {
	int status; /* HTTP status (400..599); 500 if unknown */
	char code[48]; /* stable machine code, e.g. "invalid_json" */
	char detail[512]; /* human sentence; never a secret */
};

/* Fills err (which may be NULL) and returns -1, so `return lx_err_set(...)`
 * reads naturally. */
int lx_err_set(struct lx_err *err, int status, const char *code,
    const char *fmt, ...) LX_PRINTF(4, 5);
/* Resets err to "no error". */
void lx_err_clear(struct lx_err *err);

/* Allocation: on failure these print one line and abort, so callers never
 * check for NULL. lx_free accepts NULL. */
void *lx_malloc(size_t n);
void *lx_calloc(size_t n, size_t size);
void *lx_realloc(void *p, size_t n);
char *lx_strdup(const char *s);
char *lx_strndup(const char *s, size_t n);
char *lx_asprintf(const char *fmt, ...) LX_PRINTF(1, 2);
void lx_free(void *p);

/* A growable byte buffer, always NUL-terminated. Embed it and call
 * lx_buf_init/lx_buf_cleanup. */
struct lx_buf {
	char *data; /* contents; NULL until something is added */
	size_t len; /* bytes used, without the trailing NUL */
	size_t cap; /* bytes allocated */
};

void lx_buf_init(struct lx_buf *b);
void lx_buf_cleanup(struct lx_buf *b);
void lx_buf_reset(struct lx_buf *b);
void lx_buf_add(struct lx_buf *b, const void *p, size_t n);
void lx_buf_adds(struct lx_buf *b, const char *s);
void lx_buf_addf(struct lx_buf *b, const char *fmt, ...) LX_PRINTF(2, 3);
void lx_buf_vaddf(struct lx_buf *b, const char *fmt, va_list ap);
/* Appends v in decimal (no printf on hot paths). */
void lx_buf_add_uint(struct lx_buf *b, uint64_t v);
/* Appends ms since the epoch as a JSON string in UTC ISO 8601 with
 * milliseconds ("2026-11-25T10:00:00.123Z"), or null for ms <= 0. */
void lx_buf_add_time_json(struct lx_buf *b, int64_t ms);
/* Parses an RFC 3339 time ("2026-11-25T10:00:00Z", fractional seconds
 * and a "+hh:mm"/"-hh:mm" offset allowed, 't'/'z' in any case) into ms
 * since the epoch (fractions beyond ms are truncated). 0 ok, -1 if s is
 * anything else or before 1970. Pure. */
int lx_time_parse(const char *s, int64_t *ms);
/* Appends s as a JSON string, or null when s is NULL or empty. */
void lx_buf_add_json_str_or_null(struct lx_buf *b, const char *s);
/* Appends s as a JSON string literal, quotes included. */
void lx_buf_add_json_str(struct lx_buf *b, const char *s);
/* Detaches the contents (caller frees with lx_free) and resets b. */
char *lx_buf_take(struct lx_buf *b);

/* Structured logging: one JSON object per line on stderr, with "ts",
 * "level" and "msg". Thread-safe (one write per line). */
enum lx_log_level { LX_LOG_DEBUG, LX_LOG_INFO, LX_LOG_WARN, LX_LOG_ERROR };
void lx_log(enum lx_log_level level, const char *fmt, ...) LX_PRINTF(2, 3);
/* Writes an already-built JSON object as one log line. */
void lx_log_json(const char *json_object, size_t len);
void lx_log_set_level(enum lx_log_level level);

/* Wall-clock time in milliseconds and a monotonic clock in nanoseconds. */
int64_t lx_now_ms(void);
int64_t lx_mono_ns(void);

#endif
