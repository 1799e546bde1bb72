/*
 * Lua 5.4 patterns for the edge sandbox: string.find, string.match,
 * string.gmatch and string.gsub with the semantics of the Lua 5.4 manual
 * (section 6.4.1), written for Luxima, on a matcher that charges its work
 * to the call's instruction budget. The stock matcher runs in C with no
 * limit, so one pathological pattern (string.rep("a*", 30) .. "b" against
 * a long run of a's) would outlive every limit of the call.
 *
 * The matcher backtracks like the reference one, so it finds the same
 * match and raises the same errors at the same moment (pattern errors are
 * found while matching, not up front): a nested call happens only for a
 * capture boundary and for the quantifiers * + - ?, at most MAX_DEPTH deep
 * ("pattern too complex"); sequences of plain items loop. Every step (an
 * item tried, a byte scanned) is counted; every CHARGE_EVERY steps are
 * charged with edge_charge(), which also watches the wall clock.
 *
 * Captures and results go through the Lua API and luaL_Buffer, so the
 * runtime's allocator caps their memory.
 */
#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "edge_int.h"

#define MAX_CAPTURES 32 /* captures per pattern, as the stock library */
#define MAX_DEPTH 200 /* nested matcher calls before "pattern too complex" */
#define CHARGE_EVERY 1024 /* steps counted before edge_charge() runs */
#define PLAIN_FREE 4096 /* bytes a plain find scans without a charge */
#define CAP_OPEN ((ptrdiff_t)-1) /* capture length: not closed yet */
#define CAP_POS ((ptrdiff_t)-2) /* capture length: a position capture */
#define NOMATCH ((size_t)-1) /* offset result: no match */

/* One capture: a span of the subject or a position. */
struct capture {
	size_t start; /* offset of its first byte in the subject */
	ptrdiff_t len; /* its length, CAP_OPEN or CAP_POS */
};

/* The state of one match attempt (one call of a library function). */
struct matcher {
	lua_State *L; /* the calling thread */
	const unsigned char *s; /* the subject (NUL after its end) */
	size_t slen; /* bytes in s */
	const unsigned char *p; /* the pattern, without a leading anchor */
	size_t plen; /* bytes in p (p[plen] is a NUL) */
	int ncap; /* captures opened */
	int depth; /* nested matcher calls still allowed */
	size_t steps; /* work done and not charged yet */
	struct capture cap[MAX_CAPTURES]; /* the captures */
};

static size_t match_here(struct matcher *, size_t, size_t);

/* --- charging ------------------------------------------------------------ */

static void
charge(struct matcher *m)
{
	size_t n = m->steps;

	m->steps = 0;
	edge_charge(m->L, (lua_Unsigned)n);
}

static inline void
tick(struct matcher *m, size_t n)
{
	m->steps += n;
	if (m->steps >= CHARGE_EVERY)
		charge(m);
}

/* Charges what is left at the end of a call without reading the clock
 * (the count hook does that between instructions). */
static void
settle(struct matcher *m)
{
	struct edge_state *st = edge_state_of(m->L);

	if (m->steps == 0)
		return;
	if (st->hit == LIM_NONE && st->budget > (int64_t)m->steps)
		st->budget -= (int64_t)m->steps;
	else
		edge_charge(m->L, (lua_Unsigned)m->steps);
	m->steps = 0;
}

static void
matcher_init(struct matcher *m, lua_State *L, const char *s, size_t slen,
    const char *p, size_t plen)
{
	m->L = L;
	m->s = (const unsigned char *)s;
	m->slen = slen;
	m->p = (const unsigned char *)p;
	m->plen = plen;
	m->ncap = 0;
	m->depth = MAX_DEPTH;
	m->steps = 0;
}

/* Forgets the captures before an attempt at a new position. */
static void
matcher_restart(struct matcher *m)
{
	m->ncap = 0;
	m->depth = MAX_DEPTH;
}

/* --- single-character items ---------------------------------------------- */

/* Whether byte c is in the class %cl (cl a class letter; upper case for
 * the complement) or, for any other cl, is cl itself. */
