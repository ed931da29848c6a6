/*
 * peer.h: the command loop shared by the interop test peers (nngpeer.c and
 * nnpeer.c). A peer opens one socket, dials or listens, prints "ready" and
 * then obeys one command per line on standard input, answering with one line
 * on standard output:
 *
 *   send [HEX]   send a message (HEX-encoded body; empty when omitted)
 *                -> "ok" or "err REASON"
 *   recv MS      receive a message, waiting at most MS milliseconds
 *                -> "msg HEX", "timeout" or "err REASON"
 *   sub HEX      subscribe to a prefix (sub0 only) -> "ok" or "err REASON"
 *   sendtimeout MS
 *                set how long send waits (5000 ms to begin with)
 *                -> "ok" or "err REASON"
 *   quit         close the socket and exit
 *
 * End of input is the same as quit. A peer exits by itself after a minute,
 * so a test that dies never leaves one behind for long.
 *
 * The file that includes this one defines peer_send, peer_recv (whose
 * buffer goes back through peer_free), peer_subscribe and
 * peer_send_timeout, each returning 0, PEER_TIMEOUT or an error code for
 * peer_error.
 */
#ifndef PEER_H
#define PEER_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PEER_TIMEOUT (-1)
#define PEER_LIFETIME 60 /* seconds */

static int peer_send(const unsigned char *buf, size_t len);
static int peer_recv(int ms, unsigned char **buf, size_t *len);
static void peer_free(unsigned char *buf, size_t len);
static int peer_subscribe(const unsigned char *buf, size_t len);
static int peer_send_timeout(int ms);
static const char *peer_error(int rv);

static void
say(const char *fmt, const char *arg)
{
	printf(fmt, arg);
	fputc('\n', stdout);
	fflush(stdout);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* unhex decodes s in place and returns the number of bytes, or -1. */
static long
unhex(char *s)
{
	size_t n = strlen(s);
	size_t i;
	if (n % 2 != 0) {
		return -1;
	}
	for (i = 0; i < n / 2; i++) {
		int hi = hexval((unsigned char) s[2 * i]);
		int lo = hexval((unsigned char) s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			return -1;
		}
		s[i] = (char) (hi << 4 | lo);
	}
	return (long) (n / 2);
}

static void
print_msg(const unsigned char *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;
	fputs("msg ", stdout);
	for (i = 0; i < len; i++) {
		fputc(digits[buf[i] >> 4], stdout);
		fputc(digits[buf[i] & 0xf], stdout);
	}
	fputc('\n', stdout);
	fflush(stdout);
}

/* run_commands obeys standard input until quit or end of input. */
static void
run_commands(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		char *arg;
		int rv;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
			line[--n] = '\0';
		}
		arg = strchr(line, ' ');
		if (arg != NULL) {
			*arg++ = '\0';
		} else {
			arg = line + n;
		}
		if (strcmp(line, "quit") == 0) {
			break;
		} else if (strcmp(line, "send") == 0 || strcmp(line, "sub") == 0) {
			long len = unhex(arg);
			if (len < 0) {
				say("err bad hex", NULL);
				continue;
			}
			if (line[1] == 'e') {
				rv = peer_send((unsigned char *) arg, (size_t) len);
			} else {
				rv = peer_subscribe((unsigned char *) arg, (size_t) len);
			}
			if (rv == 0) {
				say("ok", NULL);
			} else {
				say("err %s", peer_error(rv));
			}
		} else if (strcmp(line, "sendtimeout") == 0) {
			rv = peer_send_timeout(atoi(arg));
			if (rv == 0) {
				say("ok", NULL);
			} else {
				say("err %s", peer_error(rv));
			}
		} else if (strcmp(line, "recv") == 0) {
			unsigned char *buf = NULL;
			size_t len = 0;
			rv = peer_recv(atoi(arg), &buf, &len);
			if (rv == 0) {
				print_msg(buf, len);
				peer_free(buf, len);
			} else if (rv == PEER_TIMEOUT) {
				say("timeout", NULL);
			} else {
				say("err %s", peer_error(rv));
			}
		} else {
			say("err unknown command %s", line);
		}
	}
	free(line);
}

/* peer_start arms the lifetime alarm and makes stdout line-buffered. */
static void
peer_start(void)
{
	signal(SIGPIPE, SIG_IGN);
	alarm(PEER_LIFETIME);
	setvbuf(stdout, NULL, _IOLBF, 0);
}

#endif /* PEER_H */
