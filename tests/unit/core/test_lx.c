/*
 * Unit tests for the base vocabulary (modules/core/lx.c): RFC 3339 times
 * parsed back into what lx_buf_add_time_json writes, and refused when
 * they are anything else.
 */
#include <string.h>

#include "lx.h"
#include "lxtest.h"

static void
test_time_parse(void)
{
	static const char *const bad[] = { "", "2026-12-03",
		"2026-12-03T10:00:00", "2026-12-03 10:00:00Z",
		"2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
		"2026-04-31T00:00:00Z", "2026-12-03T24:00:00Z",
		"2026-12-03T10:60:00Z", "2026-12-03T10:00:00.Z",
		"2026-12-03T10:00:00+0100", "2026-12-03T10:00:00Zjunk",
		"1969-12-31T23:59:59Z", "1970-01-01T00:30:00+01:00",
		"yesterday", "2026-12-03T10:00:00+24:00",
		"+026-12-03T10:00:00Z" };
	struct lx_buf b;
	int64_t ms;
	size_t i;

	CHECK(lx_time_parse("1970-01-01T00:00:00Z", &ms) == 0 && ms == 0);
	CHECK(lx_time_parse("2026-11-25T10:00:00.123Z", &ms) == 0);
	CHECK(ms == 1795600800123LL);
	CHECK(lx_time_parse("2026-11-25t10:00:00.1234567z", &ms) == 0);
	CHECK(ms == 1795600800123LL);
	CHECK(lx_time_parse("2026-11-25T12:30:00+02:30", &ms) == 0);
	CHECK(ms == 1795600800000LL);
	CHECK(lx_time_parse("2026-11-25T07:00:00-03:00", &ms) == 0);
	CHECK(ms == 1795600800000LL);
	CHECK(lx_time_parse("2024-02-29T00:00:00Z", &ms) == 0);
	CHECK(lx_time_parse("2000-02-29T00:00:00Z", &ms) == 0);
	CHECK(lx_time_parse("2100-02-29T00:00:00Z", &ms) == -1);
	for (i = 0; i < LX_NELEM(bad); i++) {
		CHECK(lx_time_parse(bad[i], &ms) == -1);
		if (lx_time_parse(bad[i], &ms) != -1)
			fprintf(stderr, "accepted: %s\n", bad[i]);
	}
	CHECK(lx_time_parse(NULL, &ms) == -1);

	/* What the API writes, it reads back. */
	lx_buf_init(&b);
	lx_buf_add_time_json(&b, 1795600800123LL);
	b.data[b.len - 1] = '\0';
	CHECK(lx_time_parse(b.data + 1, &ms) == 0 && ms == 1795600800123LL);
	lx_buf_cleanup(&b);
}

int
main(void)
{
	RUN(test_time_parse);
	return (lxtest_done());
}
