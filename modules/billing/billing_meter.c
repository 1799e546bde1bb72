/*
 * Plan limits where they bite: the quota function the core offers other
 * modules (members, service keys, ... counted live against the tenant's
 * plan inside the caller's write transaction), the API request meter the
 * core calls for every tenant request, and GET /tenants/{id}/usage.
 *
 * The meter keeps one counter per tenant and metered metric (API requests,
 * function invocations) in memory, in a table of striped
 * locks (no global lock on the request path): a request is counted and
 * checked against the plan's monthly quota under its stripe's lock, so
 * exactly the quota's number of requests pass, however many arrive at
 * once. A counter starts from usage_counters and is written back (the
 * absolute value, so a write is idempotent) at most once a second per
 * tenant by the request that notices, and for every tenant at shutdown; a
 * crash loses at most the last second's count. The plan and the usage
 * period are re-read every few seconds, and a new period starts a new
 * counter.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "billing.h"
#include "tenants.h"

#define STRIPES 64
#define BUCKETS 4096 /* power of two */
#define REFRESH_MS 5000 /* plan and period re-read */
#define FLUSH_MS 1000 /* counter written back */
#define API_REQUESTS 5 /* index of api_requests in billing_metrics */
#define FUNCTION_INVOCATIONS 4 /* index of function_invocations */

struct meter {
	struct meter *next; /* in its bucket */
	char tenant[40];
	int metric; /* API_REQUESTS or FUNCTION_INVOCATIONS */
	char period[24]; /* usage_counters.period */
	int64_t period_end; /* ms: a new counter from here */
	int64_t quota; /* -1: none */
	int64_t count; /* requests this period */
	int64_t flushed; /* count last written */
	int64_t checked_at; /* ms: plan and period read */
	int64_t flushed_at; /* ms */
};

static pthread_mutex_t stripes[STRIPES];
static struct meter *buckets[BUCKETS];
static struct lx_db *meter_db; /* for the flush at shutdown */

static unsigned
hash(const char *s, int metric)
{
	unsigned h = 2166136261u ^ (unsigned)metric;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return (h & (BUCKETS - 1));
}

/* The tenant's plan quota, usage period and the period's stored count,
 * read as system code. */
static int
meter_read(struct lx_conn *c, const char *tenant, int64_t now, struct meter *m,
    struct lx_err *err)
{
	int64_t used[BILLING_NMETRICS], start, end;
	struct billing_plan p;

	if (billing_store_tenant_plan(c, tenant, &p, err) == -1
	    || billing_store_usage_period(c, tenant, now, &start, &end, err)
	        == -1)
		return (-1);
	billing_period_key(start, m->period);
	if (billing_store_usage(c, tenant, m->period, used, err) == -1)
		return (-1);
	m->period_end = end;
	m->quota = p.limits[m->metric].set ? p.limits[m->metric].quota : -1;
	m->count = m->flushed = used[m->metric];
	m->checked_at = now;
	return (0);
}

/* Writes m's count (a snapshot) as system code. */
static int
meter_write(struct lx_conn *c, const char *tenant, int metric,
    const char *period, int64_t count, struct lx_err *err)
{
	return (billing_store_counter_set(
	    c, tenant, billing_metrics[metric], period, count, err));
}

static struct meter *
find(unsigned h, const char *tenant, int metric)
{
	struct meter *m;

	for (m = buckets[h]; m != NULL; m = m->next)
		if (m->metric == metric && strcmp(m->tenant, tenant) == 0)
			break;
	return (m);
}

/*
 * Under the stripe's lock: puts what meter_read found into the table. A
 * new period replaces the counter; the old period's count, if some of it
 * was never written, is handed back in old for the caller to write.
 */
static struct meter *
merge(unsigned h, const char *tenant, const struct meter *fresh, int64_t now,
    struct meter *old)
{
	struct meter *m = find(h, tenant, fresh->metric), *next;

	old->count = old->flushed = 0;
	if (m == NULL) {
		m = lx_malloc(sizeof(*m));
		*m = *fresh;
		m->next = buckets[h];
		buckets[h] = m;
	} else if (strcmp(m->period, fresh->period) != 0) {
		*old = *m;
		next = m->next;
		*m = *fresh;
		m->next = next;
	} else {
		m->quota = fresh->quota;
		m->period_end = fresh->period_end;
		m->checked_at = now;
		return (m);
	}
	snprintf(m->tenant, sizeof(m->tenant), "%s", tenant);
	m->flushed_at = now;
	return (m);
}