static int
class_has(int c, int cl)
{
	int in;

	switch (tolower(cl)) {
	case 'a':
		in = isalpha(c);
		break;
	case 'c':
		in = iscntrl(c);
		break;
	case 'd':
		in = isdigit(c);
		break;
	case 'g':
		in = isgraph(c);
		break;
	case 'l':
		in = islower(c);
		break;
	case 'p':
		in = ispunct(c);
		break;
	case 's':
		in = isspace(c);
		break;
	case 'u':
		in = isupper(c);
		break;
	case 'w':
		in = isalnum(c);
		break;
	case 'x':
		in = isxdigit(c);
		break;
	case 'z': /* NUL; deprecated in 5.2, still honoured by 5.4 */
		in = c == 0;
		break;
	default:
		return (cl == c);
	}
	if (isupper(cl))
		return (!in);
	return (in != 0);
}

/* Whether byte c is in the set whose '[' is at p[open] and ']' at
 * p[close]. A '-' between two members makes a range; a '%' escapes. */
static int
set_has(const unsigned char *p, int c, size_t open, size_t close)
{
	size_t i = open + 1;
	int in = 1;

	if (p[i] == '^') {
		in = 0;
		i++;
	}
	for (; i < close; i++) {
		if (p[i] == '%') {
			i++;
			if (class_has(c, p[i]))
				return (in);
		} else if (p[i + 1] == '-' && i + 2 < close) {
			if (p[i] <= c && c <= p[i + 2])
				return (in);
			i += 2;
		} else if (p[i] == c)
			return (in);
	}
	return (!in);
}

/* The offset just after the single-character item at p[i]: a byte, '.',
 * %x or a set. The first member of a set is taken as is, so "[]]" and
 * "[^]]" hold ']'. */
static size_t
item_end(struct matcher *m, size_t i)
{
	const unsigned char *p = m->p;
	size_t start = i;

	switch (p[i++]) {
	case '%':
		if (i >= m->plen)
			luaL_error(m->L, "malformed pattern (ends with '%%')");
		return (i + 1);
	case '[':
		if (p[i] == '^')
			i++;
		do {
			if (i >= m->plen)
				luaL_error(
				    m->L, "malformed pattern (missing ']')");
			if (p[i++] == '%' && i < m->plen)
				i++;
		} while (p[i] != ']');
		tick(m, (i - start) >> 3);
		return (i + 1);
	default:
		return (i);
	}
}

/* Whether the subject byte at si matches the item p[pi..ei). */
static int
item_has(struct matcher *m, size_t si, size_t pi, size_t ei)
{
	int c;

	if (si >= m->slen)
		return (0);
	c = m->s[si];
	switch (m->p[pi]) {
	case '.':
		return (1);
	case '%':
		return (class_has(c, m->p[pi + 1]));
	case '[':
		tick(m, (ei - pi) >> 3);
		return (set_has(m->p, c, pi, ei - 1));
	default:
		return (m->p[pi] == c);
	}
}

/* --- items that are not single characters -------------------------------- */

/* %bxy at p[pi]: the end of the balanced run starting at si, or NOMATCH. */
static size_t
balanced(struct matcher *m, size_t si, size_t pi)
{
	size_t i, open = 1;
	int x, y;

	if (pi + 3 >= m->plen)
		luaL_error(
		    m->L, "malformed pattern (missing arguments to '%%b')");
	x = m->p[pi + 2];
	y = m->p[pi + 3];
	if (si >= m->slen || m->s[si] != x)
		return (NOMATCH);
	for (i = si + 1; i < m->slen; i++) {
		if (m->s[i] == y) {
			if (--open == 0)
				break;
		} else if (m->s[i] == x)
			open++;
	}
	tick(m, i - si);
	return (i < m->slen ? i + 1 : NOMATCH);
}

/* %f[set] at p[*pi]: si if the byte before si is not in the set and the
 * one at si is (a NUL stands beyond either end), else NOMATCH. Moves *pi
 * past the item. */
static size_t
frontier(struct matcher *m, size_t si, size_t *pi)
{
	size_t open = *pi + 2, end;
	int before, at;

	if (m->p[open] != '[')
		luaL_error(m->L, "missing '[' after '%%f' in pattern");
	end = item_end(m, open);
	*pi = end;
	before = si == 0 ? 0 : m->s[si - 1];
	at = si < m->slen ? m->s[si] : 0;
	tick(m, (end - open) >> 2);
	if (set_has(m->p, before, open, end - 1)
	    || !set_has(m->p, at, open, end - 1))
		return (NOMATCH);
	return (si);
}

