/*
 * The script API of edge functions: one method table per area, installed
 * once per state into the shared globals G0 behind read-only proxies.
 *
 *	json	encode, decode, null	(pure)
 *	crypto	random, sha256, hmac_sha256, equal, ed25519_verify, hex,
 *		unhex, base64, unbase64, uuid	(pure, libsodium)
 *	log	debug, info, warn, error	(lines into host->log)
 *	secrets	get	docs	get, put, delete, query
 *	http	fetch	jobs	enqueue	events	emit	(struct edge_host_ops)
 *
 * Also the JSON <-> Lua conversions shared with edge_runtime.c (request,
 * response). Host functions check, in this order: an earlier stop of the
 * call, a host, the permission (a denial stops the whole call, like a
 * limit: pcall cannot swallow it), the op, the arguments. Strings the ops
 * return, trees parsed from them and JSON being encoded are held in
 * s->api until pushed, so a Lua error (memory) in between cannot leak
 * them: edge_lua_end() frees whatever is still held.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>
#include <lauxlib.h>
#include <lua.h>
#include <sodium.h>

#include "edge.h"
#include "edge_int.h"

#define BYTES_PER_UNIT 16 /* bytes of C work charged as one instruction */
#define CHARGE_MIN 1024 /* shorter inputs are not charged (no clock read) */
#define CHARGE_EVERY 4096 /* units an encoding gathers before charging */
#define NODE_BYTES 112 /* C heap of one parsed JSON value, with its key */
#define NAME_MAX_LEN 128 /* collections, keys, secrets, kinds, types */
#define LOG_MSG_MAX 4096 /* bytes of one log message */
#define RANDOM_MAX 1024 /* bytes crypto.random gives at once */
#define QUERY_LIMIT_DEFAULT 20
#define QUERY_LIMIT_MAX 100
#define URL_MAX 8192 /* bytes of an http.fetch URL */
#define METHOD_MAX 16 /* letters of an http.fetch method */

#define LOG_TRUNC_HEAD "{\"level\":\"warn\",\"msg\":\"log truncated: "
#define LOG_TRUNC_TAIL " lines dropped\"}\n"
/* Room kept for the truncation line, with the longest count. */
#define LOG_RESERVE \
	(sizeof(LOG_TRUNC_HEAD) - 1 + 20 + sizeof(LOG_TRUNC_TAIL) - 1)

/* --- Lua -> JSON ---------------------------------------------------------- */

void
edge_json_add_str(struct lx_buf *b, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char esc[6] = { '\\', 'u', '0', '0', 0, 0 };
	size_t i, run = 0;
	unsigned char ch;

	lx_buf_add(b, "\"", 1);
	for (i = 0; i < n; i++) {
		ch = (unsigned char)p[i];
		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		lx_buf_add(b, p + run, i - run);
		run = i + 1;
		if (ch == '"' || ch == '\\') {
			esc[1] = (char)ch;
			lx_buf_add(b, esc, 2);
			esc[1] = 'u';
		} else {
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 15];
			lx_buf_add(b, esc, 6);
		}
	}
	lx_buf_add(b, p + run, n - run);
	lx_buf_add(b, "\"", 1);
}

static int
enc_fail(lua_State *L, struct edge_enc *e, const char *fmt, const char *arg)
{
	int n;

	n = snprintf(e->why, sizeof(e->why), "%s: ", e->what);
	if (n > 0 && (size_t)n < sizeof(e->why))
		snprintf(e->why + n, sizeof(e->why) - (size_t)n, fmt, arg);
	return (luaL_error(L, "%s", e->why));
}

static void
enc_check(lua_State *L, struct edge_enc *e)
{
	if (e->b->len > e->max) {
		e->too_big = 1;
		edge_state_of(L)->mem_refused = 1;
		luaL_error(L, "%s: not enough memory", e->what);
	}
}

/* Gathers work and charges it to the instruction budget in batches. */
static void
enc_work(lua_State *L, struct edge_enc *e, lua_Unsigned n)
{
	lua_Unsigned w;

	e->work += n;
	if (e->work >= CHARGE_EVERY) {
		w = e->work;
		e->work = 0;
		edge_charge(L, w);
	}
}

static void
encode_number(lua_State *L, struct edge_enc *e, int idx)
{
	lua_Number d;
	char tmp[32];

	if (lua_isinteger(L, idx)) {
		lx_buf_addf(e->b, "%lld", (long long)lua_tointeger(L, idx));
		return;
	}
	d = lua_tonumber(L, idx);
	if (!isfinite(d))
		enc_fail(L, e, "%s cannot be encoded", "NaN or infinity");
	snprintf(tmp, sizeof(tmp), "%.15g", (double)d);
	if (strtod(tmp, NULL) != d)
		snprintf(tmp, sizeof(tmp), "%.17g", (double)d);
	lx_buf_adds(e->b, tmp);
}

/* n if the keys of the table at idx are exactly 1..n (n > 0), else 0. */
static lua_Integer
array_len(lua_State *L, struct edge_enc *e, int idx)
{
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0, k;

	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		lua_pop(L, 1);
		k = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
		/* Only the keys 1..n count towards an array. */
		if (k >= 1 && k <= n)
			count++;
		else
			count = -1 - n;
		enc_work(L, e, 1);
	}
	return (n > 0 && count == n ? n : 0);
}

static void encode_value(lua_State *, struct edge_enc *, int, int);

