/*
 * zmqperf: the libzmq perf end of mqwire's bench/perfpeer. One binary for
 * every role; its command line and output follow the contract written in
 * bench/perfpeer's package comment:
 *
 *   zmqperf [-curve] [-pattern P] local_thr|remote_thr|local_lat|remote_lat <url> <size> <count>
 *   zmqperf [-pattern P] inproc_thr|inproc_lat <size> <count>
 *
 * -curve: the binding end is a CURVE server and the connecting end its
 * client, with the fixed key pairs below (bench/perfpeer has the same).
 *
 * -pattern: push (PUSH/PULL, default), pair (PAIR) or pub (PUB/SUB, empty
 * subscription) for throughput; reqrep (REQ/REP, default) or pair for
 * latency. Sockets keep libzmq's defaults, as its own perf tools do: high-
 * water marks of 1000 messages and an infinite linger, so zmq_ctx_term
 * returns only once every queued message is handed over. remote_thr also
 * waits (at most 10 s) for the receiver to disconnect before closing, and a
 * publisher for its handshake before sending: see wait_event.
 *
 * Build: gcc -O2 -o zmqperf zmqperf.c $(pkg-config --cflags --libs libzmq) -lpthread
 */
#include <errno.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static const char *pattern = NULL;
static int curve = 0;

/* The key pairs of -curve, in Z85: made for benchmarks and published here,
 * so secret from nobody. */
static const char curve_server_public[] = "G4FRl0QELd06YOX^cZ%8SFXHpB9#ODWPK7OHvF>4";
static const char curve_server_secret[] = "!^C:t9]I?!)$i+$U8)/l2{f&RrRk?<O7+e-1nO0S";
static const char curve_client_public[] = "28okAfHHOGzWc[BpeBkwR3r6kahhf3-e>rw)4Q*f";
static const char curve_client_secret[] = "S>VLdi(>r6G0VPEXoxMkSzXTy<c0Dm%iX=Co]dy+";

static void die(const char *what)
{
	fprintf(stderr, "zmqperf: %s: %s\n", what, zmq_strerror(zmq_errno()));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr,
	    "usage: zmqperf [-curve] [-pattern push|pair|pub|reqrep] "
	    "local_thr|remote_thr|local_lat|remote_lat <url> <size> <count>\n"
	    "       zmqperf [-pattern ...] inproc_thr|inproc_lat <size> <count>\n");
	exit(2);
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

/* sock_type returns the libzmq socket type of one side of the pattern. */
static int sock_type(int sending)
{
	if (strcmp(pattern, "push") == 0)
		return sending ? ZMQ_PUSH : ZMQ_PULL;
	if (strcmp(pattern, "pub") == 0)
		return sending ? ZMQ_PUB : ZMQ_SUB;
	if (strcmp(pattern, "pair") == 0)
		return ZMQ_PAIR;
	return sending ? ZMQ_REQ : ZMQ_REP; /* reqrep */
}

static void *open_socket(void *ctx, int type)
{
	void *s = zmq_socket(ctx, type);
	if (s == NULL)
		die("zmq_socket");
	if (type == ZMQ_SUB && zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0) != 0)
		die("zmq_setsockopt SUBSCRIBE");
	return s;
}

/* curve_client makes s a CURVE client of the server's key, under -curve. */
static void curve_client(void *s)
{
	if (curve && (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, curve_server_public, 40) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, curve_client_public, 40) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, curve_client_secret, 40) != 0))
		die("zmq_setsockopt CURVE client");
}

static void *bind_socket(void *ctx, int type, const char *url)
{
	void *s = open_socket(ctx, type);
	int one = 1;
	if (curve && (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, curve_server_secret, 40) != 0))
		die("zmq_setsockopt CURVE server");
	if (zmq_bind(s, url) != 0)
		die("zmq_bind");
	return s;
}

/* connect_socket connects; libzmq connects in the background and retries
 * until the other end listens. */
