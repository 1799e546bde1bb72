/*
 * The revoked-session set: ids of sessions whose access tokens must fail
 * verification before they expire. An open-addressing hash table under a
 * reader-writer lock: every verification takes the read side (no mutex,
 * readers run in parallel), revocations the write side. Entries carry the
 * time after which their tokens have expired anyway and are dropped when
 * the table grows. Loaded from the store at start (auth.c), so it stays in
 * step across restarts.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"

struct slot {
	char id[40]; /* "" : empty */
	int64_t until; /* s since epoch */
};

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct slot *slots; /* nslots entries, power of two */
static size_t nslots;
static size_t nused;

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h);
}

/* Inserts without growing; the caller made room. */
static void
put(struct slot *tab, size_t n, const char *id, int64_t until)
{
	size_t i = hash(id) & (n - 1);

	while (tab[i].id[0] != '\0' && strcmp(tab[i].id, id) != 0)
		i = (i + 1) & (n - 1);
	if (tab[i].id[0] == '\0') {
		snprintf(tab[i].id, sizeof(tab[i].id), "%s", id);
		tab[i].until = until;
		nused++;
	} else if (until > tab[i].until)
		tab[i].until = until;
}

/* Rebuilds the table at twice the live size, dropping stale entries. */
static void
grow(void)
{
	struct slot *old = slots;
	size_t i, oldn = nslots, live = 0, n = 64;
	int64_t now = lx_now_ms() / 1000;

	for (i = 0; i < oldn; i++)
		if (old[i].id[0] != '\0' && old[i].until >= now)
			live++;
	while (n < live * 4)
		n *= 2;
	slots = lx_calloc(n, sizeof(*slots));
	nslots = n;
	nused = 0;
	for (i = 0; i < oldn; i++)
		if (old[i].id[0] != '\0' && old[i].until >= now)
			put(slots, nslots, old[i].id, old[i].until);
	lx_free(old);
}

void
auth_revoke_add(const char *id, int64_t until_s)
{
	if (id == NULL || *id == '\0' || strlen(id) >= sizeof(slots->id))
		return;
	pthread_rwlock_wrlock(&lock);
	if (slots == NULL || (nused + 1) * 2 > nslots)
		grow();
	put(slots, nslots, id, until_s);
	pthread_rwlock_unlock(&lock);
}

int
auth_revoke_has(const char *id)
{
	size_t i;
	int found = 0;

	pthread_rwlock_rdlock(&lock);
	if (slots != NULL) {
		i = hash(id) & (nslots - 1);
		while (slots[i].id[0] != '\0') {
			if (strcmp(slots[i].id, id) == 0) {
				found = 1;
				break;
			}
			i = (i + 1) & (nslots - 1);
		}
	}
	pthread_rwlock_unlock(&lock);
	return (found);
}

int
auth_revoke_count(void)
{
	int n;

	pthread_rwlock_rdlock(&lock);
	n = (int)nused;
	pthread_rwlock_unlock(&lock);
	return (n);
}

void
auth_revoke_clear(void)
{
	pthread_rwlock_wrlock(&lock);
	lx_free(slots);
	slots = NULL;
	nslots = nused = 0;
	pthread_rwlock_unlock(&lock);
}
