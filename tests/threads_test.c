/*
 * threads_test.c - one thread sends while another receives on the same
 * channel (unix pair, tcp connection; pipe ends, which are one-way, as
 * two pairs), 10^5 messages each way with a real peer process doing the
 * same; a third thread reads ipk_stats meanwhile.  Then the frame-deadline
 * path: the peer stalls mid-frame and the connection is dropped while
 * the other thread is sending.  Meant for ThreadSanitizer (CI's TSan
 * build): deterministic, and short even 10x slower.
 */
#include <criterion/criterion.h>

#include "helpers.h"
#include "stream_common.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

TestSuite(threads, .fini = th_cleanup, .timeout = 60);

#define N 100000
#define WAIT 20000

static size_t
len_of(uint32_t seq)
{
	return 8 + seq % 57;
}

/* One direction of traffic: what a thread does and how it ended. */
struct flow {
	ipk_chan *ch;
	uint32_t n;       /* messages to move (UINT32_MAX: until an error) */
	uint32_t done;    /* moved */
	_Atomic long err; /* 0, or the first failure */
	_Atomic int *stop;
};

static void *
send_thread(void *arg)
{
	struct flow *f = arg;
	char buf[128];
	for (f->done = 0; f->done < f->n; f->done++) {
		if (f->stop && atomic_load(f->stop))
			break;
		int rc = ipk_send(f->ch, buf,
		                  msg_make(buf, f->done, len_of(f->done)),
		                  WAIT * th_mult());
		if (rc < 0) {
			f->err = rc;
			break;
		}
	}
	return NULL;
}

/* Receive f->n numbered messages in order: 0, or why not. */
static long
recv_all(struct flow *f)
{
	char buf[128];
	for (f->done = 0; f->done < f->n; f->done++) {
		ssize_t r = ipk_recv(f->ch, buf, sizeof(buf), WAIT * th_mult());
		if (r < 0)
			return f->err = r;
		if ((size_t)r != len_of(f->done) ||
		    msg_seq(buf, (size_t)r) != f->done)
			return f->err = -EBADMSG;
	}
	return 0;
}

static void *
stats_thread(void *arg)
{
	struct flow *f = arg;
	while (!atomic_load(f->stop)) {
		struct ipk_stats st;
		ipk_stats(f->ch, &st);
		ipk_fd(f->ch);
		usleep(1000);
	}
	return NULL;
}

/* Send on tx from a thread while this thread receives on rx. */
static long
duplex(ipk_chan *tx, ipk_chan *rx, struct flow *out, struct flow *in,
       bool with_stats)
{
	_Atomic int stop = 0;
	*out = (struct flow){.ch = tx, .n = N};
	*in = (struct flow){.ch = rx, .n = N};
	struct flow st = {.ch = rx, .stop = &stop};
	pthread_t s, t;
	if (pthread_create(&s, NULL, send_thread, out) != 0)
		return -EAGAIN;
	if (with_stats && pthread_create(&t, NULL, stats_thread, &st) != 0)
		return -EAGAIN;
	long rc = recv_all(in);
	pthread_join(s, NULL);
	atomic_store(&stop, 1);
	if (with_stats)
		pthread_join(t, NULL);
	return rc ? rc : out->err;
}

/* The peer process: the same, on its ends; each side closes the other's. */
struct peer {
	ipk_chan *tx, *rx;
	ipk_chan *ours[2];   /* the test's ends: the peer closes them */
	ipk_chan *theirs[2]; /* the peer's ends: the test closes them */
};

static int
peer_main(void *arg)
{
	struct peer *p = arg;
	for (int i = 0; i < 2; i++)
		ipk_close(p->ours[i]);
	struct flow out, in;
	long rc = duplex(p->tx, p->rx, &out, &in, false);
	if (rc)
		fprintf(stderr, "peer: sent %u, received %u: %s\n", out.done,
		        in.done, ipk_strerror((int)rc));
	return rc ? 1 : 0;
}

static void
run(ipk_chan *tx, ipk_chan *rx, struct peer *p)
{
	pid_t pid = th_spawn(peer_main, p);
	cr_assert_gt(pid, 0);
	th_defer_kill(pid);
	for (int i = 0; i < 2; i++)
		ipk_close(p->theirs[i]);
	struct flow out, in;
	long rc = duplex(tx, rx, &out, &in, true);
	cr_assert_eq(rc, 0, "sent %u, received %u: %s", out.done, in.done,
	             ipk_strerror((int)rc));
	cr_assert_eq(th_wait(pid, 3 * WAIT * th_mult()), 0, "peer failed");
}