static int
meter(struct lx_conn *c, const char *tenant, const char *metric,
    struct lx_err *err)
{
	int i = billing_metric_index(metric);
	unsigned h;
	pthread_mutex_t *mu;
	struct meter *m, fresh, old;
	char period[24];
	int64_t now = lx_now_ms(), count = 0, quota = -1;
	int ok = 1, flush = 0;

	if (i != API_REQUESTS && i != FUNCTION_INVOCATIONS)
		return (lx_err_set(err, 500, "internal_error",
		    "%s is not a metered counter", metric));
	h = hash(tenant, i);
	mu = &stripes[h % STRIPES];
	memset(&old, 0, sizeof(old));
	pthread_mutex_lock(mu);
	m = find(h, tenant, i);
	if (m == NULL || now >= m->period_end
	    || now - m->checked_at >= REFRESH_MS) {
		/* Re-read outside the lock: no request waits on the
		 * database under it. */
		pthread_mutex_unlock(mu);
		memset(&fresh, 0, sizeof(fresh));
		fresh.metric = i;
		if (meter_read(c, tenant, now, &fresh, err) == -1)
			return (-1);
		pthread_mutex_lock(mu);
		m = merge(h, tenant, &fresh, now, &old);
	}
	if (m->quota >= 0 && m->count >= m->quota) {
		ok = 0;
		quota = m->quota;
	} else
		m->count++;
	if (m->count != m->flushed && now - m->flushed_at >= FLUSH_MS) {
		flush = 1;
		count = m->flushed = m->count;
		m->flushed_at = now;
		snprintf(period, sizeof(period), "%s", m->period);
	}
	pthread_mutex_unlock(mu);
	if (old.count != old.flushed
	    && meter_write(c, tenant, i, old.period, old.count, err) == -1)
		lx_log(LX_LOG_WARN, "usage of tenant %s not written: %s",
		    tenant, err->detail);
	if (flush && meter_write(c, tenant, i, period, count, err) == -1)
		lx_log(LX_LOG_WARN, "usage of tenant %s not written: %s",
		    tenant, err->detail);
	if (!ok)
		return (lx_err_set(err, 403, "quota_exceeded",
		    "the plan's %lld %s for this period are used "
		    "(limit %s); upgrade the plan or wait for the next period",
		    (long long)quota,
		    i == API_REQUESTS ? "API requests" : "function invocations",
		    metric));
	return (0);
}

void
billing_meter_forget(const char *tenant)
{
	static const int counters[] = { API_REQUESTS, FUNCTION_INVOCATIONS };
	struct meter *m;
	unsigned h;
	size_t i;

	for (i = 0; i < LX_NELEM(counters); i++) {
		h = hash(tenant, counters[i]);
		pthread_mutex_lock(&stripes[h % STRIPES]);
		if ((m = find(h, tenant, counters[i])) != NULL)
			m->checked_at = 0;
		pthread_mutex_unlock(&stripes[h % STRIPES]);
	}
}

int64_t
billing_meter_count(const char *tenant, const char *metric)
{
	int i = billing_metric_index(metric);
	unsigned h = hash(tenant, i);
	struct meter *m;
	int64_t n = -1;

	pthread_mutex_lock(&stripes[h % STRIPES]);
	if ((m = find(h, tenant, i)) != NULL)
		n = m->count;
	pthread_mutex_unlock(&stripes[h % STRIPES]);
	return (n);
}

/* The quota function: gauges counted live, counters from the meter. */
static int
quota(struct lx_conn *c, const char *tenant, const char *metric, int64_t *limit,
    int64_t *used, struct lx_err *err)
{
	int64_t u[BILLING_NMETRICS], start, end, live;
	struct billing_plan p;
	char period[24];
	int i;

	*limit = -1;
	*used = 0;
	if ((i = billing_metric_index(metric)) < 0)
		return (lx_err_set(
		    err, 500, "internal_error", "no metric %s", metric));
	if (billing_store_tenant_plan(c, tenant, &p, err) == -1
	    || billing_store_usage_period(
	           c, tenant, lx_now_ms(), &start, &end, err)
	        == -1)
		return (-1);
	billing_period_key(start, period);
	if (billing_store_usage(c, tenant, period, u, err) == -1)
		return (-1);
	*used = u[i];
	if ((i == API_REQUESTS || i == FUNCTION_INVOCATIONS)
	    && (live = billing_meter_count(tenant, metric)) > *used)
		*used = live;
	if (p.limits[i].set)
		*limit = p.limits[i].quota;
	return (0);
}

