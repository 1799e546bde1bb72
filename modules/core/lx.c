/*
 * The base vocabulary declared in lx.h: errors, aborting allocation, the
 * growable buffer, JSON log lines and clocks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lx.h"

static enum lx_log_level log_level = LX_LOG_INFO;

int
lx_err_set(
    struct lx_err *err, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return (-1);
	err->status = status;
	snprintf(err->code, sizeof(err->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return (-1);
}

void
lx_err_clear(struct lx_err *err)
{
	if (err == NULL)
		return;
	err->status = 0;
	err->code[0] = '\0';
	err->detail[0] = '\0';
}

static void
oom(size_t n)
{
	char msg[96];
	int len;

	len = snprintf(
	    msg, sizeof(msg), "luxima: out of memory (%zu bytes)\n", n);
	if (len > 0 && write(STDERR_FILENO, msg, (size_t)len) < 0)
		abort();
	abort();
}

void *
lx_malloc(size_t n)
{
	void *p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		oom(n);
	return (p);
}

void *
lx_calloc(size_t n, size_t size)
{
	void *p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		oom(n * size);
	return (p);
}

void *
lx_realloc(void *p, size_t n)
{
	void *q;

	if ((q = realloc(p, n == 0 ? 1 : n)) == NULL)
		oom(n);
	return (q);
}

char *
lx_strdup(const char *s)
{
	return (lx_strndup(s, strlen(s)));
}

char *
lx_strndup(const char *s, size_t n)
{
	char *p;

	p = lx_malloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return (p);
}

char *
lx_asprintf(const char *fmt, ...)
{
	struct lx_buf b;
	va_list ap;

	lx_buf_init(&b);
	va_start(ap, fmt);
	lx_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (b.data == NULL)
		return (lx_strdup(""));
	return (lx_buf_take(&b));
}

void
lx_free(void *p)
{
	free(p);
}

void
lx_buf_init(struct lx_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
lx_buf_cleanup(struct lx_buf *b)
{
	free(b->data);
	lx_buf_init(b);
}

void
lx_buf_reset(struct lx_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

static void
buf_grow(struct lx_buf *b, size_t extra)
{
	size_t need, cap;

	need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	b->data = lx_realloc(b->data, cap);
	b->cap = cap;
}

void
lx_buf_add(struct lx_buf *b, const void *p, size_t n)
{
	buf_grow(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
lx_buf_adds(struct lx_buf *b, const char *s)
{
	lx_buf_add(b, s, strlen(s));
}

void
lx_buf_vaddf(struct lx_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	size_t room;
	int n;

	/* One pass when it fits the room left (the common case for reused
	 * buffers); a second one after growing only when it did not. */
	buf_grow(b, 64);
	room = b->cap - b->len;
	va_copy(cp, ap);
	n = vsnprintf(b->data + b->len, room, fmt, cp);
	va_end(cp);
	if (n < 0) {
		b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= room) {
		buf_grow(b, (size_t)n);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	}
	b->len += (size_t)n;
}

void
lx_buf_add_uint(struct lx_buf *b, uint64_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	lx_buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void
lx_buf_addf(struct lx_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lx_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void
lx_buf_add_json_str(struct lx_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	char esc[6];

	lx_buf_add(b, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			lx_buf_add(b, "\\\"", 2);
			break;
		case '\\':
			lx_buf_add(b, "\\\\", 2);
			break;
		case '\n':
			lx_buf_add(b, "\\n", 2);
			break;
		case '\r':
			lx_buf_add(b, "\\r", 2);
			break;
		case '\t':
			lx_buf_add(b, "\\t", 2);
			break;
		default:
			if (*p < 0x20) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[*p >> 4];
				esc[5] = hex[*p & 15];
				lx_buf_add(b, esc, 6);
			} else
				lx_buf_add(b, p, 1);
		}
	}
	lx_buf_add(b, "\"", 1);
}

