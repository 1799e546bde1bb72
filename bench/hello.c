/*
 * The baseline for bench/run.sh: a bare civetweb server, built from the same
 * civetweb as luxima and configured the same way (tcp_nodelay, keep-alive,
 * one write per response), answering every request with a small JSON body.
 * Luxima's GET /healthz is measured against it.
 *
 *   bench_hello 127.0.0.1:18081 [threads]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <civetweb.h>

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
hello(struct mg_connection *conn, void *arg)
{
	static const char body[] = "{\"status\":\"ok\"}";
	char buf[256];
	int n;

	(void)arg;
	n = snprintf(buf, sizeof(buf),
	    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: keep-alive\r\n\r\n%s",
	    sizeof(body) - 1, body);
	mg_write(conn, buf, (size_t)n);
	return (200);
}

int
main(int argc, char **argv)
{
	const char *options[] = { "listening_ports", NULL, "num_threads", "8",
		"enable_keep_alive", "yes", "tcp_nodelay", "1",
		"keep_alive_timeout_ms", "5000", NULL };
	struct mg_callbacks cb;
	struct mg_context *ctx;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_hello ADDR:PORT [threads]\n");
		return (2);
	}
	options[1] = argv[1];
	if (argc > 2)
		options[3] = argv[2];
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	mg_init_library(0);
	memset(&cb, 0, sizeof(cb));
	if ((ctx = mg_start(&cb, NULL, options)) == NULL) {
		fprintf(stderr, "bench_hello: cannot listen on %s\n", argv[1]);
		return (1);
	}
	mg_set_request_handler(ctx, "/", hello, NULL);
	printf("bench_hello: serving on http://%s\n", argv[1]);
	fflush(stdout);
	while (!stop)
		pause();
	mg_stop(ctx);
	mg_exit_library();
	return (0);
}
