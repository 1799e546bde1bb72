/*
 * Prometheus metrics (text exposition format 0.0.4) for GET /metrics:
 * requests by route template and status, a latency histogram per route,
 * the in-flight gauge, database and job-queue gauges and build info.
 * Counters are relaxed atomics indexed by route and status, so the request
 * path takes no lock and allocates nothing; rendering reads them racily,
 * which Prometheus tolerates.
 */
#include <stdatomic.h>
#include <string.h>

#include <civetweb.h> /* CIVETWEB_VERSION only */

#include "core.h"
#include "jobs.h"
#include "version.h"

#define NSTATUS 500 /* statuses 100..599 */
static const double buckets[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
	0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define NBUCKETS ((int)LX_NELEM(buckets))

struct lx_metrics {
	int nroutes; /* routes; slot nroutes counts unmatched requests */
	_Atomic uint64_t *requests; /* [(nroutes + 1) * NSTATUS] */
	_Atomic uint64_t
	    *hist; /* [(nroutes + 1) * (NBUCKETS + 1)], +Inf last */
	_Atomic uint64_t *sum_ns; /* [nroutes + 1] total duration */
	_Atomic int64_t inflight; /* requests being handled */
	int64_t started_ms; /* process start, for uptime */
};

struct lx_metrics *
lx_metrics_create(int nroutes)
{
	struct lx_metrics *m;
	size_t slots = (size_t)nroutes + 1, i;

	m = lx_calloc(1, sizeof(*m));
	m->nroutes = nroutes;
	m->requests = lx_calloc(slots * NSTATUS, sizeof(*m->requests));
	m->hist = lx_calloc(slots * (NBUCKETS + 1), sizeof(*m->hist));
	m->sum_ns = lx_calloc(slots, sizeof(*m->sum_ns));
	for (i = 0; i < slots * NSTATUS; i++)
		atomic_init(&m->requests[i], 0);
	for (i = 0; i < slots * (NBUCKETS + 1); i++)
		atomic_init(&m->hist[i], 0);
	for (i = 0; i < slots; i++)
		atomic_init(&m->sum_ns[i], 0);
	atomic_init(&m->inflight, 0);
	m->started_ms = lx_now_ms();
	return (m);
}

void
lx_metrics_free(struct lx_metrics *m)
{
	if (m == NULL)
		return;
	lx_free((void *)m->requests);
	lx_free((void *)m->hist);
	lx_free((void *)m->sum_ns);
	lx_free(m);
}

void
lx_metrics_observe(
    struct lx_metrics *m, int route_index, int status, int64_t duration_ns)
{
	size_t slot;
	int b;
	double secs;

	if (route_index < 0 || route_index >= m->nroutes)
		route_index = m->nroutes;
	if (status < 100 || status > 599)
		status = 500;
	if (duration_ns < 0)
		duration_ns = 0;
	slot = (size_t)route_index;
	atomic_fetch_add_explicit(&m->requests[slot * NSTATUS + (status - 100)],
	    1, memory_order_relaxed);
	secs = (double)duration_ns / 1e9;
	for (b = 0; b < NBUCKETS && secs > buckets[b]; b++)
		;
	atomic_fetch_add_explicit(
	    &m->hist[slot * (NBUCKETS + 1) + b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(
	    &m->sum_ns[slot], (uint64_t)duration_ns, memory_order_relaxed);
}

void
lx_metrics_inflight(struct lx_metrics *m, int delta)
{
	/* Sequentially consistent: the server's drain relies on it. */
	atomic_fetch_add(&m->inflight, delta);
}

int64_t
lx_metrics_inflight_now(const struct lx_metrics *m)
{
	return (atomic_load(&((struct lx_metrics *)m)->inflight));
}

/* Appends s as a label value (escaping \, " and newline). */
static void
add_label(struct lx_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			lx_buf_add(b, "\\", 1);
		if (*s == '\n')
			lx_buf_adds(b, "\\n");
		else
			lx_buf_add(b, s, 1);
	}
}

/* The route template of slot i ("unmatched" for the last). */
static const char *
slot_name(const struct lx_metrics *m, const struct lx_router *r, int i)
{
	if (i == m->nroutes)
		return ("unmatched");
	return (lx_router_route(r, i)->path);
}

/* 1 if an earlier slot has the same template (rendered together). */
static int
seen_before(const struct lx_metrics *m, const struct lx_router *r, int i)
{
	int j;

	for (j = 0; j < i; j++)
		if (strcmp(slot_name(m, r, j), slot_name(m, r, i)) == 0)
			return (1);
	return (0);
}

static uint64_t
load(_Atomic uint64_t *p)
{
	return (atomic_load_explicit(p, memory_order_relaxed));
}

static void
render_requests(
    struct lx_metrics *m, const struct lx_router *r, struct lx_buf *out)
{
	uint64_t n;
	int i, j, s;

	lx_buf_adds(out,
	    "# HELP luxima_http_requests_total HTTP requests by route "
	    "template and status.\n"
	    "# TYPE luxima_http_requests_total counter\n");
	for (i = 0; i <= m->nroutes; i++) {
		if (seen_before(m, r, i))
			continue;
		for (s = 0; s < NSTATUS; s++) {
			for (n = 0, j = i; j <= m->nroutes; j++)
				if (j == i
				    || strcmp(slot_name(m, r, j),
				           slot_name(m, r, i))
				        == 0)
					n += load(
					    &m->requests[(size_t)j * NSTATUS
					        + s]);
			if (n == 0)
				continue;
			lx_buf_adds(out, "luxima_http_requests_total{route=\"");
			add_label(out, slot_name(m, r, i));
			lx_buf_addf(out, "\",status=\"%d\"} %llu\n", s + 100,
			    (unsigned long long)n);
		}
	}
}

static void
render_latency(
    struct lx_metrics *m, const struct lx_router *r, struct lx_buf *out)
{
	uint64_t cum, sum, n;
	int i, j, b;

	lx_buf_adds(out,
	    "# HELP luxima_http_request_duration_seconds Time from request "
	    "headers to response sent.\n"
	    "# TYPE luxima_http_request_duration_seconds histogram\n");
	for (i = 0; i <= m->nroutes; i++) {
		if (seen_before(m, r, i))
			continue;
		cum = 0;
		sum = 0;
		for (b = 0; b <= NBUCKETS; b++) {
			for (n = 0, j = i; j <= m->nroutes; j++)
				if (j == i
				    || strcmp(slot_name(m, r, j),
				           slot_name(m, r, i))
				        == 0) {
					n += load(
					    &m->hist[(size_t)j * (NBUCKETS + 1)
					        + b]);
					if (b == 0)
						sum += load(&m->sum_ns[j]);
				}
			cum += n;
			if (cum == 0 && b < NBUCKETS)
				continue;
			if (cum == 0)
				break;
			lx_buf_adds(out,
			    "luxima_http_request_duration_seconds_bucket{"
			    "route=\"");
			add_label(out, slot_name(m, r, i));
			if (b < NBUCKETS)
				lx_buf_addf(out, "\",le=\"%g\"} %llu\n",
				    buckets[b], (unsigned long long)cum);
			else
				lx_buf_addf(out, "\",le=\"+Inf\"} %llu\n",
				    (unsigned long long)cum);
		}
		if (cum == 0)
			continue;
		lx_buf_adds(
		    out, "luxima_http_request_duration_seconds_sum{route=\"");
		add_label(out, slot_name(m, r, i));
		lx_buf_addf(out, "\"} %.6f\n", (double)sum / 1e9);
		lx_buf_adds(
		    out, "luxima_http_request_duration_seconds_count{route=\"");
		add_label(out, slot_name(m, r, i));
		lx_buf_addf(out, "\"} %llu\n", (unsigned long long)cum);
	}
}

static void
render_storage(struct lx_db *db, struct lx_conn *c, struct lx_buf *out)
{
	struct lx_db_stats ds;
	struct lx_jobs_stats js;
	struct lx_err err;

	memset(&ds, 0, sizeof(ds));
	if (db != NULL)
		lx_db_stats(db, &ds);
	lx_buf_addf(out,
	    "# HELP luxima_db_size_bytes Size of the main database file.\n"
	    "# TYPE luxima_db_size_bytes gauge\n"
	    "luxima_db_size_bytes %lld\n"
	    "# HELP luxima_db_pages Pages in the main database.\n"
	    "# TYPE luxima_db_pages gauge\n"
	    "luxima_db_pages %lld\n"
	    "# HELP luxima_db_wal_bytes Size of the write-ahead log.\n"
	    "# TYPE luxima_db_wal_bytes gauge\n"
	    "luxima_db_wal_bytes %lld\n"
	    "# HELP luxima_db_connections Open database connections.\n"
	    "# TYPE luxima_db_connections gauge\n"
	    "luxima_db_connections %d\n",
	    (long long)(ds.page_count * ds.page_size), (long long)ds.page_count,
	    (long long)ds.wal_bytes, ds.connections);

	memset(&js, 0, sizeof(js));
	lx_err_clear(&err);
	if (c != NULL && lx_jobs_stats(c, &js, &err) == -1)
		lx_log(LX_LOG_WARN, "metrics: job stats: %s", err.detail);
	lx_buf_addf(out,
	    "# HELP luxima_jobs Durable jobs by state.\n"
	    "# TYPE luxima_jobs gauge\n"
	    "luxima_jobs{state=\"queued\"} %lld\n"
	    "luxima_jobs{state=\"running\"} %lld\n"
	    "luxima_jobs{state=\"done\"} %lld\n"
	    "luxima_jobs{state=\"dead\"} %lld\n",
	    (long long)js.queued, (long long)js.running, (long long)js.done,
	    (long long)js.dead);
}

void
lx_metrics_render(struct lx_metrics *m, const struct lx_router *r,
    struct lx_db *db, struct lx_conn *c, struct lx_buf *out)
{
	render_requests(m, r, out);
	render_latency(m, r, out);
	lx_buf_addf(out,
	    "# HELP luxima_http_requests_in_flight Requests being handled.\n"
	    "# TYPE luxima_http_requests_in_flight gauge\n"
	    "luxima_http_requests_in_flight %lld\n",
	    (long long)lx_metrics_inflight_now(m));
	render_storage(db, c, out);
	lx_buf_addf(out,
	    "# HELP luxima_build_info Build information.\n"
	    "# TYPE luxima_build_info gauge\n"
	    "luxima_build_info{version=\"%s\",civetweb=\"%s\",sqlite=\"%s\"} "
	    "1\n"
	    "# HELP luxima_uptime_seconds Seconds since the server started.\n"
	    "# TYPE luxima_uptime_seconds gauge\n"
	    "luxima_uptime_seconds %.3f\n",
	    lx_version(), CIVETWEB_VERSION, sqlite3_libversion(),
	    (double)(lx_now_ms() - m->started_ms) / 1000.0);
}
