/*
 * nngpeer: an nng (1.5) peer for mqwire's interop tests.
 *
 *   nngpeer PROTO dial|listen URL         cooked socket, commands on stdin
 *   nngpeer raw PROTO dial|listen URL     the same with a raw socket
 *   nngpeer device PROTO-A URL-A PROTO-B URL-B
 *       two raw sockets, each listening, joined by nng_device until
 *       standard input ends
 *
 * PROTO is one of req0 rep0 pub0 sub0 push0 pull0 pair0 pair1 bus0
 * surveyor0 respondent0. See peer.h for the commands.
 */
#include <pthread.h>

#include <nng/nng.h>
#include <nng/protocol/bus0/bus.h>
#include <nng/protocol/pair0/pair.h>
#include <nng/protocol/pair1/pair.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/protocol/survey0/respond.h>
#include <nng/protocol/survey0/survey.h>

#include "peer.h"

struct proto {
	const char *name;
	int (*open)(nng_socket *);
	int (*open_raw)(nng_socket *);
};

static const struct proto protos[] = {
	{ "req0", nng_req0_open, nng_req0_open_raw },
	{ "rep0", nng_rep0_open, nng_rep0_open_raw },
	{ "pub0", nng_pub0_open, nng_pub0_open_raw },
	{ "sub0", nng_sub0_open, nng_sub0_open_raw },
	{ "push0", nng_push0_open, nng_push0_open_raw },
	{ "pull0", nng_pull0_open, nng_pull0_open_raw },
	{ "pair0", nng_pair0_open, nng_pair0_open_raw },
	{ "pair1", nng_pair1_open, nng_pair1_open_raw },
	{ "bus0", nng_bus0_open, nng_bus0_open_raw },
	{ "surveyor0", nng_surveyor0_open, nng_surveyor0_open_raw },
	{ "respondent0", nng_respondent0_open, nng_respondent0_open_raw },
	{ NULL, NULL, NULL },
};

static nng_socket sock;

static int
peer_send(const unsigned char *buf, size_t len)
{
	return nng_send(sock, (void *) buf, len, 0);
}

static int
peer_recv(int ms, unsigned char **buf, size_t *len)
{
	int rv = nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, ms);
	if (rv != 0) {
		return rv;
	}
	rv = nng_recv(sock, buf, len, NNG_FLAG_ALLOC);
	if (rv == NNG_ETIMEDOUT) {
		return PEER_TIMEOUT;
	}
	return rv;
}

static void
peer_free(unsigned char *buf, size_t len)
{
	nng_free(buf, len);
}

static int
peer_subscribe(const unsigned char *buf, size_t len)
{
	return nng_socket_set(sock, NNG_OPT_SUB_SUBSCRIBE, buf, len);
}

static int
peer_send_timeout(int ms)
{
	return nng_socket_set_ms(sock, NNG_OPT_SENDTIMEO, ms);
}

static const char *
peer_error(int rv)
{
	return nng_strerror(rv);
}

static void
fail(const char *what, int rv)
{
	printf("err %s: %s\n", what, nng_strerror(rv));
	fflush(stdout);
	exit(1);
}

static int
open_socket(const char *name, int raw, nng_socket *s)
{
	const struct proto *p;
	for (p = protos; p->name != NULL; p++) {
		if (strcmp(p->name, name) == 0) {
			return raw ? p->open_raw(s) : p->open(s);
		}
	}
	printf("err unknown protocol %s\n", name);
	exit(2);
}

static void
setup(nng_socket s)
{
	int rv;
	if ((rv = nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 5000)) != 0 ||
	    (rv = nng_socket_set_ms(s, NNG_OPT_RECONNMINT, 10)) != 0 ||
	    (rv = nng_socket_set_ms(s, NNG_OPT_RECONNMAXT, 100)) != 0) {
		fail("setsockopt", rv);
	}
}

static nng_socket dev_a, dev_b;

static void *
device_thread(void *arg)
{
	(void) arg;
	nng_device(dev_a, dev_b);
	return NULL;
}

