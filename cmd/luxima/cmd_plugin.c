/*
 * luxima plugin keygen | pack | sign | verify: the publisher's side of
 * plugin bundles (modules/plugins/plugins_bundle.c), offline: no database
 * and no server. keygen makes an Ed25519 key pair, pack bundles a folder's
 * manifest.json with the Lua files its hooks and routes name, sign adds
 * the signature, verify checks a bundle (format, manifest, Lua syntax in
 * the edge sandbox and, given the public key, the signature) and prints
 * what it holds. Exit status: 0 done, 1 failed (one line on stderr per
 * problem), 2 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>
#include <sodium.h>

#include "cli.h"
#include "edge.h"
#include "plugins.h"

static const char usage_text[] =
    "usage: luxima plugin <command> [flags]\n"
    "\n"
    "commands:\n"
    "  keygen --out PREFIX            make a signing key pair: PREFIX.key "
    "(secret,\n"
    "                                 mode 0600) and PREFIX.pub\n"
    "  pack DIR --out FILE [--force]  bundle DIR/manifest.json and the Lua "
    "files\n"
    "                                 its hooks and routes name (unsigned)\n"
    "  sign FILE --key PREFIX.key [--out FILE2] [--force]\n"
    "                                 sign a bundle (in place by default)\n"
    "  verify FILE [--pub PREFIX.pub] check a bundle and its Lua syntax, "
    "print\n"
    "                                 what it holds; with --pub also its "
    "signature\n"
    "\n"
    "Run `luxima plugin <command> --help` for a command's flags.\n";

/* Prints "luxima plugin <cmd>: [<what>: ]<detail>" on stderr. */
static void
report(const char *cmd, const char *what, const struct lx_err *err)
{
	if (what == NULL)
		fprintf(stderr, "luxima plugin %s: %s\n", cmd, err->detail);
	else
		fprintf(stderr, "luxima plugin %s: %s: %s\n", cmd, what,
		    err->detail);
}

/* Reads at most max bytes of path (a larger file reads as max + 1 bytes,
 * for the caller to refuse) into *data (lx_malloc'd, NUL-terminated). */
static int
file_read(
    const char *path, size_t max, char **data, size_t *len, struct lx_err *err)
{
	struct stat st;
	ssize_t r;
	char *p = NULL;
	int fd, ret = -1;

	*data = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (lx_err_set(err, 500, "io_error", "cannot read %s: %s",
		    path, strerror(errno)));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		lx_err_set(
		    err, 400, "io_error", "%s is not a regular file", path);
		goto out;
	}
	p = lx_malloc(max + 2);
	while (*len < max + 1) {
		if ((r = read(fd, p + *len, max + 1 - *len)) == -1) {
			if (errno == EINTR)
				continue;
			lx_err_set(err, 500, "io_error", "cannot read %s: %s",
			    path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		*len += (size_t)r;
	}
	p[*len] = '\0';
	*data = p;
	p = NULL;
	ret = 0;
out:
	lx_free(p);
	close(fd);
	return (ret);
}

/* Writes data to fd and closes it; 0 or -1 (errno set). */
static int
fd_write_close(int fd, const char *data, size_t len)
{
	ssize_t w;
	int e;

	while (len > 0) {
		if ((w = write(fd, data, len)) == -1) {
			if (errno == EINTR)
				continue;
			e = errno;
			close(fd);
			errno = e;
			return (-1);
		}
		data += w;
		len -= (size_t)w;
	}
	if (fsync(fd) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return (-1);
	}
	return (close(fd));
}

/*
 * Writes data to path (mode 0644). Without overwrite an existing path is
 * refused; with it the file is replaced atomically (a temporary file in
 * the same folder, then rename).
 */
static int
file_write(const char *path, const char *data, size_t len, int overwrite,
    struct lx_err *err)
{
	char *tmp = NULL;
	int fd, made = 0, ret = -1;

	if (!overwrite) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd == -1 && errno == EEXIST)
			return (lx_err_set(err, 409, "exists",
			    "%s exists (use --force to overwrite it)", path));
	} else {
		tmp = lx_asprintf("%s.tmp.XXXXXX", path);
		if ((fd = mkstemp(tmp)) != -1)
			made = 1;
		if (fd != -1 && fchmod(fd, 0644) == -1) {
			close(fd);
			fd = -1;
		}
	}
	if (fd == -1 || fd_write_close(fd, data, len) == -1
	    || (tmp != NULL && rename(tmp, path) == -1)) {
		lx_err_set(err, 500, "io_error", "cannot write %s: %s", path,
		    strerror(errno));
		goto out;
	}
	made = 0;
	ret = 0;
