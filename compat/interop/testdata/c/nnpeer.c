/*
 * nnpeer: a nanomsg (1.1) peer for mqwire's interop tests.
 *
 *   nnpeer PROTO dial|listen URL         cooked socket, commands on stdin
 *   nnpeer raw PROTO dial|listen URL     the same with a raw socket
 *   nnpeer device PROTO-A URL-A PROTO-B URL-B
 *       two raw sockets, each listening, joined by nn_device until
 *       standard input ends
 *
 * PROTO is one of req0 rep0 pub0 sub0 push0 pull0 pair0 bus0 surveyor0
 * respondent0 (nanomsg has no pair1). See peer.h for the commands.
 */
#include <errno.h>
#include <pthread.h>

#include <nanomsg/bus.h>
#include <nanomsg/nn.h>
#include <nanomsg/pair.h>
#include <nanomsg/pipeline.h>
#include <nanomsg/pubsub.h>
#include <nanomsg/reqrep.h>
#include <nanomsg/survey.h>

#include "peer.h"

struct proto {
	const char *name;
	int         type;
};

static const struct proto protos[] = {
	{ "req0", NN_REQ },
	{ "rep0", NN_REP },
	{ "pub0", NN_PUB },
	{ "sub0", NN_SUB },
	{ "push0", NN_PUSH },
	{ "pull0", NN_PULL },
	{ "pair0", NN_PAIR },
	{ "bus0", NN_BUS },
	{ "surveyor0", NN_SURVEYOR },
	{ "respondent0", NN_RESPONDENT },
	{ NULL, 0 },
};

static int sock;

static int
peer_send(const unsigned char *buf, size_t len)
{
	if (nn_send(sock, buf, len, 0) < 0) {
		return errno;
	}
	return 0;
}

static int
peer_recv(int ms, unsigned char **buf, size_t *len)
{
	void *msg = NULL;
	int   n;
	if (nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVTIMEO, &ms, sizeof(ms)) < 0) {
		return errno;
	}
	n = nn_recv(sock, &msg, NN_MSG, 0);
	if (n < 0) {
		return errno == ETIMEDOUT ? PEER_TIMEOUT : errno;
	}
	*buf = msg;
	*len = (size_t) n;
	return 0;
}

static void
peer_free(unsigned char *buf, size_t len)
{
	(void) len;
	nn_freemsg(buf);
}

static int
peer_subscribe(const unsigned char *buf, size_t len)
{
	if (nn_setsockopt(sock, NN_SUB, NN_SUB_SUBSCRIBE, buf, len) < 0) {
		return errno;
	}
	return 0;
}

static int
peer_send_timeout(int ms)
{
	if (nn_setsockopt(sock, NN_SOL_SOCKET, NN_SNDTIMEO, &ms, sizeof(ms)) < 0) {
		return errno;
	}
	return 0;
}

static const char *
peer_error(int rv)
{
	return nn_strerror(rv);
}

static void
fail(const char *what)
{
	printf("err %s: %s\n", what, nn_strerror(errno));
	fflush(stdout);
	exit(1);
}

static int
open_socket(const char *name, int raw)
{
	const struct proto *p;
	int s, ms;
	for (p = protos; p->name != NULL; p++) {
		if (strcmp(p->name, name) == 0) {
			break;
		}
	}
	if (p->name == NULL) {
		printf("err unknown protocol %s\n", name);
		exit(2);
	}
	if ((s = nn_socket(raw ? AF_SP_RAW : AF_SP, p->type)) < 0) {
		fail("socket");
	}
	ms = 5000;
	if (nn_setsockopt(s, NN_SOL_SOCKET, NN_SNDTIMEO, &ms, sizeof(ms)) < 0) {
		fail("setsockopt");
	}
	ms = 10;
	if (nn_setsockopt(s, NN_SOL_SOCKET, NN_RECONNECT_IVL, &ms, sizeof(ms)) < 0) {
		fail("setsockopt");
	}
	ms = 100;
	if (nn_setsockopt(s, NN_SOL_SOCKET, NN_RECONNECT_IVL_MAX, &ms, sizeof(ms)) < 0) {
		fail("setsockopt");
	}
	/* nanomsg refuses messages above 1 MiB (nng 1.5 has no limit), and
	 * TestWSLargeMessage sends more: no limit, as with nng. */
	ms = -1;
	if (nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVMAXSIZE, &ms, sizeof(ms)) < 0) {
		fail("setsockopt");
	}
	if (!raw && p->type == NN_SURVEYOR) {
		ms = 3000;
		if (nn_setsockopt(s, NN_SURVEYOR, NN_SURVEYOR_DEADLINE, &ms, sizeof(ms)) < 0) {
			fail("setsockopt");
		}
	}
	return s;
}

static int dev_a, dev_b;

static void *
device_thread(void *arg)
{
	(void) arg;
	nn_device(dev_a, dev_b);
	return NULL;
}

static int
run_device(char **argv)
{
	pthread_t th;
	char      buf[256];

	dev_a = open_socket(argv[0], 1);
	dev_b = open_socket(argv[2], 1);
	if (nn_bind(dev_a, argv[1]) < 0 || nn_bind(dev_b, argv[3]) < 0) {
		fail("listen");
	}
	if (pthread_create(&th, NULL, device_thread, NULL) != 0) {
		fail("thread");
	}
	say("ready", NULL);
	while (fgets(buf, sizeof(buf), stdin) != NULL &&
	    strncmp(buf, "quit", 4) != 0) {
	}
	/* nn_term makes nn_device return. */
	nn_term();
	pthread_join(th, NULL);
	return 0;
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
	if (argc != 3) {
		fprintf(stderr, "usage: nnpeer [raw] PROTO dial|listen URL\n"
		                "       nnpeer device PROTO URL PROTO URL\n");
		return 2;
	}
	sock = open_socket(argv[0], raw);
	if (strcmp(argv[1], "dial") == 0) {
		rv = nn_connect(sock, argv[2]);
	} else {
		rv = nn_bind(sock, argv[2]);
	}
	if (rv < 0) {
		fail(argv[1]);
	}
	say("ready", NULL);
	run_commands();
	nn_close(sock);
	return 0;
}