char *
lx_buf_take(struct lx_buf *b)
{
	char *p;

	if (b->data == NULL)
		lx_buf_add(b, "", 0);
	p = b->data;
	lx_buf_init(b);
	return (p);
}

void
lx_log_set_level(enum lx_log_level level)
{
	log_level = level;
}

void
lx_log_json(const char *json_object, size_t len)
{
	struct lx_buf b;
	ssize_t n;
	size_t off;

	lx_buf_init(&b);
	lx_buf_add(&b, json_object, len);
	lx_buf_add(&b, "\n", 1);
	for (off = 0; off < b.len; off += (size_t)n) {
		n = write(STDERR_FILENO, b.data + off, b.len - off);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0)
			break;
	}
	lx_buf_cleanup(&b);
}

void
lx_log(enum lx_log_level level, const char *fmt, ...)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	struct lx_buf b, msg;
	struct timespec ts;
	struct tm tm;
	char when[40];
	va_list ap;

	if (level < log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	lx_buf_init(&msg);
	va_start(ap, fmt);
	lx_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	lx_buf_init(&b);
	lx_buf_addf(&b, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"msg\":", when,
	    ts.tv_nsec / 1000000, names[level]);
	lx_buf_add_json_str(&b, msg.data ? msg.data : "");
	lx_buf_adds(&b, "}");
	lx_log_json(b.data, b.len);
	lx_buf_cleanup(&b);
	lx_buf_cleanup(&msg);
}

int64_t
lx_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int64_t
lx_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

void
lx_buf_add_time_json(struct lx_buf *b, int64_t ms)
{
	char when[32];
	struct tm tm;
	time_t t;

	if (ms <= 0) {
		lx_buf_adds(b, "null");
		return;
	}
	t = (time_t)(ms / 1000);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	lx_buf_addf(b, "\"%s.%03dZ\"", when, (int)(ms % 1000));
}

/* n decimal digits of s into *v; 0 ok, -1 if any is not a digit. */
static int
digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		*v = *v * 10 + (s[i] - '0');
	}
	return (0);
}

int
lx_time_parse(const char *s, int64_t *ms)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };
	int y, mo, d, h, mi, sec, frac = 0, scale = 100, oh = 0, om = 0, sign;
	struct tm tm;
	time_t t;

	if (s == NULL || strlen(s) < 20 || digits(s, 4, &y) == -1 || s[4] != '-'
	    || digits(s + 5, 2, &mo) == -1 || s[7] != '-'
	    || digits(s + 8, 2, &d) == -1 || (s[10] != 'T' && s[10] != 't')
	    || digits(s + 11, 2, &h) == -1 || s[13] != ':'
	    || digits(s + 14, 2, &mi) == -1 || s[16] != ':'
	    || digits(s + 17, 2, &sec) == -1)
		return (-1);
	s += 19;
	if (*s == '.') {
		if (s[1] < '0' || s[1] > '9')
			return (-1);
		for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
			frac += scale * (*s - '0');
	}
	if (*s == 'Z' || *s == 'z')
		sign = 0, s++;
	else if ((*s == '+' || *s == '-') && digits(s + 1, 2, &oh) == 0
	    && s[3] == ':' && digits(s + 4, 2, &om) == 0) {
		sign = *s == '-' ? -1 : 1;
		s += 6;
	} else
		return (-1);
	if (*s != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1
	    || d > mdays[mo - 1]
	    || (mo == 2 && d == 29
	        && (y % 4 != 0 || (y % 100 == 0 && y % 400 != 0)))
	    || h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59)
		return (-1);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm) - (time_t)sign * (oh * 3600 + om * 60);
	if (t < 0)
		return (-1);
	*ms = (int64_t)t * 1000 + frac;
	return (0);
}

void
lx_buf_add_json_str_or_null(struct lx_buf *b, const char *s)
{
	if (s == NULL || *s == '\0')
		lx_buf_adds(b, "null");
	else
		lx_buf_add_json_str(b, s);
}