out:
	if (made)
		unlink(tmp);
	lx_free(tmp);
	return (ret);
}

/* Parses the flags of one subcommand; returns -1 to go on, else the exit
 * status (0 after --help, 2 after a usage error). */
static int
parse(const char *sub, const char *usage, int argc, char **argv,
    const struct cli_flag *flags, char **pos, int *npos, int want)
{
	struct cli_settings s;
	char cmd[32];
	int rc;

	snprintf(cmd, sizeof(cmd), "plugin %s", sub);
	if ((rc = cli_parse(cmd, usage, argc, argv, flags, &s, pos, npos)) != 0)
		return (rc == 1 ? 0 : 2);
	if (*npos != want) {
		fprintf(stderr, "usage: luxima plugin %s %s\n", sub, usage);
		return (2);
	}
	return (-1);
}

static int
plugin_keygen(int argc, char **argv)
{
	static const struct cli_flag flags[] = {
		{ "out", NULL, NULL, 1,
		    "write PREFIX.key (secret) and PREFIX.pub (required)" },
		{ NULL, NULL, NULL, 0, NULL }
	};
	struct lx_err err;
	const char *out;
	char kid[PLUGINS_KEY_ID_SIZE];
	int npos = 0, rc;

	if ((rc = parse(
	         "keygen", "--out PREFIX", argc, argv, flags, NULL, &npos, 0))
	    != -1)
		return (rc);
	if ((out = cli_value("out")) == NULL || *out == '\0') {
		fprintf(stderr,
		    "luxima plugin keygen: --out PREFIX is "
		    "required\n");
		return (2);
	}
	lx_err_clear(&err);
	if (plugins_keygen(out, kid, &err) == -1) {
		report("keygen", NULL, &err);
		return (1);
	}
	printf("key id      %s\n", kid);
	printf("secret key  %s.key (mode 0600; keep it private)\n", out);
	printf("public key  %s.pub\n", out);
	return (0);
}

/* plugins_read_fn for pack: reads <dir>/<path>. */
static int
pack_read(
    void *ud, const char *path, char **data, size_t *len, struct lx_err *err)
{
	char *full;
	int rc;

	full = lx_asprintf("%s/%s", (const char *)ud, path);
	rc = file_read(full, PLUGINS_FILE_MAX, data, len, err);
	lx_free(full);
	return (rc);
}

static int
plugin_pack(int argc, char **argv)
{
	static const struct cli_flag flags[] = {
		{ "out", NULL, NULL, 1, "the bundle to write (required)" },
		{ "force", NULL, NULL, 0, "overwrite the bundle if it exists" },
		{ NULL, NULL, NULL, 0, NULL }
	};
	struct plugin_bundle *b = NULL;
	struct lx_err err;
	const char *out;
	char *pos[1], *mpath = NULL, *manifest = NULL, *text = NULL;
	char hex[2 * PLUGINS_DIGEST_BYTES + 1];
	size_t mlen, tlen;
	int npos = 1, rc, ret = 1;

	if ((rc = parse("pack", "DIR --out FILE [--force]", argc, argv, flags,
	         pos, &npos, 1))
	    != -1)
		return (rc);
	if ((out = cli_value("out")) == NULL || *out == '\0') {
		fprintf(stderr, "luxima plugin pack: --out FILE is required\n");
		return (2);
	}
	lx_err_clear(&err);
	mpath = lx_asprintf("%s/manifest.json", pos[0]);
	if (file_read(mpath, PLUGINS_BUNDLE_MAX, &manifest, &mlen, &err)
	    == -1) {
		report("pack", NULL, &err);
		goto out;
	}
	if (plugins_bundle_pack(manifest, mlen, pack_read, pos[0], &b, &err)
	    == -1) {
		/* Read errors name their file; the others are the manifest's. */
		report("pack", strcmp(err.code, "io_error") == 0 ? NULL : mpath,
		    &err);
		goto out;
	}
	text = plugins_bundle_serialize(b, &tlen);
	if (file_write(out, text, tlen, cli_value("force") != NULL, &err)
	    == -1) {
		report("pack", NULL, &err);
		goto out;
	}
	sodium_bin2hex(hex, sizeof(hex), b->digest, sizeof(b->digest));
	printf("packed %s %s (%zu files, unsigned) into %s\ndigest %s\n",
	    b->manifest.name, b->manifest.version, b->nfiles, out, hex);
	ret = 0;
out:
	plugins_bundle_free(b);
	lx_free(text);
	lx_free(manifest);
	lx_free(mpath);
	return (ret);
}

