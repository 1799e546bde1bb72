/*
 * libFuzzer target for the request-body parser and schema validator
 * (lx_json_body): any bytes must give 0 with an object, or -1 with a 400 or
 * 422 error, never a crash, a leak or a 5xx.
 */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct lx_field fields[] = {
	{ "name", F_STRING, 1, 16 },
	{ "count", F_INT, 0, 0 },
	{ "flag", F_BOOL, 0, 0 },
	{ "ratio", F_NUMBER, 0, 0 },
	{ "tags", F_ARRAY, 0, 0 },
	{ "meta", F_OBJECT, 0, 0 },
	{ NULL, F_STRING, 0, 0 },
};
static const struct lx_schema schema = { fields };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lx_err err;
	cJSON *out = NULL;
	char field[64];

	lx_err_clear(&err);
	if (lx_json_body((const char *)data, size, &schema, &out, field,
	        sizeof(field), &err)
	    == 0) {
		if (out == NULL || !cJSON_IsObject(out))
			abort();
		cJSON_Delete(out);
	} else if (out != NULL || (err.status != 400 && err.status != 422))
		abort();
	return (0);
}