/* %1-%9 (digit d): the end of a copy of that closed capture at si, or
 * NOMATCH. A position capture never matches. */
static size_t
backref(struct matcher *m, size_t si, int d)
{
	int i = d - '1';
	ptrdiff_t len;

	if (i < 0 || i >= m->ncap || m->cap[i].len == CAP_OPEN)
		luaL_error(m->L, "invalid capture index %%%d", i + 1);
	len = m->cap[i].len;
	if (len == CAP_POS || (size_t)len > m->slen - si)
		return (NOMATCH);
	tick(m, (size_t)len >> 4);
	if (memcmp(m->s + m->cap[i].start, m->s + si, (size_t)len) != 0)
		return (NOMATCH);
	return (si + (size_t)len);
}

/* The escapes %b, %f and %0-%9 at p[*pi]: returns 1 with *si (maybe
 * NOMATCH) and *pi moved past the item, or 0 for a class like %a. */
static int
escape_item(struct matcher *m, size_t *si, size_t *pi)
{
	int c = m->p[*pi + 1];

	if (c == 'b') {
		*si = balanced(m, *si, *pi);
		*pi += 4;
	} else if (c == 'f')
		*si = frontier(m, *si, pi);
	else if (isdigit(c)) {
		*si = backref(m, *si, c);
		*pi += 2;
	} else
		return (0);
	return (1);
}

/* '(' at p[pi]: opens a capture (a position capture for "()") at si and
 * matches the rest; the capture is dropped again if that fails. */
static size_t
open_capture(struct matcher *m, size_t si, size_t pi)
{
	int pos = m->p[pi + 1] == ')';
	size_t r;

	if (m->ncap >= MAX_CAPTURES)
		luaL_error(m->L, "too many captures");
	m->cap[m->ncap].start = si;
	m->cap[m->ncap].len = pos ? CAP_POS : CAP_OPEN;
	m->ncap++;
	if ((r = match_here(m, si, pi + (pos ? 2 : 1))) == NOMATCH)
		m->ncap--;
	return (r);
}

/* ')' before p[pi]: closes the innermost open capture at si and matches
 * the rest from p[pi]; the capture is reopened if that fails. */
static size_t
close_capture(struct matcher *m, size_t si, size_t pi)
{
	size_t r;
	int i;

	for (i = m->ncap - 1; i >= 0; i--)
		if (m->cap[i].len == CAP_OPEN)
			break;
	if (i < 0)
		luaL_error(m->L, "invalid pattern capture");
	m->cap[i].len = (ptrdiff_t)(si - m->cap[i].start);
	if ((r = match_here(m, si, pi)) == NOMATCH)
		m->cap[i].len = CAP_OPEN;
	return (r);
}

/* --- quantifiers and the matcher ----------------------------------------- */

/* Item p[pi..ei) followed by '*' at si: the longest run first, then one
 * repetition less at a time until the rest p[ei + 1..] matches. */
static size_t
greedy(struct matcher *m, size_t si, size_t pi, size_t ei)
{
	size_t n = 0, r;

	if (m->p[pi] == '.') {
		n = m->slen - si;
		tick(m, n >> 4);
	} else {
		while (item_has(m, si + n, pi, ei)) {
			n++;
			tick(m, 1);
		}
	}
	for (;;) {
		if ((r = match_here(m, si + n, ei + 1)) != NOMATCH)
			return (r);
		if (n-- == 0)
			return (NOMATCH);
	}
}

/* Item p[pi..ei) followed by '-' at si: the rest first, then one more
 * repetition at a time. */
static size_t
lazy(struct matcher *m, size_t si, size_t pi, size_t ei)
{
	size_t r;

	for (;;) {
		if ((r = match_here(m, si, ei + 1)) != NOMATCH)
			return (r);
		if (!item_has(m, si, pi, ei))
			return (NOMATCH);
		si++;
	}
}

/* The single-character item p[pi..ei), which matched at si, with the
 * quantifier at p[ei] if any: 1 with *r the end of the whole match (or
 * NOMATCH), or 0 with *r, *next where to go on (subject, pattern). */