static void *connect_socket(void *ctx, int type, const char *url)
{
	void *s = open_socket(ctx, type);
	curve_client(s);
	if (zmq_connect(s, url) != 0)
		die("zmq_connect");
	return s;
}

/* recv_one receives a message of size bytes into m; 0 when a receive
 * timeout set on s ends first, else 1. */
static int recv_one(void *s, zmq_msg_t *m, size_t size)
{
	if (zmq_msg_recv(m, s, 0) < 0) {
		if (zmq_errno() == EAGAIN)
			return 0;
		die("zmq_msg_recv");
	}
	if (zmq_msg_size(m) != size || zmq_msg_more(m)) {
		fprintf(stderr, "zmqperf: message of %zu bytes%s, want %zu\n",
		    zmq_msg_size(m), zmq_msg_more(m) ? " (and more frames)" : "", size);
		exit(1);
	}
	return 1;
}

/* local_thr receives count messages on the bound socket s and prints the
 * throughput from the first message's arrival to the last's. A PUB drops
 * what has no room, so a pub run ends once nothing has come for a second
 * after the first message (bench/perfpeer's contract) and says how many
 * were lost. */
static void local_thr(void *s, size_t size, int count)
{
	zmq_msg_t m;
	double start = 0, last = 0, elapsed;
	int n;
	int pub = strcmp(pattern, "pub") == 0, timeout = 1000;

	zmq_msg_init(&m);
	for (n = 0; n < count; n++) {
		if (!recv_one(s, &m, size))
			break;
		if (n == 0) {
			start = now_us();
			if (pub && zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout) != 0)
				die("zmq_setsockopt");
		}
		if (pub)
			last = now_us();
	}
	elapsed = (pub ? last : now_us()) - start;
	zmq_msg_close(&m);
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

/* watch starts a monitor of s's handshakes and disconnections and returns
 * the socket that receives its events. */
static void *watch(void *ctx, void *s)
{
	char url[64];
	void *mon;

	snprintf(url, sizeof url, "inproc://zmqperf-monitor-%d", (int) getpid());
	if (zmq_socket_monitor(s, url, ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED) != 0)
		die("zmq_socket_monitor");
	mon = zmq_socket(ctx, ZMQ_PAIR);
	if (mon == NULL || zmq_connect(mon, url) != 0)
		die("monitor socket");
	return mon;
}

/* wait_event waits until the monitor reports event, for at most 10 s.
 *
 * The publisher waits for its handshake (then for the subscription to
 * travel) before sending; remote_lat waits for it before starting its
 * clock. Every sender waits for the receiver to disconnect
 * before closing: a receiver over ipc whose high-water mark is reached when
 * the sender closes drops the connection with messages still unread in the
 * socket buffer. */
static void wait_event(void *mon, int event)
{
	zmq_pollitem_t item = {mon, 0, ZMQ_POLLIN, 0};
	zmq_msg_t m;
	double until = now_us() + 10e6;
	int got, first;

	zmq_msg_init(&m);
	while (now_us() < until) {
		if (zmq_poll(&item, 1, 100) <= 0)
			continue;
		/* An event is two frames: a 16-bit id and a 32-bit value, then
		 * the address. */
		got = 0;
		first = 1;
		do {
			if (zmq_msg_recv(&m, mon, 0) < 0)
				die("monitor recv");
			if (first && zmq_msg_size(&m) >= 2) {
				uint16_t id;
				memcpy(&id, zmq_msg_data(&m), 2);
				got = id;
			}
			first = 0;
		} while (zmq_msg_more(&m));
		if (got == event)
			break;
	}
	zmq_msg_close(&m);
}

