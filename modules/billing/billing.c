/*
 * Billing rules without SQL or HTTP: billing periods, proration, metered
 * overage, invoice numbers and money text. Integer arithmetic only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "billing.h"

const char *const billing_metrics[BILLING_NMETRICS] = { "members",
	"service_keys", "plugins", "functions", "function_invocations",
	"api_requests" };

int
billing_metric_index(const char *metric)
{
	int i;

	for (i = 0; metric != NULL && i < BILLING_NMETRICS; i++)
		if (strcmp(billing_metrics[i], metric) == 0)
			return (i);
	return (-1);
}

static int
days_in_month(int year, int mon) /* mon 0..11 */
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };

	if (mon == 1 && (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
		return (29);
	return (days[mon]);
}

int64_t
billing_period_add(int64_t start, const char *interval)
{
	time_t t = (time_t)(start / 1000);
	struct tm tm;
	int year, mon;

	gmtime_r(&t, &tm);
	year = tm.tm_year + 1900;
	mon = tm.tm_mon;
	if (strcmp(interval, "year") == 0)
		year++;
	else if (++mon == 12) {
		mon = 0;
		year++;
	}
	if (tm.tm_mday > days_in_month(year, mon))
		tm.tm_mday = days_in_month(year, mon);
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	return ((int64_t)timegm(&tm) * 1000 + start % 1000);
}

int64_t
billing_prorate(int64_t amount, int64_t part, int64_t whole)
{
	int64_t mag = llabs(amount), q, r;

	if (whole <= 0 || part <= 0)
		return (0);
	if (part >= whole)
		return (amount);
	/* mag * part stays below 2^63 for the documented bounds (1e11 x
	 * 3.2e7); half away from zero. */
	q = mag * part / whole;
	r = mag * part % whole;
	if (r * 2 >= whole)
		q++;
	return (amount < 0 ? -q : q);
}

int64_t
billing_overage(const struct billing_limit *l, int64_t used, int64_t *blocks)
{
	int64_t over;

	*blocks = 0;
	if (!l->set || l->unit_amount <= 0 || used <= l->included)
		return (0);
	over = used - l->included;
	*blocks = (over + l->unit_size - 1) / l->unit_size;
	return (*blocks * l->unit_amount);
}

void
billing_period_key(int64_t start, char out[24])
{
	time_t t = (time_t)(start / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t
billing_month_start(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	return ((int64_t)timegm(&tm) * 1000);
}

void
billing_number_format(int year, int64_t seq, char out[24])
{
	snprintf(out, 24, "LX-%04d-%06lld", year, (long long)seq);
}

int
billing_year(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	return (tm.tm_year + 1900);
}

/* ISO 4217 currencies without minor units that a plan may use. */
static int
zero_decimal(const char *currency)
{
	static const char *const zero[] = { "BIF", "CLP", "DJF", "GNF", "ISK",
		"JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF",
		"XOF", "XPF" };
	size_t i;

	for (i = 0; i < LX_NELEM(zero); i++)
		if (strcmp(zero[i], currency) == 0)
			return (1);
	return (0);
}

void
billing_money_format(
    int64_t amount, const char *currency, char *out, size_t len)
{
	long long mag = llabs(amount);

	if (zero_decimal(currency))
		snprintf(out, len, "%s%lld %s", amount < 0 ? "-" : "", mag,
		    currency);
	else
		snprintf(out, len, "%s%lld.%02lld %s", amount < 0 ? "-" : "",
		    mag / 100, mag % 100, currency);
}

int
billing_code_check(const char *code, struct lx_err *err)
{
	size_t i, n = code != NULL ? strlen(code) : 0;

	if (n < 2 || n > BILLING_CODE_MAX || code[0] < 'a' || code[0] > 'z')
		goto bad;
	for (i = 0; i < n; i++)
		if (!((code[i] >= 'a' && code[i] <= 'z')
		        || (code[i] >= '0' && code[i] <= '9') || code[i] == '_'
		        || code[i] == '-'))
			goto bad;
	return (0);
bad:
	return (lx_err_set(err, 422, "invalid_code",
	    "a plan code is 2 to %d characters of a-z, 0-9, '_' and '-', "
	    "starting with a letter",
	    BILLING_CODE_MAX));
}

int
billing_currency_check(const char *currency, struct lx_err *err)
{
	size_t i;

	for (i = 0; currency != NULL && i < 3; i++)
		if (currency[i] < 'A' || currency[i] > 'Z')
			break;
	if (currency == NULL || i != 3 || currency[3] != '\0')
		return (lx_err_set(err, 422, "invalid_currency",
		    "currency is an ISO 4217 code of three capital letters "
		    "(USD, EUR, IDR)"));
	return (0);
}

int
billing_interval_check(const char *interval, struct lx_err *err)
{
	if (interval == NULL
	    || (strcmp(interval, "month") != 0
	        && strcmp(interval, "year") != 0))
		return (lx_err_set(
		    err, 422, "invalid_interval", "interval is month or year"));
	return (0);
}

int
billing_lines_total(
    const struct billing_line *lines, int n, int64_t *total, struct lx_err *err)
{
	int64_t sum = 0;
	int i;

	for (i = 0; i < n; i++)
		if (__builtin_add_overflow(sum, lines[i].amount, &sum))
			return (lx_err_set(err, 422, "amount_too_large",
			    "the invoice total does not fit"));
	*total = sum;
	return (0);
}
