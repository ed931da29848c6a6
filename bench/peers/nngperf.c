/*
 * nngperf: the nng perf end of mqwire's bench/perfpeer. One binary for
 * every role; its command line and output follow the contract written in
 * bench/perfpeer's package comment:
 *
 *   nngperf [-pattern P] local_thr|remote_thr|local_lat|remote_lat <url> <size> <count>
 *   (with a tls+tcp:// url, the listener serves the certificate below; the
 *   dialer does not check it: what is measured starts after the handshake)
 *   nngperf [-pattern P] inproc_thr|inproc_lat <size> <count>
 *
 * -pattern: push (push0/pull0, default), pair (pair0) or pub (pub0/sub0,
 * empty subscription) for throughput; reqrep (req0/rep0, default) or pair
 * (pair0) for latency. Sockets keep nng's defaults except pub0's send and
 * sub0's receive buffers, raised to 1000 messages (libzmq's high-water
 * mark) since nng drops beyond them.
 *
 * nng has no linger: closing a socket drops what is still being written. A
 * sending end therefore waits, after its last message, until the other end
 * has closed the connection (it does once it has everything), for at most
 * 10 s.
 *
 * Build: gcc -O2 -o nngperf nngperf.c -lnng -lpthread
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pair0/pair.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

static const char *pattern = NULL;

/* The listener's certificate and key on tls+tcp (self-signed, made for
 * benchmarks and published here and in bench/cmd/mqperf, so secret from
 * nobody). */
static const char bench_cert[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBqDCCAU2gAwIBAgIBATAKBggqhkjOPQQDAjAcMRowGAYDVQQDExFtcXdpcmUg\n"
    "YmVuY2htYXJrczAgFw0yNjAxMDEwMDAwMDBaGA8yMTI2MDEwMTAwMDAwMFowHDEa\n"
    "MBgGA1UEAxMRbXF3aXJlIGJlbmNobWFya3MwWTATBgcqhkjOPQIBBggqhkjOPQMB\n"
    "BwNCAARuyF/H4VgzwaMUy4jsinj95et2aXvLfr4Oy3cyLFVRbymddGJvRgzBpRiy\n"
    "qJi8dUzMS26RaZc9dG3lYJgFQfwTo34wfDAOBgNVHQ8BAf8EBAMCAoQwEwYDVR0l\n"
    "BAwwCgYIKwYBBQUHAwEwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUgQHz8boQ\n"
    "5N8BEXa2vAwJgcy7AQYwJQYDVR0RBB4wHIIJbG9jYWxob3N0ggkxMjcuMC4wLjGH\n"
    "BH8AAAEwCgYIKoZIzj0EAwIDSQAwRgIhAL34J4Dv+nKFk2wCGZIY4o1E3NpmVGH4\n"
    "sDcpYHeAsDJjAiEAu+wcJyr7gn+k0B/F6q/XraQqrRDwBKJYpuIpof+3kJQ=\n"
    "-----END CERTIFICATE-----\n";
static const char bench_key[] =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHcCAQEEILnLUCaQYnCXw4yBlgte/8UqCAXFn7KKF9ppS4YJVG0IoAoGCCqGSM49\n"
    "AwEHoUQDQgAEbshfx+FYM8GjFMuI7Ip4/eXrdml7y36+Dst3MixVUW8pnXRib0YM\n"
    "waUYsqiYvHVMzEtukWmXPXRt5WCYBUH8Ew==\n"
    "-----END EC PRIVATE KEY-----\n";

static int is_tls(const char *url) { return strncmp(url, "tls+", 4) == 0; }

static void die(const char *what, int rv)
{
	fprintf(stderr, "nngperf: %s: %s\n", what, nng_strerror(rv));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr,
	    "usage: nngperf [-pattern push|pair|pub|reqrep] "
	    "local_thr|remote_thr|local_lat|remote_lat <url> <size> <count>\n"
	    "       nngperf [-pattern ...] inproc_thr|inproc_lat <size> <count>\n");
	exit(2);
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

/* peer is one socket and a count of its connected pipes, kept by a pipe
 * event callback, so that an end can wait for the other to go. */
struct peer {
	nng_socket s;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int pipes;
};

static void pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct peer *pp = arg;
	(void) p;
	pthread_mutex_lock(&pp->mu);
	if (ev == NNG_PIPE_EV_ADD_POST)
		pp->pipes++;
	else if (ev == NNG_PIPE_EV_REM_POST)
		pp->pipes--;
	pthread_cond_broadcast(&pp->cv);
	pthread_mutex_unlock(&pp->mu);
}

