/*
 * The audit writer: every state change records who did what to what, in an
 * append-only table whose rows are chained by SHA-256 so a changed, removed
 * or reordered row is detected by audit_verify().
 */
#ifndef LX_AUDIT_H
#define LX_AUDIT_H

#include <stdint.h>

#include "storage.h"

struct audit_entry {
	const char *actor; /* user id, "service:<key id>", "system" */
	const char *tenant; /* tenant id, or NULL for instance-wide */
	const char *action; /* e.g. "tenant.create" */
	const char *target; /* affected object id, or NULL */
	const char *request_id; /* X-Request-Id, or NULL */
	const char *address; /* client address, or NULL */
	const char *detail_json; /* JSON object, never a secret; NULL: {} */
};

/* Appends one record, inside c's open transaction if there is one (so the
 * record commits or rolls back with the change), else in its own. */
int audit_record(
    struct lx_conn *c, const struct audit_entry *e, struct lx_err *err);

/* Walks the whole chain. Returns 0 and sets *broken_id to 0 when intact, or
 * to the id of the first record whose hash or link does not match; sets
 * *count to the number of records checked. -1 on a database error. */
int audit_verify(
    struct lx_conn *c, int64_t *broken_id, int64_t *count, struct lx_err *err);

#endif
