/*
 * Unit tests for core_problem.c (RFC 9457 documents, status texts) and
 * core_metrics.c (counters by route and status, Prometheus text).
 */
#include <cJSON.h>

#include "core.h"
#include "lxtest.h"

static void
test_problem(void)
{
	struct lx_buf b;
	cJSON *doc;

	lx_buf_init(&b);
	lx_problem_json(&b, 422, "unknown_field",
	    "field \"x\" is\nnot accepted", "rid-1", "x");
	doc = cJSON_Parse(b.data);
	CHECK(doc != NULL);
	CHECK_STR(cJSON_GetObjectItem(doc, "type")->valuestring,
	    "https://luxima.dev/problems/unknown_field");
	CHECK_STR(cJSON_GetObjectItem(doc, "title")->valuestring,
	    "Unprocessable Content");
	CHECK(cJSON_GetObjectItem(doc, "status")->valueint == 422);
	CHECK_STR(cJSON_GetObjectItem(doc, "detail")->valuestring,
	    "field \"x\" is\nnot accepted");
	CHECK_STR(
	    cJSON_GetObjectItem(doc, "code")->valuestring, "unknown_field");
	CHECK_STR(cJSON_GetObjectItem(doc, "field")->valuestring, "x");
	CHECK_STR(cJSON_GetObjectItem(doc, "request_id")->valuestring, "rid-1");
	cJSON_Delete(doc);

	/* Defaults from the status; no field, no request id. */
	lx_buf_reset(&b);
	lx_problem_json(&b, 404, NULL, NULL, NULL, NULL);
	doc = cJSON_Parse(b.data);
	CHECK(doc != NULL);
	CHECK_STR(cJSON_GetObjectItem(doc, "code")->valuestring, "not_found");
	CHECK_STR(cJSON_GetObjectItem(doc, "detail")->valuestring, "Not Found");
	CHECK(cJSON_GetObjectItem(doc, "field") == NULL);
	CHECK(cJSON_GetObjectItem(doc, "request_id") == NULL);
	cJSON_Delete(doc);
	lx_buf_cleanup(&b);

	CHECK_STR(lx_status_text(405), "Method Not Allowed");
	CHECK_STR(lx_status_text(299), "Error");
	CHECK_STR(lx_status_code(413), "body_too_large");
	CHECK_STR(lx_status_code(599), "internal_error");
	CHECK_STR(lx_status_code(499), "bad_request");
}

static int
h(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	(void)req;
	(void)resp;
	(void)err;
	return (0);
}

static void
test_metrics(void)
{
	static const struct lx_route routes[] = {
		{ "/a", M_GET, NEED_ANON, NULL, h },
		{ "/a", M_POST, NEED_ANON, NULL, h },
		{ "/b/{id}", M_GET, NEED_ANON, NULL, h },
		{ NULL, 0, NEED_ANON, NULL, NULL },
	};
	struct lx_router *r = lx_router_create();
	struct lx_metrics *m;
	struct lx_err err;
	struct lx_buf b;

	CHECK(lx_router_add(r, routes, &err) == 0);
	m = lx_metrics_create(lx_router_count(r));
	lx_metrics_observe(m, 0, 200, 50000); /* 50 us */
	lx_metrics_observe(m, 1, 200, 2000000); /* 2 ms, same template */
	lx_metrics_observe(m, 2, 404, 1000);
	lx_metrics_observe(m, -1, 404, 1000);
	lx_metrics_observe(m, 7, 999, -5); /* clamped: unmatched, 500 */
	lx_metrics_inflight(m, 1);
	lx_buf_init(&b);
	lx_metrics_render(m, r, NULL, NULL, &b);
	CHECK(strstr(b.data, "# TYPE luxima_http_requests_total counter\n")
	    != NULL);
	CHECK(strstr(b.data,
	          "luxima_http_requests_total{route=\"/a\",status=\"200\"} 2\n")
	    != NULL);
	CHECK(strstr(b.data,
	          "luxima_http_requests_total{route=\"/b/{id}\","
	          "status=\"404\"} 1\n")
	    != NULL);
	CHECK(strstr(b.data,
	          "luxima_http_requests_total{route=\"unmatched\","
	          "status=\"500\"} 1\n")
	    != NULL);
	CHECK(strstr(b.data,
	          "luxima_http_request_duration_seconds_bucket{route=\"/a\","
	          "le=\"0.0001\"} 1\n")
	    != NULL);
	CHECK(strstr(b.data,
	          "luxima_http_request_duration_seconds_bucket{route=\"/a\","
	          "le=\"0.0025\"} 2\n")
	    != NULL);
	CHECK(strstr(b.data,
	          "luxima_http_request_duration_seconds_bucket{route=\"/a\","
	          "le=\"+Inf\"} 2\n")
	    != NULL);
	CHECK(
	    strstr(b.data,
	        "luxima_http_request_duration_seconds_count{route=\"/a\"} 2\n")
	    != NULL);
	CHECK(strstr(b.data, "luxima_http_requests_in_flight 1\n") != NULL);
	CHECK(strstr(b.data, "luxima_build_info{version=") != NULL);
	CHECK(strstr(b.data, "luxima_jobs{state=\"queued\"} 0\n") != NULL);
	CHECK(strstr(b.data, "luxima_db_size_bytes 0\n") != NULL);
	/* One series per template: "/a" appears once per status. */
	CHECK(strstr(strstr(b.data, "route=\"/a\",status=\"200\"") + 1,
	          "route=\"/a\",status=\"200\"")
	    == NULL);
	lx_buf_cleanup(&b);
	lx_metrics_free(m);
	lx_router_free(r);
}

int
main(void)
{
	RUN(test_problem);
	RUN(test_metrics);
	return (lxtest_done());
}