/* wait_pipes waits until the socket has (connected != 0) or has not
 * (connected == 0) a pipe, for at most secs seconds. */
static void wait_pipes(struct peer *pp, int connected, int secs)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += secs;
	pthread_mutex_lock(&pp->mu);
	while ((pp->pipes > 0) != connected) {
		if (pthread_cond_timedwait(&pp->cv, &pp->mu, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&pp->mu);
}

static void open_peer(struct peer *pp, int sending)
{
	int rv;
	pthread_mutex_init(&pp->mu, NULL);
	pthread_cond_init(&pp->cv, NULL);
	pp->pipes = 0;
	if (strcmp(pattern, "push") == 0)
		rv = sending ? nng_push0_open(&pp->s) : nng_pull0_open(&pp->s);
	else if (strcmp(pattern, "pub") == 0)
		rv = sending ? nng_pub0_open(&pp->s) : nng_sub0_open(&pp->s);
	else if (strcmp(pattern, "pair") == 0)
		rv = nng_pair0_open(&pp->s);
	else
		rv = sending ? nng_req0_open(&pp->s) : nng_rep0_open(&pp->s);
	if (rv != 0)
		die("open", rv);
	/* No receive limit, as libzmq's default: nng's 1 MiB default counts
	 * the protocol header, so 1 MiB requests would be refused. */
	if ((rv = nng_socket_set_size(pp->s, NNG_OPT_RECVMAXSZ, 0)) != 0)
		die("nng_socket_set_size", rv);
	if (strcmp(pattern, "pub") == 0) {
		if (sending)
			rv = nng_socket_set_int(pp->s, NNG_OPT_SENDBUF, 1000);
		else if ((rv = nng_socket_set(pp->s, NNG_OPT_SUB_SUBSCRIBE, "", 0)) == 0)
			rv = nng_socket_set_int(pp->s, NNG_OPT_RECVBUF, 1000);
		if (rv != 0)
			die("nng_socket_set", rv);
	}
	if ((rv = nng_pipe_notify(pp->s, NNG_PIPE_EV_ADD_POST, pipe_event, pp)) != 0 ||
	    (rv = nng_pipe_notify(pp->s, NNG_PIPE_EV_REM_POST, pipe_event, pp)) != 0)
		die("nng_pipe_notify", rv);
}

static void listen_peer(struct peer *pp, int sending, const char *url)
{
	int rv;
	open_peer(pp, sending);
	if (is_tls(url)) {
		nng_listener l;
		nng_tls_config *cfg;
		if ((rv = nng_listener_create(&l, pp->s, url)) != 0 ||
		    (rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_SERVER)) != 0 ||
		    (rv = nng_tls_config_own_cert(cfg, bench_cert, bench_key, NULL)) != 0 ||
		    (rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg)) != 0 ||
		    (rv = nng_listener_start(l, 0)) != 0)
			die("nng_listen (tls)", rv);
		nng_tls_config_free(cfg);
		return;
	}
	if ((rv = nng_listen(pp->s, url, NULL, 0)) != 0)
		die("nng_listen", rv);
}

/* dial_peer dials without blocking: nng keeps retrying in the background
 * until the other end listens. */