static void
encode_table(lua_State *L, struct edge_enc *e, int idx, int depth)
{
	lua_Integer i, n;
	const char *p;
	size_t len;
	int first = 1;

	if (depth >= JSON_DEPTH_MAX)
		enc_fail(L, e, "%s", "nested too deeply (a cycle?)");
	luaL_checkstack(L, 4, "JSON nested too deeply");
	if ((n = array_len(L, e, idx)) > 0) {
		lx_buf_add(e->b, "[", 1);
		for (i = 1; i <= n; i++) {
			if (i > 1)
				lx_buf_add(e->b, ",", 1);
			lua_rawgeti(L, idx, i);
			encode_value(L, e, lua_gettop(L), depth + 1);
			lua_pop(L, 1);
		}
		lx_buf_add(e->b, "]", 1);
		return;
	}
	lx_buf_add(e->b, "{", 1);
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		if (lua_type(L, -2) != LUA_TSTRING)
			enc_fail(L, e,
			    "a table mixes array and object keys or has a %s "
			    "key",
			    luaL_typename(L, -2));
		if (!first)
			lx_buf_add(e->b, ",", 1);
		first = 0;
		p = lua_tolstring(L, -2, &len);
		edge_json_add_str(e->b, p, len);
		lx_buf_add(e->b, ":", 1);
		encode_value(L, e, lua_gettop(L), depth + 1);
		lua_pop(L, 1);
	}
	lx_buf_add(e->b, "}", 1);
}

static void
encode_value(lua_State *L, struct edge_enc *e, int idx, int depth)
{
	const char *p;
	size_t len;

	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		lx_buf_add(e->b, "null", 4);
		break;
	case LUA_TLIGHTUSERDATA: /* json.null; scripts make no other */
		if (lua_touserdata(L, idx) != NULL)
			enc_fail(
			    L, e, "%s", "a userdata value cannot be encoded");
		lx_buf_add(e->b, "null", 4);
		break;
	case LUA_TBOOLEAN:
		lx_buf_adds(e->b, lua_toboolean(L, idx) ? "true" : "false");
		break;
	case LUA_TNUMBER:
		encode_number(L, e, idx);
		break;
	case LUA_TSTRING:
		p = lua_tolstring(L, idx, &len);
		enc_work(L, e, 1 + len / BYTES_PER_UNIT);
		edge_json_add_str(e->b, p, len);
		break;
	case LUA_TTABLE:
		encode_table(L, e, idx, depth);
		break;
	default:
		enc_fail(L, e, "a %s value cannot be encoded",
		    luaL_typename(L, idx));
	}
	enc_check(L, e);
}

void
edge_json_encode(lua_State *L, struct edge_enc *e, int idx)
{
	encode_value(L, e, lua_absindex(L, idx), 0);
}

/* --- JSON -> Lua ---------------------------------------------------------- */

int
edge_json_depth_ok(const struct cJSON *j, int depth)
{
	const cJSON *c;

	if (depth > JSON_DEPTH_MAX)
		return (0);
	for (c = j->child; c != NULL; c = c->next)
		if (!edge_json_depth_ok(c, depth + 1))
			return (0);
	return (1);
}

void
edge_json_push(lua_State *L, const struct cJSON *j, int nulls)
{
	const cJSON *c;
	lua_Integer i = 1;
	double d;

	luaL_checkstack(L, 4, "JSON nested too deeply");
	if (cJSON_IsTrue(j) || cJSON_IsFalse(j))
		lua_pushboolean(L, cJSON_IsTrue(j));
	else if (cJSON_IsNumber(j)) {
		d = j->valuedouble;
		if (d == floor(d) && fabs(d) <= 9007199254740992.0)
			lua_pushinteger(L, (lua_Integer)d);
		else
			lua_pushnumber(L, d);
	} else if (cJSON_IsString(j))
		lua_pushstring(L, j->valuestring);
	else if (cJSON_IsArray(j)) {
		lua_createtable(L, cJSON_GetArraySize(j), 0);
		for (c = j->child; c != NULL; c = c->next, i++) {
			edge_json_push(L, c, nulls);
			lua_rawseti(L, -2, i);
		}
	} else if (cJSON_IsObject(j)) {
		lua_createtable(L, 0, cJSON_GetArraySize(j));
		for (c = j->child; c != NULL; c = c->next) {
			if (c->string == NULL)
				continue;
			lua_pushstring(L, c->string);
			edge_json_push(L, c, nulls);
			lua_rawset(L, -3);
		}
	} else if (nulls)
		lua_pushlightuserdata(L, NULL); /* json.null */
	else
		lua_pushnil(L);
}

/* Bounds what parsing p would build: *nodes values at most, nested
 * *depth arrays/objects deep at most. */
static void
json_scan(const char *p, size_t len, size_t *nodes, size_t *depth)
{
	size_t i, n = 1, d = 0, maxd = 0;

	for (i = 0; i < len; i++) {
		switch (p[i]) {
		case '"':
			for (i++; i < len && p[i] != '"'; i++)
				if (p[i] == '\\')
					i++;
			break;
		case '[':
		case '{':
			n++;
			if (++d > maxd)
				maxd = d;
			break;
		case ']':
		case '}':
			if (d > 0)
				d--;
			break;
		case ',':
			n++;
			break;
		}
	}
	*nodes = n;
	*depth = maxd;
}

static void
release_tree(struct edge_state *s)
{
	cJSON_Delete(s->api.tree);
	s->api.tree = NULL;
	s->used -= s->api.tree_bytes;
	s->api.tree_bytes = 0;
}

/* Pushes the JSON text p (len bytes, NUL-terminated) as a Lua value,
 * nulls as json.null. The parsed tree counts against the memory cap while
 * it lives. Raises "<what>: ..." on invalid text. */