static int
quantified(
    struct matcher *m, size_t si, size_t pi, size_t ei, size_t *r, size_t *next)
{
	switch (m->p[ei]) {
	case '?':
		if ((*r = match_here(m, si + 1, ei + 1)) != NOMATCH)
			return (1);
		*r = si;
		*next = ei + 1;
		return (0);
	case '+':
		*r = greedy(m, si + 1, pi, ei);
		return (1);
	case '*':
		*r = greedy(m, si, pi, ei);
		return (1);
	case '-':
		*r = lazy(m, si, pi, ei);
		return (1);
	default:
		*r = si + 1;
		*next = ei;
		return (0);
	}
}

/* Matches p[pi..] at subject offset si: the end of the match, or
 * NOMATCH. Loops over plain items; calls itself (at most MAX_DEPTH deep)
 * only where it must come back to try something else. */
static size_t
match_here(struct matcher *m, size_t si, size_t pi)
{
	size_t ei;
	int q;

	if (m->depth == 0)
		luaL_error(m->L, "pattern too complex");
	m->depth--;
	tick(m, 1);
	while (pi < m->plen && si != NOMATCH) {
		tick(m, 1);
		switch (m->p[pi]) {
		case '(':
			si = open_capture(m, si, pi);
			goto out;
		case ')':
			si = close_capture(m, si, pi + 1);
			goto out;
		case '$':
			if (pi + 1 != m->plen)
				break;
			if (si != m->slen)
				si = NOMATCH;
			goto out;
		case '%':
			if (escape_item(m, &si, &pi))
				continue;
			break;
		}
		ei = item_end(m, pi);
		q = m->p[ei];
		if (!item_has(m, si, pi, ei)) {
			if (q == '*' || q == '?' || q == '-')
				pi = ei + 1;
			else
				si = NOMATCH;
		} else if (quantified(m, si, pi, ei, &si, &pi))
			goto out;
	}
out:
	m->depth++;
	return (si);
}

/* --- results ------------------------------------------------------------- */

/* Capture i of the match [s, e) (i 0 with no captures: the whole match):
 * sets *at and returns its length, or CAP_POS (*at its offset). */
static ptrdiff_t
capture_get(struct matcher *m, int i, size_t s, size_t e, size_t *at)
{
	if (i >= m->ncap) {
		if (i != 0)
			luaL_error(m->L, "invalid capture index %%%d", i + 1);
		*at = s;
		return ((ptrdiff_t)(e - s));
	}
	if (m->cap[i].len == CAP_OPEN)
		luaL_error(m->L, "unfinished capture");
	*at = m->cap[i].start;
	return (m->cap[i].len);
}

static void
push_capture(struct matcher *m, int i, size_t s, size_t e)
{
	ptrdiff_t len;
	size_t at;

	len = capture_get(m, i, s, e, &at);
	if (len == CAP_POS)
		lua_pushinteger(m->L, (lua_Integer)at + 1);
	else
		lua_pushlstring(m->L, (const char *)m->s + at, (size_t)len);
}

/* Pushes the captures of the match [s, e), or the whole match if there
 * are none and whole is set; returns how many values it pushed. */
static int
push_captures(struct matcher *m, size_t s, size_t e, int whole)
{
	int i, n = m->ncap == 0 && whole ? 1 : m->ncap;

	luaL_checkstack(m->L, n, "too many captures");
	for (i = 0; i < n; i++)
		push_capture(m, i, s, e);
	return (n);
}

/* Position argument pos (1-based, negative from the end) of a string of
 * len bytes as a 0-based offset; beyond the end gives len + 1. */
static size_t
start_offset(lua_Integer pos, size_t len)
{
	lua_Unsigned back;

	if (pos > 0)
		return (
		    (lua_Unsigned)pos - 1 > len ? len + 1 : (size_t)pos - 1);
	if (pos == 0)
		return (0);
	back = 0u - (lua_Unsigned)pos; /* bytes back from the end */
	return (back > len ? 0 : len - (size_t)back);
}

/* --- find, match, gmatch ------------------------------------------------- */

static int
has_specials(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != '\0' && strchr("^$*+?.([%-", p[i]) != NULL)
			return (1);
	return (0);
}

