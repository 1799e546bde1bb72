/*
 * Signing keys of plugin publishers: the key id of a public key and the
 * key files `luxima plugin keygen` writes and `sign`/`verify` read:
 * "<prefix>.pub" holds "luxima-ed25519-public <base64 of 32 bytes>\n",
 * "<prefix>.key" (mode 0600) "luxima-ed25519-secret <base64 of the 64-byte
 * libsodium secret key>\n". Secret key bytes only ever sit in
 * sodium_malloc memory and are wiped on every path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "plugins_int.h"

#define KEYFILE_MAX 256 /* bytes of a key file */
#define PUB_TAG "luxima-ed25519-public "
#define SEC_TAG "luxima-ed25519-secret "
#define B64 sodium_base64_VARIANT_ORIGINAL

/* sodium_malloc that aborts on failure, like lx_malloc. */
static void *
secure_alloc(size_t n)
{
	void *p;

	if (sodium_init() < 0 || (p = sodium_malloc(n)) == NULL) {
		fprintf(stderr, "luxima: out of secure memory\n");
		abort();
	}
	return (p);
}
/* Wipes and frees n bytes of sodium_malloc memory at p. Accepts NULL. */
static void
secure_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	sodium_memzero(p, n);
	sodium_free(p);
}

int
plugins_key_id(
    const unsigned char pk[PLUGINS_PK_BYTES], char out[PLUGINS_KEY_ID_SIZE])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, pk, PLUGINS_PK_BYTES);
	sodium_bin2hex(out, PLUGINS_KEY_ID_SIZE, h, 8);
	return (0);
}

/* Reads path (at most size - 1 bytes) into buf; *len the bytes read;
 * *mode the file's mode bits. 400 "invalid_key" when it is larger or not
 * a regular file, 500 "io_error" when it cannot be read. */
static int
key_file_read(const char *path, char *buf, size_t size, size_t *len,
    mode_t *mode, struct lx_err *err)
{
	struct stat st;
	ssize_t r;
	int fd, ret = -1;

	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (plugins_fail(
		    err, 500, "io_error", path, "%s", strerror(errno)));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		plugins_fail(
		    err, 400, "invalid_key", path, "is not a regular file");
		goto out;
	}
	*mode = st.st_mode;
	while (*len < size) {
		if ((r = read(fd, buf + *len, size - *len)) == -1) {
			if (errno == EINTR)
				continue;
			plugins_fail(
			    err, 500, "io_error", path, "%s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		*len += (size_t)r;
	}
	if (*len == size) {
		plugins_fail(
		    err, 400, "invalid_key", path, "is too large for a key");
		goto out;
	}
	ret = 0;
out:
	close(fd);
	return (ret);
}

/* Decodes "<tag><base64 of want bytes>" with an optional "\n" (the whole
 * of buf[0..n)) into out. 0 or -1. */
static int
key_line_decode(
    const char *buf, size_t n, const char *tag, unsigned char *out, size_t want)
{
	size_t tl = strlen(tag), bl, dl;

	if (n < tl || memcmp(buf, tag, tl) != 0)
		return (-1);
	bl = n - tl;
	if (bl > 0 && buf[n - 1] == '\n')
		bl--;
	if (bl != sodium_base64_ENCODED_LEN(want, B64) - 1)
		return (-1);
	if (sodium_base642bin(out, want, buf + tl, bl, NULL, &dl, NULL, B64)
	        != 0
	    || dl != want)
		return (-1);
	return (0);
}

int
plugins_key_read_public(
    const char *path, unsigned char pk[PLUGINS_PK_BYTES], struct lx_err *err)
{
	char buf[KEYFILE_MAX];
	size_t n;
	mode_t mode;

	if (key_file_read(path, buf, sizeof(buf), &n, &mode, err) == -1)
		return (-1);
	if (key_line_decode(buf, n, PUB_TAG, pk, PLUGINS_PK_BYTES) == -1)
		return (plugins_fail(err, 400, "invalid_key", path,
		    "is not a luxima public key file (\"" PUB_TAG
		    "<base64>\")"));
	return (0);
}

int
plugins_key_read_secret(const char *path, unsigned char *sk, struct lx_err *err)
{
	unsigned char *chk = NULL, pk[PLUGINS_PK_BYTES];
	char *buf = NULL;
	size_t n;
	mode_t mode;
	int ret = -1;

	buf = secure_alloc(KEYFILE_MAX);
	chk = secure_alloc(PLUGINS_SK_BYTES);
	if (key_file_read(path, buf, KEYFILE_MAX, &n, &mode, err) == -1)
		goto out;
	if (n >= strlen(PUB_TAG)
	    && memcmp(buf, PUB_TAG, strlen(PUB_TAG)) == 0) {
		plugins_fail(err, 400, "invalid_key", path,
		    "is a public key file; signing needs the secret key file "
		    "(PREFIX.key)");
		goto out;
	}
	if (mode & 077) {
		plugins_fail(err, 400, "invalid_key", path,
		    "may be read or written by others (chmod 600 it)");
		goto out;
	}
	if (key_line_decode(buf, n, SEC_TAG, sk, PLUGINS_SK_BYTES) == -1) {
		plugins_fail(err, 400, "invalid_key", path,
		    "is not a luxima secret key file");
		goto out;
	}
	/* sk is seed || public key: the halves must agree. */
	crypto_sign_seed_keypair(pk, chk, sk);
	if (sodium_memcmp(chk, sk, PLUGINS_SK_BYTES) != 0) {
		plugins_fail(err, 400, "invalid_key", path,
		    "is corrupt (its public half does not match its seed)");
		goto out;
	}
	ret = 0;
out:
	if (ret == -1)
		sodium_memzero(sk, PLUGINS_SK_BYTES);
	secure_free(buf, KEYFILE_MAX);
	secure_free(chk, PLUGINS_SK_BYTES);
	return (ret);
}

/* Writes all of p (n bytes) to fd and closes it; 0 or -1 (errno set). */
static int
write_close(int fd, const char *p, size_t n)
{
	ssize_t w;
	int e;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			e = errno;
			close(fd);
			errno = e;
			return (-1);
		}
		p += w;
		n -= (size_t)w;
	}
	if (fsync(fd) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return (-1);
	}
	return (close(fd));
}