Test(threads, unix_pair_send_and_recv_at_once)
{
	ipk_chan *a, *b;
	cr_assert_eq(ipk_pair("unix:", &a, &b), 0);
	struct peer p = {.tx = b, .rx = b, .ours = {a}, .theirs = {b}};
	run(a, a, &p);
	ipk_close(a);
}

Test(threads, tcp_send_and_recv_at_once)
{
	ipk_chan *l, *d, *c;
	char name[128];
	cr_assert_eq(ipk_listen("tcp://127.0.0.1:0", &l), 0);
	cr_assert_eq(ipk_name(l, name, sizeof(name)), 0);
	cr_assert_eq(ipk_dial(name, &d), 0);
	cr_assert_eq(ipk_accept(l, &c, WAIT), 0);
	struct peer p = {.tx = d, .rx = d, .ours = {c}, .theirs = {d}};
	run(c, c, &p);
	ipk_close(c);
	ipk_close(l);
}

Test(threads, pipe_pairs_send_and_recv_at_once)
{
	ipk_chan *rd1, *wr1, *rd2, *wr2;
	cr_assert_eq(ipk_pair("pipe:", &rd1, &wr1), 0);
	cr_assert_eq(ipk_pair("pipe:", &rd2, &wr2), 0);
	/* 1 carries test -> peer, 2 peer -> test. */
	struct peer p = {
	        .tx = wr2, .rx = rd1, .ours = {wr1, rd2}, .theirs = {rd1, wr2}};
	run(wr1, rd2, &p);
	ipk_close(wr1);
	ipk_close(rd2);
}

/* ---- the frame deadline fires while the other thread sends ----------- */

/* The peer: 2 bytes of a header, then reads what comes until the end. */
static int
stall_peer(void *arg)
{
	ipk_chan *q = arg;
	if (write(ipk_fd(q), "\0\0", 2) != 2)
		return 1;
	char buf[128];
	ssize_t r;
	long got = 0;
	while ((r = ipk_recv(q, buf, sizeof(buf), WAIT)) >= 0)
		got++;
	return got > 0 && r != -ETIMEDOUT ? 0 : 2;
}

static void
stall_run(ipk_chan *mine, ipk_chan *theirs, ipk_chan *unused)
{
	pid_t pid = th_spawn(stall_peer, theirs);
	cr_assert_gt(pid, 0);
	th_defer_kill(pid);
	ipk_close(theirs);
	ipk_close(unused);
	_Atomic int stop = 0;
	struct flow out = {.ch = mine, .n = UINT32_MAX, .stop = &stop};
	struct flow st = {.ch = mine, .stop = &stop};
	pthread_t s, t;
	cr_assert_eq(pthread_create(&s, NULL, send_thread, &out), 0);
	cr_assert_eq(pthread_create(&t, NULL, stats_thread, &st), 0);
	char buf[64];
	long long t0 = th_now_ms();
	ssize_t r = ipk_recv(mine, buf, sizeof(buf), 10000 * th_mult());
	long long dt = th_now_ms() - t0;
	/* The sender ends by itself: the connection is closed under it. */
	long long end = th_now_ms() + 10000 * th_mult();
	while (!out.err && th_now_ms() < end)
		usleep(1000);
	bool ended = out.err != 0;
	atomic_store(&stop, 1);
	pthread_join(s, NULL);
	pthread_join(t, NULL);
	cr_assert_eq(r, -ECONNRESET, "stalled peer: %zd (%s)", r,
	             ipk_strerror((int)r));
	cr_assert(dt >= 150 && dt < 3000 * th_mult(), "dropped after %lld ms",
	          dt);
	cr_assert(ended, "the sender did not notice (sent %u)", out.done);
	cr_assert_gt(out.done, 0u, "nothing was sent");
	cr_assert(out.err == -EPIPE || out.err == -ECONNRESET,
	          "sender ended with %ld (%s)", out.err,
	          ipk_strerror((int)out.err));
	cr_assert(ipk_recv(mine, buf, sizeof(buf), 0) == -ECONNRESET,
	          "not sticky");
	cr_assert_eq(th_wait(pid, WAIT * th_mult()), 0, "peer failed");
}

Test(threads, unix_frame_deadline_while_sending)
{
	ipk_chan *a, *b;
	cr_assert_eq(ipk_pair("unix:?frame=200", &a, &b), 0);
	stall_run(a, b, NULL);
	ipk_close(a);
}

Test(threads, tcp_frame_deadline_while_sending)
{
	ipk_chan *l, *d, *c;
	char name[128];
	cr_assert_eq(ipk_listen("tcp://127.0.0.1:0?frame=200", &l), 0);
	cr_assert_eq(ipk_name(l, name, sizeof(name)), 0);
	cr_assert_eq(ipk_dial(name, &d), 0);
	cr_assert_eq(ipk_accept(l, &c, WAIT), 0);
	stall_run(c, d, l);
}