static void remote_thr(void *s, void *mon, size_t size, int count)
{
	zmq_msg_t m;
	int i;

	if (strcmp(pattern, "pub") == 0) {
		if (mon != NULL)
			wait_event(mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
		usleep(500000); /* let the subscription arrive */
	}
	for (i = 0; i < count; i++) {
		if (zmq_msg_init_size(&m, size) != 0)
			die("zmq_msg_init_size");
		memset(zmq_msg_data(&m), 'x', size);
		if (zmq_msg_send(&m, s, 0) < 0)
			die("zmq_msg_send");
	}
}

static void local_lat(void *s, size_t size, int count)
{
	zmq_msg_t m;
	int i;

	zmq_msg_init(&m);
	for (i = 0; i < count; i++) {
		recv_one(s, &m, size);
		if (zmq_msg_send(&m, s, 0) < 0) /* the message goes back as it came */
			die("zmq_msg_send");
	}
	zmq_msg_close(&m);
}

static void remote_lat(void *s, size_t size, int count)
{
	zmq_msg_t m;
	double start, elapsed;
	int i;

	if (zmq_msg_init_size(&m, size) != 0)
		die("zmq_msg_init_size");
	memset(zmq_msg_data(&m), 'x', size);
	start = now_us();
	for (i = 0; i < count; i++) {
		if (zmq_msg_send(&m, s, 0) < 0)
			die("zmq_msg_send");
		recv_one(s, &m, size); /* the reply is the next request */
	}
	elapsed = now_us() - start;
	zmq_msg_close(&m);
	printf("message size: %d [B]\n", (int) size);
	printf("roundtrip count: %d\n", count);
	printf("average latency: %.3f [us]\n", elapsed / (2.0 * count));
}

struct remote_args {
	void *ctx;
	const char *url;
	size_t size;
	int count;
	int lat;
};

/* remote_thread runs the connecting end of the inproc roles. */
static void *remote_thread(void *p)
{
	struct remote_args *a = p;
	void *s = connect_socket(a->ctx, sock_type(1), a->url);
	if (a->lat)
		remote_lat(s, a->size, a->count);
	else
		remote_thr(s, NULL, a->size, a->count);
	zmq_close(s);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *role, *url = NULL;
	char inproc_url[64];
	void *ctx, *s, *mon;
	long size, count;
	int i = 1, lat;

	while (i < argc && argv[i][0] == '-') {
		const char *f = argv[i] + (argv[i][1] == '-' ? 2 : 1);
		if (strcmp(f, "curve") == 0) {
			curve = 1;
			i++;
		} else if (strcmp(f, "pattern") == 0 && i + 1 < argc) {
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
		snprintf(inproc_url, sizeof inproc_url, "inproc://zmqperf-%d", (int) getpid());
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
		fprintf(stderr, "zmqperf: -pattern %s does not apply to %s\n", pattern, role);
		exit(2);
	}

	ctx = zmq_ctx_new();
	if (ctx == NULL)
		die("zmq_ctx_new");
	if (strncmp(role, "local_", 6) == 0) {
		s = bind_socket(ctx, sock_type(0), url);
		if (lat)
			local_lat(s, size, count);
		else
			local_thr(s, size, count);
	} else if (strncmp(role, "remote_", 7) == 0) {
		s = open_socket(ctx, sock_type(1));
		curve_client(s);
		mon = watch(ctx, s);
		if (zmq_connect(s, url) != 0)
			die("zmq_connect");
		if (lat) {
			/* The clock starts once connected: a connect that waits
			 * out a reconnect interval would count in the latency. */
			wait_event(mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
			remote_lat(s, size, count);
		} else {
			remote_thr(s, mon, size, count);
			wait_event(mon, ZMQ_EVENT_DISCONNECTED);
		}
		zmq_socket_monitor(s, NULL, 0);
		zmq_close(mon);
	} else {
		struct remote_args a = {ctx, url, size, count, lat};
		pthread_t t;
		s = bind_socket(ctx, sock_type(0), url);
		if (pthread_create(&t, NULL, remote_thread, &a) != 0) {
			fprintf(stderr, "zmqperf: pthread_create failed\n");
			return 1;
		}
		if (lat)
			local_lat(s, size, count);
		else
			local_thr(s, size, count);
		pthread_join(t, NULL);
	}
	fflush(stdout);
	zmq_close(s);
	/* The default linger is infinite: this waits until all is sent. */
	if (zmq_ctx_term(ctx) != 0)
		die("zmq_ctx_term");
	return 0;
}