static void
decode(lua_State *L, const char *p, size_t len, const char *what)
{
	struct edge_state *s = edge_state_of(L);
	const char *end = p;
	size_t nodes, depth, est, room;
	cJSON *j;

	if (len >= CHARGE_MIN)
		edge_charge(L, len / BYTES_PER_UNIT);
	if (strlen(p) != len)
		luaL_error(L, "%s: the text contains a NUL byte", what);
	json_scan(p, len, &nodes, &depth);
	if (depth > JSON_DEPTH_MAX)
		luaL_error(
		    L, "%s: nested deeper than %d", what, JSON_DEPTH_MAX);
	if (nodes >= CHARGE_MIN)
		edge_charge(L, nodes);
	est = nodes * NODE_BYTES + len;
	room = s->used < s->cap ? s->cap - s->used : 0;
	if (est > room || nodes > SIZE_MAX / NODE_BYTES) {
		s->mem_refused = 1;
		luaL_error(L, "%s: not enough memory", what);
	}
	if ((j = cJSON_ParseWithLengthOpts(p, len + 1, &end, 1)) == NULL)
		luaL_error(L, "%s: invalid JSON at byte %I", what,
		    (lua_Integer)(end - p));
	release_tree(s);
	s->api.tree = j;
	s->api.tree_bytes = est;
	s->used += est;
	edge_json_push(L, j, 1);
	release_tree(s);
}

/* --- the call: held resources -------------------------------------------- */

static void
release_str(struct edge_state *s)
{
	if (s->api.str != NULL && s->api.str_secret)
		sodium_memzero(s->api.str, s->api.str_len);
	lx_free(s->api.str);
	s->api.str = NULL;
	s->api.str_len = 0;
	s->api.str_secret = 0;
}

/* Takes ownership of p, an op's result, until release_str(). */
static void
hold_str(struct edge_state *s, char *p, size_t len, int secret)
{
	release_str(s);
	s->api.str = p;
	s->api.str_len = p != NULL ? len : 0;
	s->api.str_secret = secret;
}

void
edge_lua_begin(struct edge_state *s, const struct edge_host *host)
{
	s->api.host = host;
	s->api.log_dropped = 0;
}

void
edge_lua_end(struct edge_state *s)
{
	const struct edge_host *h = s->api.host;
	char line[LOG_RESERVE + 1];
	int n;

	if (h != NULL && h->log != NULL && s->api.log_dropped > 0) {
		n = snprintf(line, sizeof(line), "%s%zu%s", LOG_TRUNC_HEAD,
		    s->api.log_dropped, LOG_TRUNC_TAIL);
		if (n > 0 && h->log->len + (size_t)n <= h->log_max)
			lx_buf_add(h->log, line, (size_t)n);
	}
	release_str(s);
	release_tree(s);
	lx_buf_cleanup(&s->api.enc);
	s->api.host = NULL;
	s->api.log_dropped = 0;
}

/* --- arguments ------------------------------------------------------------ */

static int
bad_arg(lua_State *L, const char *fn, const char *arg, const char *why)
{
	return (luaL_error(L, "%s: bad argument '%s': %s", fn, arg, why));
}

static const char *
arg_str(lua_State *L, int idx, const char *fn, const char *arg, size_t *len)
{
	char why[64];

	if (lua_type(L, idx) != LUA_TSTRING) {
		snprintf(why, sizeof(why), "string expected, got %s",
		    luaL_typename(L, idx));
		bad_arg(L, fn, arg, why);
	}
	return (lua_tolstring(L, idx, len));
}

static void
arg_table(lua_State *L, int idx, const char *fn, const char *arg)
{
	char why[64];

	if (lua_type(L, idx) != LUA_TTABLE) {
		snprintf(why, sizeof(why), "table expected, got %s",
		    luaL_typename(L, idx));
		bad_arg(L, fn, arg, why);
	}
}

static int
name_ok(const char *p, size_t n, size_t min)
{
	size_t i;

	if (n < min || n > NAME_MAX_LEN)
		return (0);
	for (i = 0; i < n; i++) {
		if ((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z')
		    || (p[i] >= '0' && p[i] <= '9'))
			continue;
		if (p[i] == '\0' || strchr("_.:-", p[i]) == NULL)
			return (0);
	}
	return (1);
}

/* A string of 1..128 characters from [A-Za-z0-9_.:-] (min 0: may be ""). */
static const char *
arg_name(lua_State *L, int idx, const char *fn, const char *arg, size_t min)
{
	const char *p;
	size_t n;

	p = arg_str(L, idx, fn, arg, &n);
	if (!name_ok(p, n, min))
		bad_arg(L, fn, arg,
		    min > 0
		        ? "must be 1 to 128 characters from [A-Za-z0-9_.:-]"
		        : "must be 0 to 128 characters from [A-Za-z0-9_.:-]");
	return (p);
}

/* Refuses option keys of the table at idx not in names (NULL-ended). */
static void
opts_known(lua_State *L, int idx, const char *fn, const char *const *names)
{
	char why[96];
	size_t i;

	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING) {
			snprintf(why, sizeof(why), "unknown option (a %s key)",
			    luaL_typename(L, -1));
			bad_arg(L, fn, "opts", why);
		}
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(lua_tostring(L, -1), names[i]) == 0)
				break;
		if (names[i] == NULL) {
			snprintf(why, sizeof(why), "unknown option '%.40s'",
			    lua_tostring(L, -1));
			bad_arg(L, fn, "opts", why);
		}
	}
}

/* Charges the C work over len bytes of input. */
static void
charge_bytes(lua_State *L, size_t len)
{
	if (len >= CHARGE_MIN)
		edge_charge(L, len / BYTES_PER_UNIT);
}

/* --- json ----------------------------------------------------------------- */

