/*
 * Where the database key comes from, in order: the file named by
 * LUXIMA_DB_KEY_FILE, systemd's $CREDENTIALS_DIRECTORY/db.key, the
 * LUXIMA_DB_KEY variable, then <data>/luxima.key, which is generated (256
 * random bits, mode 0600, written atomically) for a new database with a
 * warning that the key sits beside the data. Never from the command line.
 * 64 hex digits are a raw key; anything else is a passphrase that SQLCipher
 * stretches. Key material lives in sodium_malloc memory and is wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "db_int.h"

#define KEY_FILE_MAX 4096
#define RAW_KEY_BYTES 32

static int
is_hex64(const unsigned char *p, size_t n)
{
	size_t i;

	if (n != 2 * RAW_KEY_BYTES)
		return (0);
	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9')
		        || (p[i] >= 'a' && p[i] <= 'f')
		        || (p[i] >= 'A' && p[i] <= 'F')))
			return (0);
	return (1);
}

/*
 * Turns the secret text src[0..n) (trailing white space ignored) into the
 * key as SQLCipher takes it. Returns 0, or -1 with err if it is empty.
 */
static int
key_from_text(const unsigned char *src, size_t n, const char *from,
    const char *db_path, unsigned char **key, size_t *keylen,
    struct lx_err *err)
{
	unsigned char *k;

	while (n > 0
	    && (src[n - 1] == '\n' || src[n - 1] == '\r' || src[n - 1] == ' '
	        || src[n - 1] == '\t'))
		n--;
	if (n == 0)
		return (lx_err_set(err, 503, "db_key_missing",
		    "cannot open %s: the database key in %s is empty", db_path,
		    from));
	if (is_hex64(src, n)) {
		if ((k = sodium_malloc(n + 3)) == NULL)
			abort();
		k[0] = 'x';
		k[1] = '\'';
		memcpy(k + 2, src, n);
		k[n + 2] = '\'';
		*keylen = n + 3;
	} else {
		if ((k = sodium_malloc(n)) == NULL)
			abort();
		memcpy(k, src, n);
		*keylen = n;
	}
	*key = k;
	return (0);
}

/*
 * Reads the key file path. Returns 0 with the key, 1 if it does not exist
 * and missing_ok, or -1 with err (unreadable, empty, too large).
 */
static int
key_from_file(const char *path, int missing_ok, const char *db_path,
    unsigned char **key, size_t *keylen, struct lx_err *err)
{
	unsigned char *buf = NULL;
	struct stat sb;
	ssize_t n;
	size_t len = 0;
	int fd = -1, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1
	    && errno == ELOOP)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		if (missing_ok && errno == ENOENT) {
			ret = 1;
			goto out;
		}
		lx_err_set(err, 503, "db_key_unreadable",
		    "cannot open %s: cannot read key file %s: %s", db_path,
		    path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)
	    || sb.st_size > KEY_FILE_MAX) {
		lx_err_set(err, 503, "db_key_unreadable",
		    "cannot open %s: key file %s is not a regular file of at "
		    "most %d bytes",
		    db_path, path, KEY_FILE_MAX);
		goto out;
	}
	if ((buf = sodium_malloc(KEY_FILE_MAX)) == NULL)
		abort();
	while (len < KEY_FILE_MAX) {
		n = read(fd, buf + len, KEY_FILE_MAX - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			lx_err_set(err, 503, "db_key_unreadable",
			    "cannot open %s: cannot read key file %s: %s",
			    db_path, path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (key_from_text(buf, len, path, db_path, key, keylen, err) == -1)
		goto out;
	if ((sb.st_mode & 077) != 0)
		lx_log(LX_LOG_WARN,
		    "key file %s is readable by other users; chmod 600 it",
		    path);
	ret = 0;
out:
	if (buf != NULL) {
		sodium_memzero(buf, KEY_FILE_MAX);
		sodium_free(buf);
	}
	if (fd != -1)
		close(fd);
	return (ret);
}

static int
write_all(int fd, const void *p, size_t n)
{
	const char *q = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, q, n)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		q += w;
		n -= (size_t)w;
	}
	return (0);
}