static int
run_device(char **argv)
{
	pthread_t th;
	int rv;
	char buf[256];

	if ((rv = open_socket(argv[0], 1, &dev_a)) != 0 ||
	    (rv = open_socket(argv[2], 1, &dev_b)) != 0) {
		fail("open", rv);
	}
	if ((rv = nng_listen(dev_a, argv[1], NULL, 0)) != 0 ||
	    (rv = nng_listen(dev_b, argv[3], NULL, 0)) != 0) {
		fail("listen", rv);
	}
	if (pthread_create(&th, NULL, device_thread, NULL) != 0) {
		fail("thread", NNG_ENOMEM);
	}
	say("ready", NULL);
	while (fgets(buf, sizeof(buf), stdin) != NULL &&
	    strncmp(buf, "quit", 4) != 0) {
	}
	nng_close(dev_a);
	nng_close(dev_b);
	pthread_join(th, NULL);
	return 0;
}

static int    wsframes;
static size_t ws_send, ws_recv;

/* start_with_frames dials or listens on url with the ws frame limits set
 * on the endpoint, as nng takes them. */
static int
start_with_frames(const char *how, const char *url)
{
	int rv;
	if (strcmp(how, "dial") == 0) {
		nng_dialer d;
		if ((rv = nng_dialer_create(&d, sock, url)) != 0 ||
		    (rv = nng_dialer_set_size(d, NNG_OPT_WS_SENDMAXFRAME, ws_send)) != 0 ||
		    (rv = nng_dialer_set_size(d, NNG_OPT_WS_RECVMAXFRAME, ws_recv)) != 0) {
			return rv;
		}
		return nng_dialer_start(d, NNG_FLAG_NONBLOCK);
	}
	nng_listener l;
	if ((rv = nng_listener_create(&l, sock, url)) != 0 ||
	    (rv = nng_listener_set_size(l, NNG_OPT_WS_SENDMAXFRAME, ws_send)) != 0 ||
	    (rv = nng_listener_set_size(l, NNG_OPT_WS_RECVMAXFRAME, ws_recv)) != 0) {
		return rv;
	}
	return nng_listener_start(l, 0);
}

int
main(int argc, char **argv)
{
	int raw = 0;
	int rv;

	peer_start();
	argv++;
	argc--;
	if (argc == 5 && strcmp(argv[0], "device") == 0) {
		return run_device(argv + 1);
	}
	if (argc > 0 && strcmp(argv[0], "raw") == 0) {
		raw = 1;
		argv++;
		argc--;
	}
	/* wsframes=SEND:RECV sets the endpoint's NNG_OPT_WS_SENDMAXFRAME and
	 * NNG_OPT_WS_RECVMAXFRAME. */
	if (argc > 0 && sscanf(argv[0], "wsframes=%zu:%zu", &ws_send, &ws_recv) == 2) {
		wsframes = 1;
		argv++;
		argc--;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: nngpeer [raw] [wsframes=SEND:RECV] PROTO dial|listen URL\n"
		                "       nngpeer device PROTO URL PROTO URL\n");
		return 2;
	}
	if ((rv = open_socket(argv[0], raw, &sock)) != 0) {
		fail("open", rv);
	}
	setup(sock);
	if (strcmp(argv[0], "surveyor0") == 0 &&
	    (rv = nng_socket_set_ms(sock, NNG_OPT_SURVEYOR_SURVEYTIME, 3000)) != 0) {
		fail("surveytime", rv);
	}
	/* pub0 and bus0 queue 16 messages per pipe and then drop the oldest;
	 * the tests send bursts, so make room. */
	if ((strcmp(argv[0], "pub0") == 0 || strcmp(argv[0], "bus0") == 0) &&
	    (rv = nng_socket_set_int(sock, NNG_OPT_SENDBUF, 1024)) != 0) {
		fprintf(stderr, "nngpeer: %s: send buffer: %s\n", argv[0], nng_strerror(rv));
	}
	if (wsframes) {
		rv = start_with_frames(argv[1], argv[2]);
	} else if (strcmp(argv[1], "dial") == 0) {
		rv = nng_dial(sock, argv[2], NULL, NNG_FLAG_NONBLOCK);
	} else {
		rv = nng_listen(sock, argv[2], NULL, 0);
	}
	if (rv != 0) {
		fail(argv[1], rv);
	}
	say("ready", NULL);
	run_commands();
	nng_close(sock);
	return 0;
}