void
billing_meter_flush(void)
{
	struct lx_conn *c;
	struct lx_err err;
	struct meter *m;
	size_t i;

	if (meter_db == NULL)
		return;
	c = lx_db_conn(meter_db);
	for (i = 0; i < BUCKETS; i++) {
		pthread_mutex_lock(&stripes[i % STRIPES]);
		for (m = buckets[i]; m != NULL; m = m->next) {
			if (m->count == m->flushed)
				continue;
			if (meter_write(c, m->tenant, m->metric, m->period,
			        m->count, &err)
			    == 0)
				m->flushed = m->count;
			else
				lx_log(LX_LOG_WARN,
				    "usage of tenant %s not written: %s",
				    m->tenant, err.detail);
		}
		pthread_mutex_unlock(&stripes[i % STRIPES]);
	}
}

void
billing_meter_shutdown(void)
{
	struct meter *m, *next;
	size_t i;

	billing_meter_flush();
	for (i = 0; i < BUCKETS; i++) {
		for (m = buckets[i]; m != NULL; m = next) {
			next = m->next;
			lx_free(m);
		}
		buckets[i] = NULL;
	}
	meter_db = NULL;
}

int
billing_meter_init(struct lx_server *srv, struct lx_err *err)
{
	size_t i;

	(void)err;
	for (i = 0; i < STRIPES; i++)
		pthread_mutex_init(&stripes[i], NULL);
	meter_db = lx_server_db(srv);
	lx_server_set_quota(srv, quota);
	lx_server_set_meter(srv, meter);
	return (0);
}

/* --- GET /tenants/{id}/usage --- */

int
billing_usage(struct lx_req *req, struct lx_resp *resp, struct lx_err *err)
{
	struct lx_qarg none[] = { { NULL, NULL, 0, 0 } };
	int64_t used[BILLING_NMETRICS], start, end, live;
	struct billing_plan p;
	struct lx_buf b;
	char period[24];
	int i;

	if (lx_query_args(req->query, none, err) == -1) {
		lx_resp_problem(
		    resp, err->status, err->code, err->detail, req->request_id);
		return (0);
	}
	if (billing_store_tenant_plan(req->db, req->tenant.id, &p, err) == -1
	    || billing_store_usage_period(
	           req->db, req->tenant.id, lx_now_ms(), &start, &end, err)
	        == -1)
		return (-1);
	billing_period_key(start, period);
	if (billing_store_usage(req->db, req->tenant.id, period, used, err)
	    == -1)
		return (-1);
	if ((live = billing_meter_count(req->tenant.id, "api_requests"))
	    > used[API_REQUESTS])
		used[API_REQUESTS] = live;
	if ((live = billing_meter_count(req->tenant.id, "function_invocations"))
	    > used[FUNCTION_INVOCATIONS])
		used[FUNCTION_INVOCATIONS] = live;
	lx_buf_init(&b);
	lx_buf_adds(&b, "{\"tenant_id\":");
	lx_buf_add_json_str(&b, req->tenant.id);
	lx_buf_adds(&b, ",\"plan\":");
	lx_buf_add_json_str(&b, p.code);
	lx_buf_adds(&b, ",\"period\":{\"start\":");
	lx_buf_add_time_json(&b, start);
	lx_buf_adds(&b, ",\"end\":");
	lx_buf_add_time_json(&b, end);
	lx_buf_adds(&b, "},\"usage\":{");
	for (i = 0; i < BILLING_NMETRICS; i++) {
		lx_buf_adds(&b, i > 0 ? "," : "");
		lx_buf_add_json_str(&b, billing_metrics[i]);
		lx_buf_adds(&b, ":{\"used\":");
		lx_buf_add_uint(&b, (uint64_t)used[i]);
		lx_buf_adds(&b, ",\"quota\":");
		if (p.limits[i].set && p.limits[i].quota >= 0)
			lx_buf_add_uint(&b, (uint64_t)p.limits[i].quota);
		else
			lx_buf_adds(&b, "null");
		lx_buf_adds(&b, ",\"included\":");
		lx_buf_add_uint(
		    &b, (uint64_t)(p.limits[i].set ? p.limits[i].included : 0));
		lx_buf_adds(&b, "}");
	}
	lx_buf_adds(&b, "}}");
	lx_resp_json(resp, 200, b.data);
	lx_buf_cleanup(&b);
	return (0);
}