static void dial_peer(struct peer *pp, const char *url)
{
	int rv;
	open_peer(pp, 1);
	if (is_tls(url)) {
		nng_dialer d;
		nng_tls_config *cfg;
		if ((rv = nng_dialer_create(&d, pp->s, url)) != 0 ||
		    (rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT)) != 0 ||
		    (rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_NONE)) != 0 ||
		    (rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg)) != 0 ||
		    (rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK)) != 0)
			die("nng_dial (tls)", rv);
		nng_tls_config_free(cfg);
		return;
	}
	if ((rv = nng_dial(pp->s, url, NULL, NNG_FLAG_NONBLOCK)) != 0)
		die("nng_dial", rv);
}

/* recv_one receives a message of size bytes; NULL when a receive timeout
 * set on s ends first. */
static nng_msg *recv_one(nng_socket s, size_t size)
{
	nng_msg *m;
	int rv;
	if ((rv = nng_recvmsg(s, &m, 0)) == NNG_ETIMEDOUT)
		return NULL;
	if (rv != 0)
		die("nng_recvmsg", rv);
	if (nng_msg_len(m) != size) {
		fprintf(stderr, "nngperf: message of %zu bytes, want %zu\n", nng_msg_len(m), size);
		exit(1);
	}
	return m;
}

/* local_thr receives count messages and prints the throughput from the
 * first message's arrival to the last's. pub0 and sub0 drop what has no
 * room, so a pub run ends once nothing has come for a second after the
 * first message (bench/perfpeer's contract) and says how many were lost. */
static void local_thr(struct peer *pp, size_t size, int count)
{
	double start = 0, last = 0, elapsed;
	int n, rv;
	int pub = strcmp(pattern, "pub") == 0;

	for (n = 0; n < count; n++) {
		nng_msg *m = recv_one(pp->s, size);
		if (m == NULL)
			break;
		nng_msg_free(m);
		if (n == 0) {
			start = now_us();
			if (pub && (rv = nng_socket_set_ms(pp->s, NNG_OPT_RECVTIMEO, 1000)) != 0)
				die("nng_socket_set_ms", rv);
		}
		if (pub)
			last = now_us();
	}
	elapsed = (pub ? last : now_us()) - start;
	if (elapsed <= 0)
		elapsed = 1;
	double thr = (double) n * 1e6 / elapsed;
	printf("message size: %d [B]\n", (int) size);
	printf("message count: %d\n", n);
	printf("mean throughput: %d [msg/s]\n", (int) thr);
	printf("mean throughput: %.3f [Mb/s]\n", thr * (double) size * 8 / 1e6);
	if (n < count)
		printf("messages lost: %d of %d\n", count - n, count);
}

static void remote_thr(struct peer *pp, size_t size, int count)
{
	nng_msg *m;
	int i, rv;

	if (strcmp(pattern, "pub") == 0) {
		/* pub0 drops while nobody listens: wait for the subscriber. */
		wait_pipes(pp, 1, 10);
		usleep(500000);
	}
	for (i = 0; i < count; i++) {
		if ((rv = nng_msg_alloc(&m, size)) != 0)
			die("nng_msg_alloc", rv);
		memset(nng_msg_body(m), 'x', size);
		if ((rv = nng_sendmsg(pp->s, m, 0)) != 0)
			die("nng_sendmsg", rv);
	}
	wait_pipes(pp, 0, 10); /* no linger in nng: wait for the receiver to go */
}

static void local_lat(struct peer *pp, size_t size, int count)
{
	int i, rv;
	for (i = 0; i < count; i++) {
		nng_msg *m = recv_one(pp->s, size);
		if ((rv = nng_sendmsg(pp->s, m, 0)) != 0) /* back as it came */
			die("nng_sendmsg", rv);
	}
	wait_pipes(pp, 0, 10); /* the last reply must get out before close */
}

