/*
 * libFuzzer target for the plugin bundle parser (modules/plugins/
 * plugins_bundle.c), which reads what publishers upload. Any input must be
 * refused with a 400 and a known code, or parse into a bundle whose
 * canonical serialization parses again to the same digest, manifest,
 * files and signature and serializes to the same bytes. A parsed
 * manifest's default config must validate or miss a required field, and
 * its versions must compare consistently.
 */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "plugins.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_refusal(const struct lx_err *err)
{
	static const char *const codes[] = { "invalid_bundle",
		"invalid_manifest", "missing_file", "unused_file",
		"too_large" };
	size_t i;

	if (err->status != 400)
		abort();
	for (i = 0; i < LX_NELEM(codes); i++)
		if (strcmp(err->code, codes[i]) == 0)
			return;
	abort();
}

/* b and c must hold the same manifest, files and signature. */
static void
check_same(const struct plugin_bundle *b, const struct plugin_bundle *c)
{
	size_t i;

	if (memcmp(b->digest, c->digest, sizeof(b->digest)) != 0
	    || strcmp(b->manifest_json, c->manifest_json) != 0
	    || b->nfiles != c->nfiles || b->has_signature != c->has_signature
	    || b->manifest.perms != c->manifest.perms
	    || b->manifest.nhooks != c->manifest.nhooks
	    || b->manifest.nroutes != c->manifest.nroutes
	    || b->manifest.nconfig != c->manifest.nconfig)
		abort();
	for (i = 0; i < b->nfiles; i++)
		if (strcmp(b->files[i].path, c->files[i].path) != 0
		    || b->files[i].len != c->files[i].len
		    || memcmp(
		           b->files[i].data, c->files[i].data, b->files[i].len)
		        != 0)
			abort();
	if (b->has_signature
	    && (strcmp(b->key_id, c->key_id) != 0
	        || memcmp(b->sig, c->sig, sizeof(b->sig)) != 0))
		abort();
}

static void
check_manifest(const struct plugin_manifest *m)
{
	struct lx_err err;
	cJSON *j;
	char *json;

	if (plugins_semver_cmp(m->version, m->version) != 0
	    || plugins_semver_cmp(m->min_luxima, m->version)
	        != -plugins_semver_cmp(m->version, m->min_luxima))
		abort();
	if (plugins_config_validate(m, NULL, &json, &err) == -1) {
		if (strcmp(err.code, "missing_field") != 0)
			abort();
		return;
	}
	if ((j = cJSON_Parse(json)) == NULL || !cJSON_IsObject(j))
		abort();
	cJSON_Delete(j);
	lx_free(json);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plugin_bundle *b = NULL, *c = NULL;
	struct lx_err err;
	char *s1, *s2;
	size_t n1, n2;

	if (plugins_bundle_parse((const char *)data, size, &b, &err) == -1) {
		if (b != NULL)
			abort();
		check_refusal(&err);
		return (0);
	}
	s1 = plugins_bundle_serialize(b, &n1);
	if (n1 > size || plugins_bundle_parse(s1, n1, &c, &err) == -1)
		abort();
	check_same(b, c);
	s2 = plugins_bundle_serialize(c, &n2);
	if (n1 != n2 || memcmp(s1, s2, n1) != 0)
		abort();
	check_manifest(&b->manifest);
	lx_free(s1);
	lx_free(s2);
	plugins_bundle_free(b);
	plugins_bundle_free(c);
	return (0);
}