/* Creates path exclusively with mode; 409 "key_exists" if it exists. */
static int
key_create(const char *path, mode_t mode, struct lx_err *err)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode))
	    == -1) {
		if (errno == EEXIST)
			return (plugins_fail(err, 409, "key_exists", path,
			    "already exists (refusing to overwrite)"));
		return (plugins_fail(
		    err, 500, "io_error", path, "%s", strerror(errno)));
	}
	return (fd);
}

int
plugins_keygen(
    const char *prefix, char key_id[PLUGINS_KEY_ID_SIZE], struct lx_err *err)
{
	unsigned char pk[PLUGINS_PK_BYTES], *sk = NULL;
	char *kpath, *ppath, *line = NULL, pub[128];
	size_t tl = strlen(SEC_TAG);
	int kfd = -1, pfd = -1, made = 0, rc, ret = -1;

	kpath = lx_asprintf("%s.key", prefix);
	ppath = lx_asprintf("%s.pub", prefix);
	sk = secure_alloc(PLUGINS_SK_BYTES);
	line = secure_alloc(KEYFILE_MAX);
	if ((kfd = key_create(kpath, 0600, err)) == -1)
		goto out;
	made |= 1;
	if ((pfd = key_create(ppath, 0644, err)) == -1)
		goto out;
	made |= 2;
	crypto_sign_keypair(pk, sk);
	memcpy(line, SEC_TAG, tl);
	sodium_bin2base64(
	    line + tl, KEYFILE_MAX - tl, sk, PLUGINS_SK_BYTES, B64);
	strcat(line, "\n");
	memcpy(pub, PUB_TAG, strlen(PUB_TAG));
	sodium_bin2base64(pub + strlen(PUB_TAG), sizeof(pub) - strlen(PUB_TAG),
	    pk, sizeof(pk), B64);
	strcat(pub, "\n");
	rc = write_close(kfd, line, strlen(line));
	kfd = -1;
	if (rc == 0) {
		rc = write_close(pfd, pub, strlen(pub));
		pfd = -1;
	}
	if (rc == -1) {
		plugins_fail(err, 500, "io_error", prefix,
		    "cannot write the keys: %s", strerror(errno));
		goto out;
	}
	plugins_key_id(pk, key_id);
	ret = 0;
out:
	if (kfd != -1)
		close(kfd);
	if (pfd != -1)
		close(pfd);
	if (ret == -1 && (made & 1))
		unlink(kpath);
	if (ret == -1 && (made & 2))
		unlink(ppath);
	secure_free(sk, PLUGINS_SK_BYTES);
	secure_free(line, KEYFILE_MAX);
	lx_free(kpath);
	lx_free(ppath);
	return (ret);
}