/*
 * Writes a fresh random key to path atomically: a private temporary file,
 * fsync, link(2) into place (so a concurrent first start keeps whichever key
 * won), fsync of the folder. Returns 0, or -1 with err.
 */
static int
key_generate(
    const char *dir, const char *path, const char *db_path, struct lx_err *err)
{
	unsigned char *raw = NULL;
	char *hex = NULL, *tmp = NULL;
	int fd = -1, dfd = -1, ret = -1;

	if ((raw = sodium_malloc(RAW_KEY_BYTES)) == NULL
	    || (hex = sodium_malloc(2 * RAW_KEY_BYTES + 2)) == NULL)
		abort();
	randombytes_buf(raw, RAW_KEY_BYTES);
	sodium_bin2hex(hex, 2 * RAW_KEY_BYTES + 1, raw, RAW_KEY_BYTES);
	hex[2 * RAW_KEY_BYTES] = '\n';
	hex[2 * RAW_KEY_BYTES + 1] = '\0';

	tmp = lx_asprintf("%s/.luxima.key.%ld", dir, (long)getpid());
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 || write_all(fd, hex, 2 * RAW_KEY_BYTES + 1) == -1
	    || fsync(fd) == -1) {
		lx_err_set(err, 503, "db_key_unreadable",
		    "cannot create %s: cannot write key file %s: %s", db_path,
		    path, strerror(errno));
		goto out;
	}
	if (link(tmp, path) == -1 && errno != EEXIST) {
		lx_err_set(err, 503, "db_key_unreadable",
		    "cannot create %s: cannot write key file %s: %s", db_path,
		    path, strerror(errno));
		goto out;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1)
		(void)fsync(dfd);
	lx_log(LX_LOG_WARN,
	    "generated a new database key in %s: the key sits beside the "
	    "data it protects; move it to LUXIMA_DB_KEY_FILE or systemd "
	    "credentials (db.key) for real protection at rest",
	    path);
	ret = 0;
out:
	if (fd != -1) {
		close(fd);
		(void)unlink(tmp);
	}
	if (dfd != -1)
		close(dfd);
	lx_free(tmp);
	sodium_free(raw);
	sodium_free(hex);
	return (ret);
}

int
lx_dbkey_load(const char *dir, const char *db_path, int may_generate,
    unsigned char **key, size_t *keylen, struct lx_err *err)
{
	const char *v;
	char *path = NULL;
	int r, ret = -1;

	*key = NULL;
	*keylen = 0;
	if ((v = getenv("LUXIMA_DB_KEY_FILE")) != NULL && *v != '\0') {
		ret = key_from_file(v, 0, db_path, key, keylen, err);
		goto out;
	}
	if ((v = getenv("CREDENTIALS_DIRECTORY")) != NULL && *v != '\0') {
		path = lx_asprintf("%s/db.key", v);
		if ((r = key_from_file(path, 1, db_path, key, keylen, err))
		    != 1) {
			ret = r;
			goto out;
		}
		lx_free(path);
		path = NULL;
	}
	if ((v = getenv("LUXIMA_DB_KEY")) != NULL) {
		ret = key_from_text((const unsigned char *)v, strlen(v),
		    "LUXIMA_DB_KEY", db_path, key, keylen, err);
		goto out;
	}
	path = lx_asprintf("%s/luxima.key", dir);
	if ((r = key_from_file(path, 1, db_path, key, keylen, err)) != 1) {
		ret = r;
		goto out;
	}
	if (!may_generate) {
		lx_err_set(err, 503, "db_key_missing",
		    "cannot open %s: no database key (set LUXIMA_DB_KEY_FILE, "
		    "$CREDENTIALS_DIRECTORY/db.key or LUXIMA_DB_KEY, or "
		    "restore %s)",
		    db_path, path);
		goto out;
	}
	if (key_generate(dir, path, db_path, err) == -1)
		goto out;
	ret = key_from_file(path, 0, db_path, key, keylen, err);
out:
	lx_free(path);
	return (ret);
}
