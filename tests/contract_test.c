/*
 * contract_test.c - the rules every transport keeps, written once and run
 * against each row of contract_urls.h: round trip and boundaries, the
 * maximum + 1 refused, timeouts, peer gone, a buffer too small, cleanup.
 * The peer is always a separate process; the redis row's server is one
 * too, started by the first test of a process that reaches the row.
 */
#include "contract_urls.h"
#include "../bench/urltmpl.h"
#include "helpers.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CT_WAIT 10000

static void
ct_fini(void)
{
	th_cleanup(); /* the redis-server and its directory, if started */
}

TestSuite(contract, .fini = ct_fini);

#ifdef IPK_HAVE_REDIS
#include "redis_server.h"

/* Criterion runs each test in a process of its own: one server each. */
static int
ct_server_port(void)
{
	static struct rs s;
	if (!s.pid)
		rs_start(&s, NULL);
	return s.port;
}
#else
static int
ct_server_port(void)
{
	cr_assert_fail("a CT_SERVER row in a build without redis://");
	return 0;
}
#endif

struct ct {
	const struct ct_target *t;
	char listen[512], dial[512], path[256];
	ipk_chan *owner; /* listener, or the receiving end of a pair */
	ipk_chan *conn;  /* accepted connection */
	ipk_chan *wr;    /* sending end of a pair, until the fork */
	pid_t child;
};

/* A row's template with this test's path, key and port (the n-th). */
static void
ct_subst(const char *tmpl, char *out, size_t size, const struct ct *c, int n)
{
	int port = (c->t->flags & CT_SERVER)
	                   ? ct_server_port()
	                   : 20000 + (getpid() * 8 + n) % 30000;
	int rc = url_template(tmpl, out, size, c->path,
	                      0x1c000000 + (getpid() & 0xfffff) * 8 + n, port);
	cr_assert_eq(rc, 0, "URL template too long: %s", tmpl);
}

static void
ct_open(struct ct *c, const struct ct_target *t)
{
	static int n;
	memset(c, 0, sizeof(*c));
	c->t = t;
	snprintf(c->path, sizeof(c->path), "%s", th_path(t->name));
	ct_subst(t->listen, c->listen, sizeof(c->listen), c, n);
	ct_subst(t->dial, c->dial, sizeof(c->dial), c, n++);
	int rc = (t->flags & CT_PAIR) ? ipk_pair(c->listen, &c->owner, &c->wr)
	                              : ipk_listen(c->listen, &c->owner);
	cr_assert_eq(rc, 0, "%s: open %s: %s", t->name, c->listen,
	             ipk_strerror(rc));
}

/* Fork the peer: it dials (or takes the pair's sending end) and runs fn. */
static void
ct_peer(struct ct *c, int (*fn)(ipk_chan *, const struct ct *))
{
	fflush(NULL);
	c->child = fork();
	cr_assert_geq(c->child, 0);
	if (c->child == 0) {
		ipk_chan *ch = c->wr;
		if (c->t->flags & CT_PAIR) {
			ipk_close(c->owner);
		} else {
			/* Drop the inherited listener without removing it. */
			syscall(SYS_close_range, 3, ~0u, 0);
			int rc = ipk_dial(c->dial, &ch);
			if (rc < 0)
				_exit(100);
		}
		_exit(fn(ch, c));
	}
	ipk_close(c->wr);
	c->wr = NULL;
}

static ipk_chan *
ct_rx(struct ct *c)
{
	if ((c->t->flags & CT_ACCEPT) && !c->conn) {
		int rc = ipk_accept(c->owner, &c->conn, CT_WAIT);
		cr_assert_eq(rc, 0, "%s: accept: %s", c->t->name,
		             ipk_strerror(rc));
	}
	return c->conn ? c->conn : c->owner;
}

static int
ct_close(struct ct *c)
{
	/* A queue's owner removes it with what is still in it, and a queue
	 * has no EOF to end the peer: let the peer finish first. */
	int st = 0;
	if ((c->t->flags & CT_NO_PEER) && c->child > 0) {
		st = th_wait(c->child, CT_WAIT);
		c->child = 0;
	}
	ipk_close(c->conn);
	ipk_close(c->owner);
	ipk_close(c->wr);
	if (c->child > 0)
		st = th_wait(c->child, CT_WAIT);
	const struct ct_target *t = c->t; /* messages still name it */
	memset(c, 0, sizeof(*c));
	c->t = t;
	return st;
}