/* string.find with plain text: pushes its results. */
static int
find_plain(lua_State *L, const char *s, size_t ls, size_t init, const char *p,
    size_t lp)
{
	const char *hit = NULL;

	if (ls - init >= PLAIN_FREE)
		edge_charge(L, (lua_Unsigned)(ls - init + lp) >> 4);
	if (lp == 0)
		hit = s + init;
	else if (lp <= ls - init)
		hit = memmem(s + init, ls - init, p, lp);
	if (hit == NULL) {
		luaL_pushfail(L);
		return (1);
	}
	lua_pushinteger(L, (lua_Integer)(hit - s) + 1);
	lua_pushinteger(L, (lua_Integer)(hit - s) + (lua_Integer)lp);
	return (2);
}

/* string.find (find set) and string.match. */
static int
search(lua_State *L, int find)
{
	struct matcher m;
	size_t ls, lp, si, e = NOMATCH;
	const char *s = luaL_checklstring(L, 1, &ls);
	const char *p = luaL_checklstring(L, 2, &lp);
	size_t init = start_offset(luaL_optinteger(L, 3, 1), ls);
	int anchored, n;

	if (init > ls) {
		luaL_pushfail(L);
		return (1);
	}
	if (find && (lua_toboolean(L, 4) || !has_specials(p, lp)))
		return (find_plain(L, s, ls, init, p, lp));
	anchored = lp > 0 && p[0] == '^';
	matcher_init(&m, L, s, ls, p + anchored, lp - (size_t)anchored);
	for (si = init;; si++) {
		matcher_restart(&m);
		if ((e = match_here(&m, si, 0)) != NOMATCH)
			break;
		if (anchored || si >= ls) {
			settle(&m);
			luaL_pushfail(L);
			return (1);
		}
	}
	settle(&m);
	if (!find)
		return (push_captures(&m, si, e, 1));
	lua_pushinteger(L, (lua_Integer)si + 1);
	lua_pushinteger(L, (lua_Integer)e);
	n = push_captures(&m, si, e, 0);
	return (n + 2);
}

static int
pat_find(lua_State *L)
{
	return (search(L, 1));
}

static int
pat_match(lua_State *L)
{
	return (search(L, 0));
}

/* Where a gmatch iterator stands (its third upvalue). */
struct gmatch_pos {
	size_t next; /* offset where the next search starts */
	size_t last; /* end of the last match, NOMATCH before the first */
};

/* The iterator string.gmatch returns; upvalues: subject, pattern, its
 * struct gmatch_pos. A '^' is a plain byte here. A match ending where the
 * last one ended (an empty match right after it) is skipped. */
static int
gmatch_next(lua_State *L)
{
	struct gmatch_pos *g = lua_touserdata(L, lua_upvalueindex(3));
	struct matcher m;
	size_t ls, lp, si, e;
	const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
	const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);

	matcher_init(&m, L, s, ls, p, lp);
	for (si = g->next; si <= ls; si++) {
		matcher_restart(&m);
		e = match_here(&m, si, 0);
		if (e != NOMATCH && e != g->last) {
			g->next = g->last = e;
			settle(&m);
			return (push_captures(&m, si, e, 1));
		}
	}
	g->next = ls + 1;
	settle(&m);
	return (0);
}

static int
pat_gmatch(lua_State *L)
{
	struct gmatch_pos *g;
	size_t ls, init;

	luaL_checklstring(L, 1, &ls);
	luaL_checkstring(L, 2);
	init = start_offset(luaL_optinteger(L, 3, 1), ls);
	lua_settop(L, 2);
	g = lua_newuserdatauv(L, sizeof(*g), 0);
	g->next = init;
	g->last = NOMATCH;
	lua_pushcclosure(L, gmatch_next, 3);
	return (1);
}

/* --- gsub ---------------------------------------------------------------- */

/* Appends the replacement string r (rl bytes) for the match [s, e):
 * %0 the match, %1-%9 a capture, %% a '%'. */