/* Encodes the value at idx into s->api.enc (held until the call ends). */
static const char *
encode_held(lua_State *L, int idx, const char *what, size_t *len)
{
	struct edge_state *s = edge_state_of(L);
	struct edge_enc e;

	memset(&e, 0, sizeof(e));
	lx_buf_reset(&s->api.enc);
	e.b = &s->api.enc;
	e.max = s->lim.mem_bytes;
	e.what = what;
	edge_json_encode(L, &e, idx);
	*len = s->api.enc.len;
	return (s->api.enc.data);
}

static int
json_encode(lua_State *L)
{
	struct edge_state *s = edge_state_of(L);
	const char *p;
	size_t len;

	luaL_checkany(L, 1);
	p = encode_held(L, 1, "json.encode", &len);
	lua_pushlstring(L, p, len);
	lx_buf_cleanup(&s->api.enc);
	return (1);
}

static int
json_decode(lua_State *L)
{
	const char *p;
	size_t len;

	p = arg_str(L, 1, "json.decode", "text", &len);
	decode(L, p, len, "json.decode");
	return (1);
}

/* --- crypto --------------------------------------------------------------- */

static int
crypto_random(lua_State *L)
{
	unsigned char buf[RANDOM_MAX];
	lua_Integer n;
	int isnum;

	n = lua_tointegerx(L, 1, &isnum);
	if (!isnum || n < 1 || n > RANDOM_MAX)
		bad_arg(
		    L, "crypto.random", "n", "must be an integer 1 to 1024");
	randombytes_buf(buf, (size_t)n);
	lua_pushlstring(L, (const char *)buf, (size_t)n);
	return (1);
}

static int
crypto_sha256(lua_State *L)
{
	unsigned char out[crypto_hash_sha256_BYTES];
	const char *p;
	size_t len;

	p = arg_str(L, 1, "crypto.sha256", "s", &len);
	charge_bytes(L, len);
	crypto_hash_sha256(out, (const unsigned char *)p, len);
	lua_pushlstring(L, (const char *)out, sizeof(out));
	return (1);
}

static int
crypto_hmac_sha256(lua_State *L)
{
	crypto_auth_hmacsha256_state st;
	unsigned char out[crypto_auth_hmacsha256_BYTES];
	const char *key, *msg;
	size_t klen, mlen;

	key = arg_str(L, 1, "crypto.hmac_sha256", "key", &klen);
	msg = arg_str(L, 2, "crypto.hmac_sha256", "msg", &mlen);
	charge_bytes(L, klen + mlen);
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, klen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, mlen);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
	lua_pushlstring(L, (const char *)out, sizeof(out));
	return (1);
}

static int
crypto_equal(lua_State *L)
{
	const char *a, *b;
	size_t alen, blen;

	a = arg_str(L, 1, "crypto.equal", "a", &alen);
	b = arg_str(L, 2, "crypto.equal", "b", &blen);
	charge_bytes(L, alen);
	lua_pushboolean(L, alen == blen && sodium_memcmp(a, b, alen) == 0);
	return (1);
}

/* A public key of the wrong size is an error; a signature of the wrong
 * size only does not verify. */
static int
crypto_ed25519_verify(lua_State *L)
{
	const char *pk, *msg, *sig;
	size_t pklen, mlen, slen;

	pk = arg_str(L, 1, "crypto.ed25519_verify", "pk", &pklen);
	msg = arg_str(L, 2, "crypto.ed25519_verify", "msg", &mlen);
	sig = arg_str(L, 3, "crypto.ed25519_verify", "sig", &slen);
	if (pklen != crypto_sign_PUBLICKEYBYTES)
		bad_arg(L, "crypto.ed25519_verify", "pk", "must be 32 bytes");
	charge_bytes(L, mlen);
	lua_pushboolean(L,
	    slen == crypto_sign_BYTES
	        && crypto_sign_verify_detached((const unsigned char *)sig,
	               (const unsigned char *)msg, mlen,
	               (const unsigned char *)pk)
	            == 0);
	return (1);
}

static int
crypto_hex(lua_State *L)
{
	luaL_Buffer b;
	const char *p;
	char *out;
	size_t len;

	p = arg_str(L, 1, "crypto.hex", "s", &len);
	charge_bytes(L, len);
	out = luaL_buffinitsize(L, &b, 2 * len + 1);
	sodium_bin2hex(out, 2 * len + 1, (const unsigned char *)p, len);
	luaL_pushresultsize(&b, 2 * len);
	return (1);
}

static int
crypto_unhex(lua_State *L)
{
	luaL_Buffer b;
	const char *p;
	char *out;
	size_t len, n = 0;

	p = arg_str(L, 1, "crypto.unhex", "s", &len);
	charge_bytes(L, len);
	out = luaL_buffinitsize(L, &b, len / 2 + 1);
	if (len % 2 != 0
	    || sodium_hex2bin(
	           (unsigned char *)out, len / 2 + 1, p, len, NULL, &n, NULL)
	        != 0)
		bad_arg(L, "crypto.unhex", "s", "not hexadecimal");
	luaL_pushresultsize(&b, n);
	return (1);
}

/* The variant named by the optional argument idx: nil or "url". */
static int
b64_variant(lua_State *L, int idx, const char *fn, int plain, int url)
{
	if (lua_isnoneornil(L, idx))
		return (plain);
	if (lua_type(L, idx) != LUA_TSTRING
	    || strcmp(lua_tostring(L, idx), "url") != 0)
		bad_arg(L, fn, "variant", "must be nil or \"url\"");
	return (url);
}