/* Reads and parses the bundle at path; reports failures for cmd. */
static struct plugin_bundle *
bundle_load(const char *cmd, const char *path)
{
	struct plugin_bundle *b = NULL;
	struct lx_err err;
	char *data = NULL;
	size_t len;

	lx_err_clear(&err);
	if (file_read(path, PLUGINS_BUNDLE_MAX, &data, &len, &err) == -1)
		report(cmd, NULL, &err);
	else if (plugins_bundle_parse(data, len, &b, &err) == -1)
		report(cmd, path, &err);
	lx_free(data);
	return (b);
}

/* Signs b with the secret key file at path; the key only ever sits in
 * sodium_malloc memory, wiped before returning. */
static int
sign_with(struct plugin_bundle *b, const char *path, struct lx_err *err)
{
	unsigned char *sk;
	int ret = -1;

	if ((sk = sodium_malloc(PLUGINS_SK_BYTES)) == NULL)
		return (
		    lx_err_set(err, 500, "no_memory", "out of secure memory"));
	if (plugins_key_read_secret(path, sk, err) == -1
	    || plugins_bundle_sign(b, sk, err) == -1)
		goto out;
	ret = 0;
out:
	sodium_memzero(sk, PLUGINS_SK_BYTES);
	sodium_free(sk);
	return (ret);
}

static int
plugin_sign(int argc, char **argv)
{
	static const struct cli_flag flags[] = {
		{ "key", NULL, NULL, 1,
		    "the secret key file PREFIX.key (required)" },
		{ "out", NULL, NULL, 1,
		    "write the signed bundle here (default: in place)" },
		{ "force", NULL, NULL, 0, "overwrite --out if it exists" },
		{ NULL, NULL, NULL, 0, NULL }
	};
	struct plugin_bundle *b = NULL;
	struct lx_err err;
	const char *key, *out;
	char *pos[1], *text = NULL;
	size_t tlen;
	int npos = 1, rc, ret = 1;

	if ((rc = parse("sign", "FILE --key PREFIX.key [--out FILE2] [--force]",
	         argc, argv, flags, pos, &npos, 1))
	    != -1)
		return (rc);
	if ((key = cli_value("key")) == NULL || *key == '\0') {
		fprintf(stderr,
		    "luxima plugin sign: --key PREFIX.key is "
		    "required\n");
		return (2);
	}
	if ((out = cli_value("out")) == NULL)
		out = pos[0];
	lx_err_clear(&err);
	if ((b = bundle_load("sign", pos[0])) == NULL)
		goto out;
	if (sign_with(b, key, &err) == -1) {
		report("sign", NULL, &err);
		goto out;
	}
	text = plugins_bundle_serialize(b, &tlen);
	if (file_write(out, text, tlen,
	        out == pos[0] || cli_value("force") != NULL, &err)
	    == -1) {
		report("sign", NULL, &err);
		goto out;
	}
	printf("signed %s %s with key %s into %s\n", b->manifest.name,
	    b->manifest.version, b->key_id, out);
	ret = 0;
out:
	plugins_bundle_free(b);
	lx_free(text);
	return (ret);
}