static void remote_lat(struct peer *pp, size_t size, int count)
{
	nng_msg *m;
	double start, elapsed;
	int i, rv;

	if ((rv = nng_msg_alloc(&m, size)) != 0)
		die("nng_msg_alloc", rv);
	memset(nng_msg_body(m), 'x', size);
	/* The clock starts once connected: a dial that waits out a retry
	 * would count in the latency. */
	wait_pipes(pp, 1, 10);
	start = now_us();
	for (i = 0; i < count; i++) {
		if ((rv = nng_sendmsg(pp->s, m, 0)) != 0)
			die("nng_sendmsg", rv);
		m = recv_one(pp->s, size); /* the reply is the next request */
	}
	elapsed = now_us() - start;
	nng_msg_free(m);
	printf("message size: %d [B]\n", (int) size);
	printf("roundtrip count: %d\n", count);
	printf("average latency: %.3f [us]\n", elapsed / (2.0 * count));
}

struct remote_args {
	const char *url;
	size_t size;
	int count;
	int lat;
};

/* remote_thread runs the dialing end of the inproc roles. */
static void *remote_thread(void *p)
{
	struct remote_args *a = p;
	struct peer pp;
	dial_peer(&pp, a->url);
	if (a->lat)
		remote_lat(&pp, a->size, a->count);
	else
		remote_thr(&pp, a->size, a->count);
	nng_close(pp.s);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *role, *url = NULL;
	char inproc_url[64];
	struct peer pp;
	long size, count;
	int i = 1, lat;

	while (i < argc && argv[i][0] == '-') {
		const char *f = argv[i] + (argv[i][1] == '-' ? 2 : 1);
		if (strcmp(f, "pattern") == 0 && i + 1 < argc) {
			pattern = argv[i + 1];
			i += 2;
		} else if (strncmp(f, "pattern=", 8) == 0) {
			pattern = f + 8;
			i++;
		} else {
			usage();
		}
	}
	if (i >= argc)
		usage();
	role = argv[i++];
	lat = strstr(role, "_lat") != NULL;
	if (strcmp(role, "inproc_thr") == 0 || strcmp(role, "inproc_lat") == 0) {
		if (argc - i != 2)
			usage();
		snprintf(inproc_url, sizeof inproc_url, "inproc://nngperf-%d", (int) getpid());
		url = inproc_url;
	} else if (strcmp(role, "local_thr") == 0 || strcmp(role, "remote_thr") == 0 ||
	    strcmp(role, "local_lat") == 0 || strcmp(role, "remote_lat") == 0) {
		if (argc - i != 3)
			usage();
		url = argv[i++];
	} else {
		usage();
	}
	size = atol(argv[i]);
	count = atol(argv[i + 1]);
	if (size < 0 || count < 1)
		usage();
	if (pattern == NULL)
		pattern = lat ? "reqrep" : "push";
	if (lat ? (strcmp(pattern, "reqrep") != 0 && strcmp(pattern, "pair") != 0)
	        : (strcmp(pattern, "push") != 0 && strcmp(pattern, "pair") != 0 &&
	              strcmp(pattern, "pub") != 0)) {
		fprintf(stderr, "nngperf: -pattern %s does not apply to %s\n", pattern, role);
		exit(2);
	}

	if (strncmp(role, "local_", 6) == 0) {
		listen_peer(&pp, 0, url);
		if (lat)
			local_lat(&pp, size, count);
		else
			local_thr(&pp, size, count);
	} else if (strncmp(role, "remote_", 7) == 0) {
		dial_peer(&pp, url);
		if (lat)
			remote_lat(&pp, size, count);
		else
			remote_thr(&pp, size, count);
	} else {
		struct remote_args a = {url, size, count, lat};
		pthread_t t;
		listen_peer(&pp, 0, url);
		if (pthread_create(&t, NULL, remote_thread, &a) != 0) {
			fprintf(stderr, "nngperf: pthread_create failed\n");
			return 1;
		}
		if (lat)
			local_lat(&pp, size, count);
		else
			local_thr(&pp, size, count);
		/* Close first: the sending thread waits for this end to go. */
		nng_close(pp.s);
		pthread_join(t, NULL);
		fflush(stdout);
		return 0;
	}
	fflush(stdout);
	nng_close(pp.s);
	return 0;
}