/* Standard alphabet with padding; "url": URL-safe without padding. */
static int
crypto_base64(lua_State *L)
{
	luaL_Buffer b;
	const char *p;
	char *out;
	size_t len, olen;
	int v;

	p = arg_str(L, 1, "crypto.base64", "s", &len);
	v = b64_variant(L, 2, "crypto.base64", sodium_base64_VARIANT_ORIGINAL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	charge_bytes(L, len);
	olen = sodium_base64_encoded_len(len, v);
	out = luaL_buffinitsize(L, &b, olen);
	sodium_bin2base64(out, olen, (const unsigned char *)p, len, v);
	luaL_pushresultsize(&b, olen - 1);
	return (1);
}

/* Standard alphabet, padding required; "url": URL-safe, padding
 * optional. */
static int
crypto_unbase64(lua_State *L)
{
	luaL_Buffer b;
	const char *p;
	char *out;
	size_t len, n = 0;
	int i, v;

	p = arg_str(L, 1, "crypto.unbase64", "s", &len);
	v = b64_variant(L, 2, "crypto.unbase64", sodium_base64_VARIANT_ORIGINAL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	charge_bytes(L, len);
	/* URL-safe: up to two '=' of padding are ignored. */
	for (i = 0; i < 2 && v == sodium_base64_VARIANT_URLSAFE_NO_PADDING
	     && len > 0 && p[len - 1] == '=';
	     i++)
		len--;
	out = luaL_buffinitsize(L, &b, len / 4 * 3 + 3);
	if (sodium_base642bin((unsigned char *)out, len / 4 * 3 + 3, p, len,
	        NULL, &n, NULL, v)
	    != 0)
		bad_arg(L, "crypto.unbase64", "s", "not base64");
	luaL_pushresultsize(&b, n);
	return (1);
}

static int
crypto_uuid(lua_State *L)
{
	unsigned char u[16];
	char s[37];

	randombytes_buf(u, sizeof(u));
	u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
	snprintf(s, sizeof(s),
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
	    u[11], u[12], u[13], u[14], u[15]);
	lua_pushlstring(L, s, 36);
	return (1);
}

/* --- stops ------------------------------------------------------------------ */

/* Raises again the error that stopped the call (limit, permission,
 * quota); called by every API function once a stop is set. */
static int
raise_stopped(lua_State *L)
{
	struct edge_state *s = edge_state_of(L);

	if (s->hit == LIM_HOST)
		return (luaL_error(
		    L, "%s: %s", s->api.stop.code, s->api.stop.detail));
	return (luaL_error(
	    L, "function_limit_exceeded: %s", edge_limit_names[s->hit]));
}

/* Ends the call with why: sticky like a limit (the hook raises again on
 * the next instruction), so edge_call fails with why as is. */
static int
stop(lua_State *L, const struct lx_err *why)
{
	struct edge_state *s = edge_state_of(L);
	lua_Hook h = lua_gethook(L);

	s->api.stop = *why;
	s->hit = LIM_HOST;
	if (h != NULL) {
		lua_sethook(L, h, LUA_MASKCOUNT, 1);
		lua_sethook(s->L, h, LUA_MASKCOUNT, 1);
	}
	return (raise_stopped(L));
}

/* --- log ------------------------------------------------------------------ */

/* tostring() of the value at idx without metamethods. */
static const char *
log_piece(lua_State *L, int idx, size_t *len)
{
	const char *p;

	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
	case LUA_TNUMBER: /* converts the argument slot, ours */
		return (lua_tolstring(L, idx, len));
	case LUA_TBOOLEAN:
		p = lua_toboolean(L, idx) ? "true" : "false";
		break;
	default:
		p = luaL_typename(L, idx);
	}
	*len = strlen(p);
	return (p);
}

/* Joins the arguments, space-separated, into msg (LOG_MSG_MAX bytes,
 * not NUL-terminated; a cut never splits a UTF-8 sequence); returns the
 * length. */
static size_t
log_msg(lua_State *L, char *msg)
{
	const char *p;
	size_t n = 0, len, lead, need;
	int i, top = lua_gettop(L), cut = 0;

	for (i = 1; i <= top && !cut; i++) {
		p = log_piece(L, i, &len);
		if (i > 1 && n < LOG_MSG_MAX)
			msg[n++] = ' ';
		if (len > LOG_MSG_MAX - n) {
			len = LOG_MSG_MAX - n;
			cut = 1;
		}
		memcpy(msg + n, p, len);
		n += len;
	}
	if (!cut)
		return (n);
	for (lead = n;
	     lead > 0 && ((unsigned char)msg[lead - 1] & 0xc0) == 0x80; lead--)
		;
	if (lead > 0 && (unsigned char)msg[lead - 1] >= 0xc0) {
		need = (unsigned char)msg[lead - 1] >= 0xf0 ? 4
		    : (unsigned char)msg[lead - 1] >= 0xe0  ? 3
		                                            : 2;
		if (n - (lead - 1) < need)
			n = lead - 1;
	}
	return (n);
}

static int
log_line(lua_State *L, const char *level)
{
	struct edge_state *s = edge_state_of(L);
	const struct edge_host *h = s->api.host;
	struct lx_buf *b;
	char msg[LOG_MSG_MAX];
	size_t n, old;

	if (s->hit != LIM_NONE)
		return (raise_stopped(L));
	if (h == NULL || h->log == NULL)
		return (0);
	if (s->api.log_dropped > 0) {
		s->api.log_dropped++;
		return (0);
	}
	n = log_msg(L, msg);
	charge_bytes(L, n);
	b = h->log;
	old = b->len;
	lx_buf_adds(b, "{\"level\":\"");
	lx_buf_adds(b, level);
	lx_buf_adds(b, "\",\"msg\":");
	edge_json_add_str(b, msg, n);
	lx_buf_add(b, "}\n", 2);
	if (b->len + LOG_RESERVE > h->log_max) {
		b->len = old;
		b->data[old] = '\0';
		s->api.log_dropped = 1;
	}
	return (0);
}

static int
log_debug(lua_State *L)
{
	return (log_line(L, "debug"));
}

static int
log_info(lua_State *L)
{
	return (log_line(L, "info"));
}

static int
log_warn(lua_State *L)
{
	return (log_line(L, "warn"));
}

static int
log_error(lua_State *L)
{
	return (log_line(L, "error"));
}

/* --- host functions ------------------------------------------------------- */

static int
unavailable(lua_State *L, const char *fn)
{
	return (luaL_error(L, "%s: not available here", fn));
}

/* The call's host, once fn may run: no stop yet, a host, perm granted. */
static const struct edge_host *
host_enter(lua_State *L, const char *fn, unsigned perm)
{
	struct edge_state *s = edge_state_of(L);
	const struct edge_host *h = s->api.host;
	struct lx_err why;

	if (s->hit != LIM_NONE)
		raise_stopped(L);
	if (h == NULL || h->ops == NULL)
		unavailable(L, fn);
	if ((h->perms & perm) == 0) {
		lx_err_set(&why, 403, "permission_denied",
		    "permission %s is not granted to this function",
		    edge_perm_name(perm));
		stop(L, &why);
	}
	return (h);
}

/* After an op: raises its error, catchable unless it is the quota. */
static void
op_done(lua_State *L, const char *fn, int rc, const struct lx_err *err)
{
	if (rc == 0)
		return;
	if ((err->status == 402 || err->status == 403)
	    && strcmp(err->code, "quota_exceeded") == 0)
		stop(L, err);
	luaL_error(L, "%s: %s: %s", fn,
	    err->code[0] != '\0' ? err->code : "host_error", err->detail);
}

static int
secrets_get(lua_State *L)
{
	const struct edge_host *h;
	struct edge_state *s = edge_state_of(L);
	struct lx_err err;
	const char *name;
	char *val = NULL;
	size_t len = 0;
	int rc;

	h = host_enter(L, "secrets.get", EDGE_PERM_SECRETS_READ);
	if (h->ops->secret_get == NULL)
		unavailable(L, "secrets.get");
	name = arg_name(L, 1, "secrets.get", "name", 1);
	lx_err_clear(&err);
	rc = h->ops->secret_get(h->ud, name, &val, &len, &err);
	hold_str(s, val, len, 1);
	op_done(L, "secrets.get", rc, &err);
	if (val != NULL)
		lua_pushlstring(L, val, len);
	else
		lua_pushnil(L);
	release_str(s);
	return (1);
}

/* Pushes the op's JSON result held in s->api.str (nil when NULL). */
static void
push_held_json(lua_State *L, const char *fn)
{
	struct edge_state *s = edge_state_of(L);

	if (s->api.str == NULL)
		lua_pushnil(L);
	else
		decode(L, s->api.str, strlen(s->api.str), fn);
	release_str(s);
}

static int
docs_get(lua_State *L)
{
	const struct edge_host *h;
	struct lx_err err;
	const char *coll, *key;
	char *json = NULL;
	int rc;

	h = host_enter(L, "docs.get", EDGE_PERM_DOCS_READ);
	if (h->ops->doc_get == NULL)
		unavailable(L, "docs.get");
	coll = arg_name(L, 1, "docs.get", "coll", 1);
	key = arg_name(L, 2, "docs.get", "key", 1);
	lx_err_clear(&err);
	rc = h->ops->doc_get(h->ud, coll, key, &json, &err);
	hold_str(edge_state_of(L), json, 0, 0);
	op_done(L, "docs.get", rc, &err);
	push_held_json(L, "docs.get");
	return (1);
}

static int
docs_put(lua_State *L)
{
	const struct edge_host *h;
	struct lx_err err;
	const char *coll, *key, *json;
	size_t len;
	int rc;

	h = host_enter(L, "docs.put", EDGE_PERM_DOCS_WRITE);
	if (h->ops->doc_put == NULL)
		unavailable(L, "docs.put");
	coll = arg_name(L, 1, "docs.put", "coll", 1);
	key = arg_name(L, 2, "docs.put", "key", 1);
	arg_table(L, 3, "docs.put", "value");
	json = encode_held(L, 3, "docs.put", &len);
	lx_err_clear(&err);
	rc = h->ops->doc_put(h->ud, coll, key, json, len, &err);
	lx_buf_cleanup(&edge_state_of(L)->api.enc);
	op_done(L, "docs.put", rc, &err);
	return (0);
}

static int
docs_delete(lua_State *L)
{
	const struct edge_host *h;
	struct lx_err err;
	const char *coll, *key;
	int rc, deleted = 0;

	h = host_enter(L, "docs.delete", EDGE_PERM_DOCS_WRITE);
	if (h->ops->doc_delete == NULL)
		unavailable(L, "docs.delete");
	coll = arg_name(L, 1, "docs.delete", "coll", 1);
	key = arg_name(L, 2, "docs.delete", "key", 1);
	lx_err_clear(&err);
	rc = h->ops->doc_delete(h->ud, coll, key, &deleted, &err);
	op_done(L, "docs.delete", rc, &err);
	lua_pushboolean(L, deleted);
	return (1);
}

static const char *const query_opts[] = { "prefix", "after", "limit", NULL };

/* Reads docs.query's options (table at 2) into the stack slots 3..5. */
static int
query_args(lua_State *L, const char **prefix, const char **after)
{
	lua_Integer limit = QUERY_LIMIT_DEFAULT;
	int i;

	*prefix = *after = "";
	if (lua_isnoneornil(L, 2))
		return ((int)limit);
	arg_table(L, 2, "docs.query", "opts");
	opts_known(L, 2, "docs.query", query_opts);
	lua_settop(L, 2);
	for (i = 0; i < 3; i++) {
		lua_pushstring(L, query_opts[i]);
		lua_rawget(L, 2);
	}
	if (!lua_isnil(L, 3))
		*prefix = arg_name(L, 3, "docs.query", "prefix", 0);
	if (!lua_isnil(L, 4))
		*after = arg_name(L, 4, "docs.query", "after", 0);
	if (!lua_isnil(L, 5)) {
		limit = lua_isinteger(L, 5) ? lua_tointeger(L, 5) : 0;
		if (limit < 1 || limit > QUERY_LIMIT_MAX)
			bad_arg(L, "docs.query", "limit",
			    "must be an integer 1 to 100");
	}
	return ((int)limit);
}

static int
docs_query(lua_State *L)
{
	const struct edge_host *h;
	struct lx_err err;
	const char *coll, *prefix, *after;
	char *json = NULL;
	int rc, limit;

	h = host_enter(L, "docs.query", EDGE_PERM_DOCS_READ);
	if (h->ops->doc_query == NULL)
		unavailable(L, "docs.query");
	coll = arg_name(L, 1, "docs.query", "coll", 1);
	limit = query_args(L, &prefix, &after);
	lx_err_clear(&err);
	rc = h->ops->doc_query(h->ud, coll, prefix, after, limit, &json, &err);
	hold_str(edge_state_of(L), json, 0, 0);
	op_done(L, "docs.query", rc, &err);
	push_held_json(L, "docs.query");
	if (!lua_istable(L, -1))
		luaL_error(L, "docs.query: the host returned no array");
	return (1);
}

static const char *const fetch_opts[] = { "method", "headers", "body", NULL };

static void
fetch_headers(lua_State *L, int idx, struct lx_buf *b)
{
	const char *k, *v;
	size_t klen, vlen;
	int first = 1;

	lx_buf_add(b, "{", 1);
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		if (lua_type(L, -2) != LUA_TSTRING
		    || lua_type(L, -1) != LUA_TSTRING)
			bad_arg(L, "http.fetch", "headers",
			    "must map names to strings");
		k = lua_tolstring(L, -2, &klen);
		v = lua_tolstring(L, -1, &vlen);
		if (!edge_header_name_ok(k, klen))
			bad_arg(L, "http.fetch", "headers",
			    "a header name is invalid");
		if (strlen(v) != vlen || strpbrk(v, "\r\n") != NULL)
			bad_arg(L, "http.fetch", "headers",
			    "a header value has a control character");
		if (!first)
			lx_buf_add(b, ",", 1);
		first = 0;
		edge_json_add_str(b, k, klen);
		lx_buf_add(b, ":", 1);
		edge_json_add_str(b, v, vlen);
		lua_pop(L, 1);
	}
	lx_buf_add(b, "}", 1);
}

