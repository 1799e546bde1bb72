/*
 * A minimal unit-test harness: CHECK() records a failure with its line and
 * goes on; RUN() calls a test function; lxtest_done() prints a summary and
 * gives main's exit status. lxtest_tmpdir() makes a fresh folder under
 * $LUXIMA_TEST_TMP (or /tmp) for tests that need files.
 */
#ifndef LXTEST_H
#define LXTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int lxtest_failures;
static int lxtest_checks;

#define CHECK(cond) \
	do { \
		lxtest_checks++; \
		if (!(cond)) { \
			lxtest_failures++; \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
			    __LINE__, #cond); \
		} \
	} while (0)

#define CHECK_STR(a, b) \
	do { \
		const char *lxa_ = (a), *lxb_ = (b); \
		lxtest_checks++; \
		if (lxa_ == NULL || lxb_ == NULL || strcmp(lxa_, lxb_) != 0) { \
			lxtest_failures++; \
			fprintf(stderr, \
			    "%s:%d: CHECK_STR failed: %s == %s " \
			    "(\"%s\" vs \"%s\")\n", \
			    __FILE__, __LINE__, #a, #b, \
			    lxa_ ? lxa_ : "(null)", lxb_ ? lxb_ : "(null)"); \
		} \
	} while (0)

#define RUN(fn) \
	do { \
		fprintf(stderr, "-- %s\n", #fn); \
		fn(); \
	} while (0)

static inline int
lxtest_done(void)
{
	fprintf(
	    stderr, "%d checks, %d failed\n", lxtest_checks, lxtest_failures);
	return (lxtest_failures == 0 && lxtest_checks > 0 ? 0 : 1);
}

/* Returns a new empty folder (static buffer, valid until the next call). */
static inline const char *
lxtest_tmpdir(const char *name)
{
	static char path[512];
	char cmd[600];
	const char *base = getenv("LUXIMA_TEST_TMP");

	if (base == NULL || *base == '\0')
		base = "/tmp";
	mkdir(base, 0700);
	snprintf(path, sizeof(path), "%s/%s.%ld", base, name, (long)getpid());
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		abort();
	if (mkdir(path, 0700) != 0)
		abort();
	return (path);
}

#endif