static void
add_template(struct matcher *m, luaL_Buffer *b, const char *r, size_t rl,
    size_t s, size_t e)
{
	const char *pct;
	ptrdiff_t len;
	size_t at;
	int c;

	tick(m, 1 + (rl >> 4));
	while ((pct = memchr(r, '%', rl)) != NULL) {
		luaL_addlstring(b, r, (size_t)(pct - r));
		c = (unsigned char)pct[1]; /* the NUL after r at its end */
		if (c == '%')
			luaL_addchar(b, '%');
		else if (c == '0')
			luaL_addlstring(b, (const char *)m->s + s, e - s);
		else if (isdigit(c)) {
			len = capture_get(m, c - '1', s, e, &at);
			if (len == CAP_POS) {
				lua_pushinteger(m->L, (lua_Integer)at + 1);
				luaL_addvalue(b);
			} else
				luaL_addlstring(
				    b, (const char *)m->s + at, (size_t)len);
		} else
			luaL_error(
			    m->L, "invalid use of '%%' in replacement string");
		rl -= (size_t)(pct + 2 - r);
		r = pct + 2;
	}
	luaL_addlstring(b, r, rl);
}

/* Appends the replacement of the match [s, e) by the value at index 3 of
 * type tr (r, rl: that value as a string). Returns 0 if the match was
 * kept as it was (a function or table gave false or nil), else 1. */
static int
add_value(struct matcher *m, luaL_Buffer *b, int tr, const char *r, size_t rl,
    size_t s, size_t e)
{
	lua_State *L = m->L;

	if (tr == LUA_TFUNCTION) {
		lua_pushvalue(L, 3);
		lua_call(L, push_captures(m, s, e, 1), 1);
	} else if (tr == LUA_TTABLE) {
		push_capture(m, 0, s, e);
		lua_gettable(L, 3);
	} else {
		add_template(m, b, r, rl, s, e);
		return (1);
	}
	if (!lua_toboolean(L, -1)) {
		lua_pop(L, 1);
		luaL_addlstring(b, (const char *)m->s + s, e - s);
		return (0);
	}
	if (!lua_isstring(L, -1))
		luaL_error(L, "invalid replacement value (a %s)",
		    luaL_typename(L, -1));
	luaL_addvalue(b);
	return (1);
}

/* string.gsub(s, pattern, repl [, n]): the text between matches is
 * copied in runs; an empty match right where the last match ended is not
 * a match. Returns the new string (s itself if nothing changed) and the
 * number of matches. */
static int
pat_gsub(lua_State *L)
{
	struct matcher m;
	luaL_Buffer b;
	size_t ls, lp, rl = 0, si = 0, lit = 0, e, last = NOMATCH;
	const char *s = luaL_checklstring(L, 1, &ls);
	const char *p = luaL_checklstring(L, 2, &lp);
	const char *r = NULL;
	int tr = lua_type(L, 3), anchored, changed = 0;
	lua_Integer max = luaL_optinteger(L, 4, (lua_Integer)ls + 1), n = 0;

	luaL_argexpected(L,
	    tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION
	        || tr == LUA_TTABLE,
	    3, "string/function/table");
	if (tr == LUA_TNUMBER || tr == LUA_TSTRING)
		r = lua_tolstring(L, 3, &rl);
	luaL_buffinit(L, &b);
	anchored = lp > 0 && p[0] == '^';
	matcher_init(&m, L, s, ls, p + anchored, lp - (size_t)anchored);
	while (n < max) {
		matcher_restart(&m);
		e = match_here(&m, si, 0);
		if (e != NOMATCH && e != last) {
			n++;
			luaL_addlstring(&b, s + lit, si - lit);
			changed |= add_value(&m, &b, tr, r, rl, si, e);
			si = lit = last = e;
		} else if (si < ls)
			si++;
		else
			break;
		if (anchored)
			break;
	}
	settle(&m);
	if (!changed)
		lua_pushvalue(L, 1);
	else {
		luaL_addlstring(&b, s + lit, ls - lit);
		luaL_pushresult(&b);
	}
	lua_pushinteger(L, n);
	return (2);
}

/* --- installation -------------------------------------------------------- */

void
edge_pattern_install(lua_State *L, int strtab)
{
	static const luaL_Reg fns[] = {
		{ "find", pat_find },
		{ "match", pat_match },
		{ "gmatch", pat_gmatch },
		{ "gsub", pat_gsub },
		{ NULL, NULL },
	};
	const luaL_Reg *f;

	strtab = lua_absindex(L, strtab);
	for (f = fns; f->name != NULL; f++) {
		lua_pushcfunction(L, f->func);
		lua_setfield(L, strtab, f->name);
	}
}
