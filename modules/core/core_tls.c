/*
 * TLS set-up for the listener. civetweb 1.15 with mbedTLS loads the
 * certificate and the private key from one PEM file (its ssl_certificate
 * option), while operators keep them apart; so the two are checked here
 * with mbedTLS (readable, parseable, matching) for a clear start-up error,
 * then concatenated into an anonymous in-memory file (memfd) that civetweb
 * reads through /proc/self/fd/N: the private key never lands on a disk in
 * a second place.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <sodium.h>

#include "core.h"

/* Reads path into b (NUL-terminated). */
static int
read_file(
    const char *path, const char *what, struct lx_buf *b, struct lx_err *err)
{
	char chunk[4096];
	ssize_t n;
	int fd = -1, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		lx_err_set(err, 500, "tls_file", "cannot read TLS %s %s: %s",
		    what, path, strerror(errno));
		goto out;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			lx_err_set(err, 500, "tls_file",
			    "cannot read TLS %s %s: %s", what, path,
			    strerror(errno));
			goto out;
		}
		lx_buf_add(b, chunk, (size_t)n);
	}
	ret = 0;
out:
	sodium_memzero(chunk, sizeof(chunk));
	if (fd != -1)
		close(fd);
	return (ret);
}

/* Parses and matches certificate and key, for a precise error. */
static int
check_pair(const struct lx_buf *crt_pem, const struct lx_buf *key_pem,
    const char *cert, const char *key, struct lx_err *err)
{
	mbedtls_x509_crt crt;
	mbedtls_pk_context pk;
	int ret = -1;

	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&pk);
	if (crt_pem->data == NULL
	    || mbedtls_x509_crt_parse(
	           &crt, (const unsigned char *)crt_pem->data, crt_pem->len + 1)
	        != 0) {
		lx_err_set(err, 500, "tls_cert",
		    "TLS certificate %s is not a PEM certificate", cert);
		goto out;
	}
	if (key_pem->data == NULL
	    || mbedtls_pk_parse_key(&pk, (const unsigned char *)key_pem->data,
	           key_pem->len + 1, NULL, 0)
	        != 0) {
		lx_err_set(err, 500, "tls_key",
		    "TLS key %s is not an unencrypted PEM private key", key);
		goto out;
	}
	if (mbedtls_pk_check_pair(&crt.pk, &pk) != 0) {
		lx_err_set(err, 500, "tls_mismatch",
		    "TLS key %s does not match certificate %s", key, cert);
		goto out;
	}
	ret = 0;
out:
	mbedtls_pk_free(&pk);
	mbedtls_x509_crt_free(&crt);
	return (ret);
}

static int
write_all(int fd, const char *p, size_t len)
{
	size_t off;
	ssize_t n;

	for (off = 0; off < len; off += (size_t)n) {
		n = write(fd, p + off, len - off);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0)
			return (-1);
	}
	return (0);
}

int
lx_tls_combined_pem(const char *cert, const char *key, int *fdp, char **path,
    struct lx_err *err)
{
	struct lx_buf crt_pem, key_pem;
	int fd = -1, ret = -1;

	*fdp = -1;
	*path = NULL;
	lx_buf_init(&crt_pem);
	lx_buf_init(&key_pem);
	if (read_file(cert, "certificate", &crt_pem, err) == -1
	    || read_file(key, "key", &key_pem, err) == -1)
		goto out;
	if (check_pair(&crt_pem, &key_pem, cert, key, err) == -1)
		goto out;
	if ((fd = memfd_create("luxima-tls", MFD_CLOEXEC)) == -1) {
		lx_err_set(err, 500, "tls_file",
		    "cannot create an in-memory TLS file: %s", strerror(errno));
		goto out;
	}
	/* Key first: civetweb parses the key, then the certificate chain. */
	if (write_all(fd, key_pem.data, key_pem.len) == -1
	    || write_all(fd, "\n", 1) == -1
	    || write_all(fd, crt_pem.data, crt_pem.len) == -1) {
		lx_err_set(err, 500, "tls_file",
		    "cannot write the in-memory TLS file: %s", strerror(errno));
		goto out;
	}
	*path = lx_asprintf("/proc/self/fd/%d", fd);
	*fdp = fd;
	fd = -1;
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	if (key_pem.data != NULL)
		sodium_memzero(key_pem.data, key_pem.cap);
	lx_buf_cleanup(&key_pem);
	lx_buf_cleanup(&crt_pem);
	return (ret);
}
