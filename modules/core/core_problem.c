/*
 * Problem documents (RFC 9457, application/problem+json): every error the
 * server sends has a type URI built from a stable machine code, the status's
 * title, the status, a human detail, the code itself and the request id, so
 * a client branches on "code" and a support request quotes "request_id".
 */
#include <stdio.h>

#include "core.h"

#define PROBLEM_BASE "https://luxima.dev/problems/"

static const struct {
	int status;
	const char *text; /* reason phrase */
	const char *code; /* default machine code */
} statuses[] = {
	{ 200, "OK", "ok" },
	{ 201, "Created", "created" },
	{ 202, "Accepted", "accepted" },
	{ 204, "No Content", "no_content" },
	{ 301, "Moved Permanently", "moved" },
	{ 302, "Found", "found" },
	{ 304, "Not Modified", "not_modified" },
	{ 400, "Bad Request", "bad_request" },
	{ 401, "Unauthorized", "unauthorized" },
	{ 403, "Forbidden", "forbidden" },
	{ 404, "Not Found", "not_found" },
	{ 405, "Method Not Allowed", "method_not_allowed" },
	{ 406, "Not Acceptable", "not_acceptable" },
	{ 408, "Request Timeout", "request_timeout" },
	{ 409, "Conflict", "conflict" },
	{ 410, "Gone", "gone" },
	{ 411, "Length Required", "length_required" },
	{ 412, "Precondition Failed", "precondition_failed" },
	{ 413, "Content Too Large", "body_too_large" },
	{ 414, "URI Too Long", "uri_too_long" },
	{ 415, "Unsupported Media Type", "unsupported_media_type" },
	{ 417, "Expectation Failed", "expectation_failed" },
	{ 422, "Unprocessable Content", "validation_failed" },
	{ 429, "Too Many Requests", "too_many_requests" },
	{ 431, "Request Header Fields Too Large", "headers_too_large" },
	{ 500, "Internal Server Error", "internal_error" },
	{ 501, "Not Implemented", "not_implemented" },
	{ 502, "Bad Gateway", "bad_gateway" },
	{ 503, "Service Unavailable", "unavailable" },
	{ 504, "Gateway Timeout", "gateway_timeout" },
	{ 505, "HTTP Version Not Supported", "http_version_not_supported" },
};

const char *
lx_status_text(int status)
{
	size_t i;

	for (i = 0; i < LX_NELEM(statuses); i++)
		if (statuses[i].status == status)
			return (statuses[i].text);
	return ("Error");
}

const char *
lx_status_code(int status)
{
	size_t i;

	for (i = 0; i < LX_NELEM(statuses); i++)
		if (statuses[i].status == status)
			return (statuses[i].code);
	return (status >= 500 ? "internal_error" : "bad_request");
}

void
lx_problem_json(struct lx_buf *b, int status, const char *code,
    const char *detail, const char *request_id, const char *field)
{
	char type[128];

	if (code == NULL || *code == '\0')
		code = lx_status_code(status);
	if (detail == NULL || *detail == '\0')
		detail = lx_status_text(status);
	snprintf(type, sizeof(type), PROBLEM_BASE "%s", code);
	lx_buf_adds(b, "{\"type\":");
	lx_buf_add_json_str(b, type);
	lx_buf_addf(b, ",\"title\":\"%s\",\"status\":%d,\"detail\":",
	    lx_status_text(status), status);
	lx_buf_add_json_str(b, detail);
	lx_buf_adds(b, ",\"code\":");
	lx_buf_add_json_str(b, code);
	if (field != NULL && *field != '\0') {
		lx_buf_adds(b, ",\"field\":");
		lx_buf_add_json_str(b, field);
	}
	if (request_id != NULL) {
		lx_buf_adds(b, ",\"request_id\":");
		lx_buf_add_json_str(b, request_id);
	}
	lx_buf_adds(b, "}");
}