/* Prints what b holds. */
static void
bundle_print(const struct plugin_bundle *b)
{
	const struct plugin_manifest *m = &b->manifest;
	const struct plugin_config_field *f;
	static const char *const types[] = { "string", "integer", "boolean",
		"number" };
	char hex[2 * PLUGINS_DIGEST_BYTES + 1], *def;
	unsigned bit;
	size_t i, total = 0;
	int n = 0;

	sodium_bin2hex(hex, sizeof(hex), b->digest, sizeof(b->digest));
	printf("name         %s\nversion      %s\npublisher    %s\n", m->name,
	    m->version, m->publisher);
	printf("description  %s\nmin_luxima   %s%s\n", m->description,
	    m->min_luxima,
	    plugins_semver_cmp(m->min_luxima, LUXIMA_VERSION) > 0
	        ? " (newer than this luxima " LUXIMA_VERSION ")"
	        : "");
	printf("digest       %s\nkey id       %s\npermissions  ", hex,
	    b->has_signature ? b->key_id : "(unsigned)");
	for (bit = 1; bit <= EDGE_PERM_ALL; bit <<= 1)
		if (m->perms & bit)
			printf("%s%s", n++ ? ", " : "", edge_perm_name(bit));
	printf("%s\n", n ? "" : "(none)");
	for (i = 0; i < m->nhooks; i++)
		printf("hook         %s -> %s\n",
		    plugins_event_name(m->hooks[i].event), m->hooks[i].file);
	for (i = 0; i < m->nroutes; i++)
		printf("route        %s %s -> %s\n",
		    plugins_method_name(m->routes[i].method), m->routes[i].path,
		    m->routes[i].file);
	for (i = 0; i < m->nconfig; i++) {
		f = &m->config[i];
		def = f->def ? cJSON_PrintUnformatted(f->def) : NULL;
		printf("config       %s (%s, %s%s%s)\n", f->name,
		    types[f->type], f->required ? "required" : "optional",
		    def ? ", default " : "", def ? def : "");
		cJSON_free(def);
	}
	for (i = 0; i < b->nfiles; i++)
		total += b->files[i].len;
	printf("files        %zu (%zu bytes)\n", b->nfiles, total);
}

/* Compiles every file of b in the edge sandbox; reports each syntax
 * error. Returns the number of files that failed. */
static int
bundle_compile(const char *path, const struct plugin_bundle *b)
{
	struct edge_state *st;
	struct edge_chunk *chunk;
	struct lx_err err;
	char what[512];
	size_t i;
	int bad = 0;

	st = edge_state_create(NULL);
	for (i = 0; i < b->nfiles; i++) {
		lx_err_clear(&err);
		if (edge_compile(st, b->files[i].path, b->files[i].data,
		        b->files[i].len, &chunk, &err)
		    == -1) {
			snprintf(what, sizeof(what), "%s: %s", path,
			    b->files[i].path);
			report("verify", what, &err);
			bad++;
		}
	}
	edge_state_free(st);
	return (bad);
}

static int
plugin_verify(int argc, char **argv)
{
	static const struct cli_flag flags[] = {
		{ "pub", NULL, NULL, 1,
		    "check the signature against this public key file" },
		{ NULL, NULL, NULL, 0, NULL }
	};
	struct plugin_bundle *b = NULL;
	struct lx_err err;
	const char *pub;
	unsigned char pk[PLUGINS_PK_BYTES];
	char *pos[1];
	int npos = 1, rc, ret = 1;

	if ((rc = parse("verify", "FILE [--pub PREFIX.pub]", argc, argv, flags,
	         pos, &npos, 1))
	    != -1)
		return (rc);
	lx_err_clear(&err);
	if ((b = bundle_load("verify", pos[0])) == NULL)
		goto out;
	bundle_print(b);
	if ((pub = cli_value("pub")) != NULL) {
		if (plugins_key_read_public(pub, pk, &err) == -1) {
			report("verify", NULL, &err);
			goto out;
		}
		if (plugins_bundle_verify(b, pk, &err) == -1) {
			report("verify", pos[0], &err);
			goto out;
		}
	}
	if (bundle_compile(pos[0], b) > 0)
		goto out;
	printf("lua          %zu files compile\nsignature    %s\n", b->nfiles,
	    pub != NULL ? "valid"
	                : "not checked (give --pub PREFIX.pub to check it)");
	ret = 0;
out:
	plugins_bundle_free(b);
	return (ret);
}

int
cmd_plugin(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} subs[] = {
		{ "keygen", plugin_keygen },
		{ "pack", plugin_pack },
		{ "sign", plugin_sign },
		{ "verify", plugin_verify },
	};
	size_t i;

	if (argc < 1) {
		fputs(usage_text, stderr);
		return (2);
	}
	if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0
	    || strcmp(argv[0], "help") == 0) {
		fputs(usage_text, stdout);
		return (0);
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "luxima plugin: libsodium failed to start\n");
		return (1);
	}
	for (i = 0; i < LX_NELEM(subs); i++)
		if (strcmp(argv[0], subs[i].name) == 0)
			return (subs[i].fn(argc - 1, argv + 1));
	fprintf(stderr, "luxima plugin: unknown command '%s'\n\n", argv[0]);
	fputs(usage_text, stderr);
	return (2);
}
