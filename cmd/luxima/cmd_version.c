/*
 * luxima version: prints the version and the linked libraries' versions.
 */
#include <stdio.h>

#include "cli.h"
#include "version.h"

int
cmd_version(int argc, char **argv)
{
	static const struct cli_flag flags[] = {
		{ "json", NULL, NULL, 0,
		    "print the build information as JSON" },
		{ NULL, NULL, NULL, 0, NULL }
	};
	struct cli_settings s;
	struct lx_buf b;
	int rc;

	if ((rc = cli_parse(
	         "version", "[--json]", argc, argv, flags, &s, NULL, NULL))
	    != 0)
		return (rc == 1 ? 0 : 2);
	if (cli_value("json") == NULL) {
		printf("luxima %s\n", lx_version());
		return (0);
	}
	lx_buf_init(&b);
	lx_build_info(&b);
	printf("%s\n", b.data);
	lx_buf_cleanup(&b);
	return (0);
}