/* Checks http.fetch's arguments: the url at 1, the options at 2 (table
 * or nil) read into the slots 3 (method), 4 (headers) and 5 (body). */
static void
fetch_args(lua_State *L)
{
	const char *p;
	size_t i, len;

	p = arg_str(L, 1, "http.fetch", "url", &len);
	for (i = 0; i < len && (unsigned char)p[i] > ' ' && p[i] != 0x7f; i++)
		;
	if (len == 0 || len > URL_MAX || i < len)
		bad_arg(L, "http.fetch", "url",
		    "must be 1 to 8192 characters without spaces");
	if (!lua_isnoneornil(L, 2)) {
		arg_table(L, 2, "http.fetch", "opts");
		opts_known(L, 2, "http.fetch", fetch_opts);
	}
	lua_settop(L, 2);
	for (i = 0; i < 3; i++) {
		if (lua_istable(L, 2)) {
			lua_pushstring(L, fetch_opts[i]);
			lua_rawget(L, 2);
		} else
			lua_pushnil(L);
	}
	if (!lua_isnil(L, 3)) {
		p = arg_str(L, 3, "http.fetch", "method", &len);
		for (i = 0; i < len && p[i] >= 'A' && p[i] <= 'Z'; i++)
			;
		if (len == 0 || len > METHOD_MAX || i < len)
			bad_arg(L, "http.fetch", "method",
			    "must be 1 to 16 capital letters");
	}
	if (!lua_isnil(L, 4))
		arg_table(L, 4, "http.fetch", "headers");
	if (!lua_isnil(L, 5))
		arg_str(L, 5, "http.fetch", "body", &len);
}