static size_t ct_sizes[] = {0, 1, 100, 65536, 0 /* the maximum */};
#define CT_NSIZES (sizeof(ct_sizes) / sizeof(ct_sizes[0]))

static int
ct_send_sizes(ipk_chan *ch, const struct ct *c)
{
	char *buf = malloc(c->t->max + 1);
	for (size_t i = 0; buf && i < CT_NSIZES; i++) {
		size_t len = i == CT_NSIZES - 1 ? c->t->max : ct_sizes[i];
		if (len > c->t->max) /* udp: 65536 is above its maximum */
			continue;
		th_fill(buf, len, (unsigned)i);
		if (ipk_send(ch, buf, len, CT_WAIT) != 0)
			return 1;
	}
	if (buf && (c->t->flags & CT_DUPLEX)) {
		ssize_t n = ipk_recv(ch, buf, c->t->max, CT_WAIT);
		if (n != 2 || memcmp(buf, "ok", 2))
			return 2;
	}
	free(buf);
	ipk_close(ch);
	return 0;
}

Test(contract, round_trip_and_boundaries)
{
	for (size_t k = 0; k < CT_NTARGETS; k++) {
		struct ct c;
		ct_open(&c, &ct_targets[k]);
		ct_peer(&c, ct_send_sizes);
		ipk_chan *rx = ct_rx(&c);
		char *buf = malloc(c.t->max + 16);
		for (size_t i = 0; i < CT_NSIZES; i++) {
			size_t len =
			        i == CT_NSIZES - 1 ? c.t->max : ct_sizes[i];
			if (len > c.t->max)
				continue;
			ssize_t n = ipk_recv(rx, buf, c.t->max + 16, CT_WAIT);
			cr_expect_eq(n, (ssize_t)len,
			             "%s: size %zu gave %zd (%s)", c.t->name,
			             len, n, ipk_strerror((int)n));
			cr_expect(n < 0 || th_check(buf, len, (unsigned)i),
			          "%s: size %zu corrupted", c.t->name, len);
		}
		if (c.t->flags & CT_DUPLEX)
			cr_expect_eq(ipk_send(rx, "ok", 2, CT_WAIT), 0);
		free(buf);
		cr_expect_eq(ct_close(&c), 0, "%s: peer failed", c.t->name);
	}
}

static int
ct_send_too_big(ipk_chan *ch, const struct ct *c)
{
	char *buf = calloc(1, c->t->max + 1);
	if (!buf || ipk_send(ch, buf, c->t->max + 1, CT_WAIT) != -EMSGSIZE)
		return 1;
	free(buf);
	return ipk_send(ch, "after", 5, CT_WAIT) ? 2 : 0;
}

Test(contract, maximum_plus_one_refused)
{
	for (size_t k = 0; k < CT_NTARGETS; k++) {
		struct ct c;
		ct_open(&c, &ct_targets[k]);
		ct_peer(&c, ct_send_too_big);
		char buf[64];
		ssize_t n = ipk_recv(ct_rx(&c), buf, sizeof(buf), CT_WAIT);
		cr_expect_eq(n, 5, "%s: got %zd", c.t->name, n);
		cr_expect_eq(ct_close(&c), 0, "%s: max+1 was not refused",
		             c.t->name);
	}
}

static int
ct_stay_idle(ipk_chan *ch, const struct ct *c)
{
	(void)c;
	if (c->t->flags & CT_ACCEPT)
		ipk_send(ch, "hi", 2, CT_WAIT);
	pause();
	ipk_close(ch);
	return 0;
}

