/*
 * flood_test.c - deadlines hold while a child process floods a listener
 * with peers it must refuse: uid nobody on an abstract "unix:@" name and
 * on "unixgram:@" (the default credential policy), and connections past
 * ?maxconn= on tcp.  ipk_accept / ipk_recv with 100 ms must still end
 * with -ETIMEDOUT in a bounded time, and ipk_stats counts the refusals.
 * Timing tests: the bounds are 5 times the timeout.
 */
#include <criterion/criterion.h>

#include "helpers.h"
#include "raw_peer.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

TestSuite(flood, .fini = th_cleanup, .timeout = 60);

#define NOBODY 65534
#define TIMEOUT 100
#define ROUNDS 8

struct flood {
	char name[256];
	bool as_nobody;
	int ready[2]; /* flooder -> test: the first refusals happened */
	pid_t pid[2];
};

/*
 * Flood name for at most 10 s, as nobody when asked: a datagram socket
 * sends again and again (blocking when the listener's queue is full, so
 * it stays full); a stream peer connects, sends a frame and hangs up,
 * again and again.  Errors are expected: the listener refuses us.
 */
static int
flooder(void *arg)
{
	struct flood *f = arg;
	if (f->as_nobody && (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 ||
	                     setuid(NOBODY) < 0))
		return 1;
	signal(SIGPIPE, SIG_IGN);
	long long end = th_now_ms() + 10000;
	int dgram = strncmp(f->name, "unixgram:", 9) == 0 ? raw_connect(f->name)
	                                                  : -1;
	for (long n = 0; th_now_ms() < end; n++) {
		/* A datagram queue is short: the other flooder may fill it. */
		if (n == (dgram >= 0 ? 0 : 100))
			th_put(f->ready[1], 'f');
		if (dgram >= 0) {
			send(dgram, "flood", 5, MSG_NOSIGNAL);
		} else {
			int fd = raw_connect(f->name);
			if (fd >= 0) {
				send(fd, "\0\0\0\1x", 5,
				     MSG_NOSIGNAL | MSG_DONTWAIT);
				close(fd);
			}
		}
	}
	return 0;
}

#define FLOODERS 2

/* FLOODERS processes, so that refused peers arrive faster than they go. */
static void
flood_start(struct flood *f)
{
	cr_assert_eq(pipe(f->ready), 0);
	for (int i = 0; i < FLOODERS; i++) {
		f->pid[i] = th_spawn(flooder, f);
		cr_assert_gt(f->pid[i], 0);
		th_defer_kill(f->pid[i]);
	}
	for (int i = 0; i < FLOODERS; i++)
		cr_assert_eq(th_get(f->ready[0], 5000 * th_mult()), 'f',
		             "the flood did not start");
}

static void
flood_stop(struct flood *f)
{
	for (int i = 0; i < FLOODERS; i++) {
		kill(f->pid[i], SIGKILL);
		th_wait(f->pid[i], 5000);
	}
	close(f->ready[0]);
	close(f->ready[1]);
}

/* ROUNDS waits of TIMEOUT ms, each -ETIMEDOUT within 5x; the worst. */
static long long
rounds_of(ipk_chan *l, bool accept)
{
	long long worst = 0;
	for (int i = 0; i < ROUNDS; i++) {
		char buf[64];
		ipk_chan *c = NULL;
		long long t0 = th_now_ms();
		long r = accept ? ipk_accept(l, &c, TIMEOUT)
		                : (long)ipk_recv(l, buf, sizeof(buf), TIMEOUT);
		long long dt = th_now_ms() - t0;
		cr_assert_eq(r, -ETIMEDOUT, "round %d: %ld (%s) after %lld ms",
		             i, r, ipk_strerror((int)r), dt);
		cr_assert_lt(dt, 5 * TIMEOUT * th_mult(),
		             "round %d: %d ms took %lld ms", i, TIMEOUT, dt);
		worst = dt > worst ? dt : worst;
	}
	cr_log_info("%d waits of %d ms under the flood: the longest %lld ms",
	            ROUNDS, TIMEOUT, worst);
	return worst;
}

static void
expect_refused(ipk_chan *l)
{
	struct ipk_stats st;
	cr_assert_eq(ipk_stats(l, &st), 0);
	cr_assert_gt(st.refused, 0, "no refusal counted");
}

Test(flood, timing_accept_unix_abstract_nobody)
{
	int base = th_fd_count();
	struct flood f = {.as_nobody = true};
	char u[128];
	snprintf(u, sizeof(u), "unix:@ipk-test-flood-%d", (int)getpid());
	ipk_chan *l = NULL;
	cr_assert_eq(ipk_listen(u, &l), 0);
	cr_assert_eq(ipk_name(l, f.name, sizeof(f.name)), 0);
	flood_start(&f);
	rounds_of(l, true);
	flood_stop(&f);
	expect_refused(l);
	ipk_close(l);
	cr_assert_eq(th_fd_count(), base, "descriptors leaked");
}

Test(flood, timing_recv_unixgram_abstract_nobody)
{
	int base = th_fd_count();
	struct flood f = {.as_nobody = true};
	char u[128];
	snprintf(u, sizeof(u), "unixgram:@ipk-test-gflood-%d", (int)getpid());
	ipk_chan *l = NULL;
	cr_assert_eq(ipk_listen(u, &l), 0);
	cr_assert_eq(ipk_name(l, f.name, sizeof(f.name)), 0);
	flood_start(&f);
	rounds_of(l, false);
	flood_stop(&f);
	expect_refused(l);
	/* What the flood left queued is dropped, never delivered. */
	char buf[64];
	ssize_t r = ipk_recv(l, buf, sizeof(buf), 0);
	cr_assert_eq(r, -EAGAIN, "after the flood: %zd (%s)", r,
	             ipk_strerror((int)r));
	/* Our own datagrams still get through. */
	ipk_chan *d = NULL;
	cr_assert_eq(ipk_dial(f.name, &d), 0);
	cr_assert_eq(ipk_send(d, "ours", 4, 1000), 0);
	r = ipk_recv(l, buf, sizeof(buf), 1000 * th_mult());
	cr_assert_eq(r, 4, "our datagram: %zd (%s)", r, ipk_strerror((int)r));
	ipk_close(d);
	ipk_close(l);
	cr_assert_eq(th_fd_count(), base, "descriptors leaked");
}

Test(flood, timing_accept_tcp_beyond_maxconn)
{
	int base = th_fd_count();
	struct flood f = {0};
	ipk_chan *l = NULL, *held = NULL, *d = NULL;
	cr_assert_eq(ipk_listen("tcp://127.0.0.1:0?maxconn=1", &l), 0);
	cr_assert_eq(ipk_name(l, f.name, sizeof(f.name)), 0);
	cr_assert_eq(ipk_dial(f.name, &d), 0);
	cr_assert_eq(ipk_accept(l, &held, 5000), 0);
	flood_start(&f);
	rounds_of(l, true);
	flood_stop(&f);
	expect_refused(l);
	/* The connection held all along still works. */
	char buf[8];
	cr_assert_eq(ipk_send(d, "held", 4, 1000), 0);
	cr_assert_eq(ipk_recv(held, buf, sizeof(buf), 1000 * th_mult()), 4);
	ipk_close(held);
	ipk_close(d);
	ipk_close(l);
	cr_assert_eq(th_fd_count(), base, "descriptors leaked");
}