/* Builds http.fetch's request JSON in s->api.enc from the checked
 * arguments. */
static const char *
fetch_request(lua_State *L)
{
	struct lx_buf *b = &edge_state_of(L)->api.enc;
	const char *p;
	size_t len;

	fetch_args(L);
	lx_buf_reset(b);
	lx_buf_adds(b, "{\"url\":");
	p = lua_tolstring(L, 1, &len);
	edge_json_add_str(b, p, len);
	lx_buf_adds(b, ",\"method\":");
	if (lua_isnil(L, 3))
		lx_buf_adds(b, "\"GET\"");
	else {
		p = lua_tolstring(L, 3, &len);
		edge_json_add_str(b, p, len);
	}
	lx_buf_adds(b, ",\"headers\":");
	if (lua_istable(L, 4))
		fetch_headers(L, 4, b);
	else
		lx_buf_adds(b, "{}");
	lx_buf_adds(b, ",\"body\":");
	if (lua_isnil(L, 5))
		lx_buf_adds(b, "null");
	else {
		p = lua_tolstring(L, 5, &len);
		charge_bytes(L, len);
		edge_json_add_str(b, p, len);
	}
	lx_buf_add(b, "}", 1);
	return (b->data);
}

static int
http_fetch(lua_State *L)
{
	const struct edge_host *h;
	struct edge_state *s = edge_state_of(L);
	struct lx_err err;
	const char *req;
	char *resp = NULL;
	int rc;

	h = host_enter(L, "http.fetch", EDGE_PERM_HTTP_FETCH);
	if (h->ops->http_fetch == NULL)
		unavailable(L, "http.fetch");
	req = fetch_request(L);
	lx_err_clear(&err);
	rc = h->ops->http_fetch(h->ud, req, s->deadline_ns, &resp, &err);
	hold_str(s, resp, 0, 0);
	lx_buf_cleanup(&s->api.enc);
	op_done(L, "http.fetch", rc, &err);
	push_held_json(L, "http.fetch");
	if (!lua_istable(L, -1))
		luaL_error(L, "http.fetch: the host returned no response");
	return (1);
}