Test(contract, timeout_on_idle_channel)
{
	for (size_t k = 0; k < CT_NTARGETS; k++) {
		struct ct c;
		ct_open(&c, &ct_targets[k]);
		ct_peer(&c, ct_stay_idle);
		ipk_chan *rx = ct_rx(&c);
		char buf[64];
		if (c.t->flags & CT_ACCEPT)
			cr_expect_eq(ipk_recv(rx, buf, sizeof(buf), CT_WAIT),
			             2);
		long long t0 = th_now_ms();
		ssize_t n = ipk_recv(rx, buf, sizeof(buf), 200);
		long long dt = th_now_ms() - t0;
		cr_expect_eq(n, -ETIMEDOUT, "%s: gave %zd", c.t->name, n);
		cr_expect(dt >= 195 && dt < 5000, "%s: waited %lld ms",
		          c.t->name, dt);
		cr_expect_eq(ipk_recv(rx, buf, sizeof(buf), 0), -EAGAIN, "%s",
		             c.t->name);
		kill(c.child, SIGKILL);
		ct_close(&c);
	}
}

static int
ct_say_bye(ipk_chan *ch, const struct ct *c)
{
	(void)c;
	int rc = ipk_send(ch, "bye", 3, CT_WAIT);
	ipk_close(ch);
	return rc ? 1 : 0;
}

Test(contract, peer_gone_on_recv)
{
	for (size_t k = 0; k < CT_NTARGETS; k++) {
		const struct ct_target *t = &ct_targets[k];
		if (t->flags & (CT_NO_EOF | CT_NO_PEER))
			continue;
		struct ct c;
		ct_open(&c, t);
		ct_peer(&c, ct_say_bye);
		ipk_chan *rx = ct_rx(&c);
		char buf[64];
		cr_expect_eq(ipk_recv(rx, buf, sizeof(buf), CT_WAIT), 3);
		ssize_t n = ipk_recv(rx, buf, sizeof(buf), CT_WAIT);
		cr_expect_eq(n, -EPIPE, "%s: gave %zd", t->name, n);
		cr_expect_eq(ct_close(&c), 0);
	}
}

/* Sends until the receiver is gone: exit 0 only for -EPIPE. */
static int
ct_send_until_gone(ipk_chan *ch, const struct ct *c)
{
	(void)c;
	if (ipk_send(ch, "hi", 2, CT_WAIT))
		return 1;
	for (int i = 0; i < 500; i++) {
		int rc = ipk_send(ch, "x", 1, CT_WAIT);
		if (rc == -EPIPE)
			return 0;
		if (rc < 0)
			return 3;
		usleep(10000);
	}
	return 4;
}

Test(contract, peer_gone_on_send)
{
	signal(SIGPIPE, SIG_DFL);
	for (size_t k = 0; k < CT_NTARGETS; k++) {
		const struct ct_target *t = &ct_targets[k];
		if (t->flags & CT_NO_PEER)
			continue;
		struct ct c;
		ct_open(&c, t);
		ct_peer(&c, ct_send_until_gone);
		char buf[64];
		ipk_chan *rx = ct_rx(&c);
		cr_expect_eq(ipk_recv(rx, buf, sizeof(buf), CT_WAIT), 2);
		ipk_close(c.conn);
		ipk_close(c.owner);
		c.conn = c.owner = NULL;
		int st = ct_close(&c);
		cr_expect_eq(st, 0, "%s: sender ended with %d (141 = SIGPIPE)",
		             t->name, st);
	}
}

static int
ct_send_100_then_more(ipk_chan *ch, const struct ct *c)
{
	(void)c;
	char buf[100];
	th_fill(buf, sizeof(buf), 9);
	int rc = ipk_send(ch, buf, sizeof(buf), CT_WAIT);
	if (rc == 0)
		rc = ipk_send(ch, "second", 6, CT_WAIT);
	if (rc == 0 && (c->t->flags & CT_DUPLEX))
		ipk_recv(ch, buf, sizeof(buf), CT_WAIT);
	ipk_close(ch);
	return rc ? 1 : 0;
}

Test(contract, small_buffer_keeps_message)
{
	for (size_t k = 0; k < CT_NTARGETS; k++) {
		struct ct c;
		ct_open(&c, &ct_targets[k]);
		ct_peer(&c, ct_send_100_then_more);
		ipk_chan *rx = ct_rx(&c);
		char buf[200];
		struct ipk_msg m = {.buf = buf, .len = 10};
		ssize_t n = ipk_recvmsg(rx, &m, CT_WAIT);
		cr_expect_eq(n, -EMSGSIZE, "%s: gave %zd", c.t->name, n);
		cr_expect(m.len == 100 || m.len == 10, "%s: needs %zu",
		          c.t->name, m.len);
		n = ipk_recv(rx, buf, sizeof(buf), CT_WAIT);
		cr_expect_eq(n, 100, "%s: then %zd", c.t->name, n);
		cr_expect(th_check(buf, 100, 9), "%s: corrupted", c.t->name);
		n = ipk_recv(rx, buf, sizeof(buf), CT_WAIT);
		cr_expect_eq(n, 6, "%s: second gave %zd", c.t->name, n);
		if (c.t->flags & CT_DUPLEX)
			ipk_send(rx, "k", 1, CT_WAIT);
		cr_expect_eq(ct_close(&c), 0);
	}
}

Test(contract, cleanup_of_what_it_made)
{
	for (size_t k = 0; k < CT_NTARGETS; k++) {
		int fds = th_fd_count();
		struct ct c;
		ct_open(&c, &ct_targets[k]);
		char path[256];
		snprintf(path, sizeof(path), "%s", c.path);
		bool has_path = strstr(c.t->listen, "{path}") != NULL;
		ct_peer(&c, ct_say_bye);
		char buf[64];
		cr_expect_eq(ipk_recv(ct_rx(&c), buf, sizeof(buf), CT_WAIT), 3);
		cr_expect_eq(ct_close(&c), 0);
		cr_expect_eq(th_fd_count(), fds, "%s: descriptors leaked",
		             ct_targets[k].name);
		if (has_path)
			cr_expect_neq(access(path, F_OK), 0, "%s: %s left",
			              ct_targets[k].name, path);
	}
}

/* The sizes again, written in place with ipk_reserve / ipk_commit. */
static int
ct_send_zero_copy(ipk_chan *ch, const struct ct *c)
{
	for (size_t i = 0; i < CT_NSIZES; i++) {
		size_t len = i == CT_NSIZES - 1 ? c->t->max : ct_sizes[i];
		if (len > c->t->max)
			continue;
		void *p;
		if (ipk_reserve(ch, len, &p, CT_WAIT) != 0)
			return 1;
		th_fill(p, len, (unsigned)i);
		if (ipk_commit(ch, len) != 0)
			return 2;
	}
	if (ipk_commit(ch, 0) != -EINVAL)
		return 3; /* nothing reserved */
	if (c->t->flags & CT_DUPLEX) {
		const void *p;
		size_t n;
		if (ipk_peek(ch, &p, &n, CT_WAIT) != 0 || n != 2 ||
		    ipk_release(ch) != 0)
			return 4;
	}
	ipk_close(ch);
	return 0;
}

Test(contract, zero_copy_round_trip)
{
	for (size_t k = 0; k < CT_NTARGETS; k++) {
		struct ct c;
		ct_open(&c, &ct_targets[k]);
		ct_peer(&c, ct_send_zero_copy);
		ipk_chan *rx = ct_rx(&c);
		for (size_t i = 0; i < CT_NSIZES; i++) {
			size_t len =
			        i == CT_NSIZES - 1 ? c.t->max : ct_sizes[i];
			if (len > c.t->max)
				continue;
			const void *p, *again;
			size_t n, n2;
			int rc = ipk_peek(rx, &p, &n, CT_WAIT);
			cr_expect_eq(rc, 0, "%s: peek %zu: %s", c.t->name, len,
			             ipk_strerror(rc));
			if (rc < 0)
				break;
			cr_expect_eq(n, len, "%s: peeked %zu of %zu", c.t->name,
			             n, len);
			cr_expect(th_check(p, n, (unsigned)i), "%s: corrupted",
			          c.t->name);
			cr_expect(ipk_peek(rx, &again, &n2, 0) == 0 &&
			                  again == p && n2 == n,
			          "%s: a second peek moved on", c.t->name);
			cr_expect_eq(ipk_release(rx), 0);
		}
		cr_expect_eq(ipk_release(rx), -EINVAL, "%s", c.t->name);
		if (c.t->flags & CT_DUPLEX)
			cr_expect_eq(ipk_send(rx, "ok", 2, CT_WAIT), 0);
		cr_expect_eq(ct_close(&c), 0, "%s: peer failed", c.t->name);
	}
}