static int
jobs_enqueue(lua_State *L)
{
	const struct edge_host *h;
	struct edge_state *s = edge_state_of(L);
	struct lx_err err;
	const char *kind, *json;
	char *id = NULL;
	size_t len;
	int rc;

	h = host_enter(L, "jobs.enqueue", EDGE_PERM_JOBS_ENQUEUE);
	if (h->ops->job_enqueue == NULL)
		unavailable(L, "jobs.enqueue");
	kind = arg_name(L, 1, "jobs.enqueue", "kind", 1);
	arg_table(L, 2, "jobs.enqueue", "payload");
	json = encode_held(L, 2, "jobs.enqueue", &len);
	lx_err_clear(&err);
	rc = h->ops->job_enqueue(h->ud, kind, json, &id, &err);
	hold_str(s, id, 0, 0);
	lx_buf_cleanup(&s->api.enc);
	op_done(L, "jobs.enqueue", rc, &err);
	if (id != NULL)
		lua_pushstring(L, id);
	else
		lua_pushnil(L);
	release_str(s);
	return (1);
}

static int
events_emit(lua_State *L)
{
	const struct edge_host *h;
	struct lx_err err;
	const char *type, *json;
	size_t len;
	int rc;

	h = host_enter(L, "events.emit", EDGE_PERM_EVENTS_EMIT);
	if (h->ops->event_emit == NULL)
		unavailable(L, "events.emit");
	type = arg_name(L, 1, "events.emit", "type", 1);
	arg_table(L, 2, "events.emit", "data");
	json = encode_held(L, 2, "events.emit", &len);
	lx_err_clear(&err);
	rc = h->ops->event_emit(h->ud, type, json, &err);
	lx_buf_cleanup(&edge_state_of(L)->api.enc);
	op_done(L, "events.emit", rc, &err);
	return (0);
}

/* --- the tables ------------------------------------------------------------ */

static const luaL_Reg json_fns[] = { { "encode", json_encode },
	{ "decode", json_decode }, { NULL, NULL } };

static const luaL_Reg crypto_fns[] = { { "random", crypto_random },
	{ "sha256", crypto_sha256 }, { "hmac_sha256", crypto_hmac_sha256 },
	{ "equal", crypto_equal }, { "ed25519_verify", crypto_ed25519_verify },
	{ "hex", crypto_hex }, { "unhex", crypto_unhex },
	{ "base64", crypto_base64 }, { "unbase64", crypto_unbase64 },
	{ "uuid", crypto_uuid }, { NULL, NULL } };

static const luaL_Reg log_fns[] = { { "debug", log_debug },
	{ "info", log_info }, { "warn", log_warn }, { "error", log_error },
	{ NULL, NULL } };

static const luaL_Reg secrets_fns[] = { { "get", secrets_get },
	{ NULL, NULL } };

static const luaL_Reg docs_fns[] = { { "get", docs_get }, { "put", docs_put },
	{ "delete", docs_delete }, { "query", docs_query }, { NULL, NULL } };

static const luaL_Reg http_fns[] = { { "fetch", http_fetch }, { NULL, NULL } };

static const luaL_Reg jobs_fns[] = { { "enqueue", jobs_enqueue },
	{ NULL, NULL } };

static const luaL_Reg events_fns[] = { { "emit", events_emit },
	{ NULL, NULL } };

static const struct {
	const char *name; /* global name */
	const luaL_Reg *fns; /* its functions */
} areas[] = {
	{ "json", json_fns },
	{ "crypto", crypto_fns },
	{ "log", log_fns },
	{ "secrets", secrets_fns },
	{ "docs", docs_fns },
	{ "http", http_fns },
	{ "jobs", jobs_fns },
	{ "events", events_fns },
};

void
edge_lua_open(lua_State *L, int g0)
{
	size_t i;

	g0 = lua_absindex(L, g0);
	for (i = 0; i < LX_NELEM(areas); i++) {
		lua_newtable(L);
		luaL_setfuncs(L, areas[i].fns, 0);
		if (strcmp(areas[i].name, "json") == 0) {
			lua_pushlightuserdata(L, NULL);
			lua_setfield(L, -2, "null");
		}
		edge_make_proxy(L);
		lua_setfield(L, g0, areas[i].name);
	}
}

int
edge_header_name_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0)
		return (0);
	for (i = 0; i < n; i++)
		if (p[i] <= ' ' || p[i] >= 127
		    || strchr("()<>@,;:\\\"/[]?={}", p[i]) != NULL)
			return (0);
	return (1);
}
