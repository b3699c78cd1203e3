/*
 * stream_test.c - the catalogue cases of the byte-stream sockets, each
 * run on "unix:/tmp/..." and "tcp://127.0.0.1:0": the length bomb,
 * a writer killed mid-frame, an EINTR storm, forced partial
 * writes, the frame deadline (?frame=, TCP-04) and the memory
 * budget of a listener's connections (?rxbudget=).  Hostile peers are
 * plain sockets in child processes (raw_peer.h).
 */
#include <criterion/criterion.h>

#include "helpers.h"
#include "raw_peer.h"
#include "stream_common.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

TestSuite(stream, .fini = th_cleanup, .timeout = 60);

#define WAIT 10000

/* A listener of kind ("unix" or "tcp") with query; its dial URL in name. */
static ipk_chan *
listen_kind(const char *kind, const char *query, char *name, size_t size)
{
	char u[512];
	if (strcmp(kind, "unix") == 0) {
		const char *p = th_path("stream");
		th_defer_remove(p);
		snprintf(u, sizeof(u), "unix:%s%s", p, query);
	} else {
		snprintf(u, sizeof(u), "tcp://127.0.0.1:0%s", query);
	}
	ipk_chan *l = NULL;
	int rc = ipk_listen(u, &l);
	cr_assert_eq(rc, 0, "ipk_listen(%s): %s", u, ipk_strerror(rc));
	rc = ipk_name(l, name, size);
	cr_assert_eq(rc, 0, "ipk_name(%s): %s", u, ipk_strerror(rc));
	return l;
}

static ipk_chan *
accept_ok(ipk_chan *l)
{
	ipk_chan *c = NULL;
	int rc = ipk_accept(l, &c, WAIT * th_mult());
	cr_assert_eq(rc, 0, "ipk_accept: %s", ipk_strerror(rc));
	return c;
}

static int
raw_ok(const char *name)
{
	int fd = raw_connect(name);
	cr_assert_geq(fd, 0, "connect %s: %s", name, strerror(-fd));
	return fd;
}

/* What a child peer needs: where to go, and pipes to hand off with. */
struct job {
	char name[256];
	ipk_chan *l;
	int up[2];   /* child -> test */
	int down[2]; /* test -> child */
	int n;
	int *shared;
};

static void
job_pipes(struct job *j)
{
	cr_assert_eq(pipe(j->up), 0);
	cr_assert_eq(pipe(j->down), 0);
}

static void
job_close(struct job *j)
{
	close(j->up[0]);
	close(j->up[1]);
	close(j->down[0]);
	close(j->down[1]);
}

/* Receive message seq of len bytes on c, whole. */
static void
expect_msg(ipk_chan *c, uint32_t seq, size_t len)
{
	char *buf = malloc(len + 1);
	cr_assert_not_null(buf);
	ssize_t r = ipk_recv(c, buf, len + 1, WAIT * th_mult());
	cr_assert_eq(r, (ssize_t)len, "message %u: %zd (%s)", seq, r,
	             ipk_strerror((int)r));
	cr_assert_eq(msg_seq(buf, len), seq, "message %u torn or out of order",
	             seq);
	free(buf);
}

/* A receive that ends the channel for good: not a timeout, not data. */
static bool
is_closed(ssize_t r)
{
	return r < 0 && r != -ETIMEDOUT && r != -EAGAIN;
}

/* ---- a length prefix far above the maximum --------------------- */

#define BOMB_CLAIM 0xFFFFFFF0u

/*
 * The receiving side, in a child with a 512 MiB address space (not under
 * ASan): B is connected first and idle, A sends the bomb, C comes after.
 */
static int
bomb_receiver(void *arg)
{
	struct job *j = arg;
	if (!th_asan()) {
		struct rlimit rl = {512u << 20, 512u << 20};
		setrlimit(RLIMIT_AS, &rl);
	}
	ipk_chan *b, *a, *c;
	CK(ipk_accept(j->l, &b, WAIT) == 0);
	CK(th_put(j->up[1], 'B') == 0);
	CK(ipk_accept(j->l, &a, WAIT) == 0);
	size_t before = heap_in_use();
	char buf[64];
	struct ipk_msg m = {.buf = buf, .len = sizeof(buf)};
	ssize_t r = ipk_recvmsg(a, &m, 3000);
	if (r != -EMSGSIZE)
		fprintf(stderr, "bomb: %zd (%s)\n", r, ipk_strerror((int)r));
	CK(r == -EMSGSIZE);
	if (!th_asan())
		CK(heap_in_use() - before < (2u << 20));
	/* Above ?max=, the stream cannot be resynced: closed for good. */
	CK(is_closed(ipk_recv(a, buf, sizeof(buf), 500)));
	/* The connection that was already there is unaffected. */
	CK(ipk_recv(b, buf, sizeof(buf), WAIT) == 5);
	CK(memcmp(buf, "hello", 5) == 0);
	CK(ipk_send(b, "world", 5, WAIT) == 0);
	/* And so is a new one. */
	CK(ipk_accept(j->l, &c, WAIT) == 0);
	CK(ipk_recv(c, buf, sizeof(buf), WAIT) == 5);
	CK(memcmp(buf, "again", 5) == 0);
	if (!th_asan())
		CK(heap_in_use() - before < (2u << 20));
	CK(m.len == BOMB_CLAIM);
	ipk_close(a);
	ipk_close(b);
	ipk_close(c);
	return 0;
}

static void
bomb_run(const char *kind)
{
	int base = th_fd_count();
	struct job j = {0};
	j.l = listen_kind(kind, "", j.name, sizeof(j.name));
	job_pipes(&j);
	pid_t rx = spawn(bomb_receiver, &j);
	char frame[16];
	int b = raw_ok(j.name);
	raw_header(frame, 5);
	memcpy(frame + 4, "hello", 5);
	cr_assert_eq(raw_write(b, frame, 9), 0);
	cr_assert_eq(th_get(j.up[0], WAIT * th_mult()), 'B');
	int a = raw_ok(j.name);
	char bomb[14];
	raw_header(bomb, BOMB_CLAIM);
	memcpy(bomb + 4, "0123456789", 10);
	cr_assert_eq(raw_write(a, bomb, sizeof(bomb)), 0);
	int c = raw_ok(j.name);
	memcpy(frame + 4, "again", 5);
	cr_assert_eq(raw_write(c, frame, 9), 0);
	char reply[9];
	int rc = raw_read(b, reply, sizeof(reply), WAIT * th_mult());
	cr_assert_eq(rc, 0, "B got no reply: %s", strerror(-rc));
	cr_assert_eq(memcmp(reply + 4, "world", 5), 0);
	cr_assert(raw_hung_up(a, WAIT * th_mult()),
	          "the bomb's connection was not closed");
	expect_exit(rx, WAIT, 0, "receiver");
	close(a);
	close(b);
	close(c);
	job_close(&j);
	ipk_close(j.l);
	cr_assert_eq(th_fd_count(), base, "descriptors leaked");
}

Test(stream, x01_length_bomb_unix)
{
	bomb_run("unix");
}

Test(stream, x01_length_bomb_tcp)
{
	bomb_run("tcp");
}

/* ---- the writer killed in the middle of a frame ----------------- */

#define TORN_WHOLE 5

static int
torn_writer(void *arg)
{
	struct job *j = arg;
	ipk_chan *w;
	CK(ipk_dial(j->name, &w) == 0);
	char buf[1004];
	for (int i = 0; i < TORN_WHOLE; i++)
		CK(ipk_send(w, buf, msg_make(buf, (uint32_t)i, 100), WAIT) ==
		   0);
	/* The header of a 1000-byte message and half of it, then die. */
	raw_header(buf, 1000);
	msg_make(buf + 4, 99, 1000);
	CK(raw_write(ipk_fd(w), buf, 4 + 500) == 0);
	raise(SIGKILL);
	return 1;
}

static int
plain_writer(void *arg)
{
	struct job *j = arg;
	ipk_chan *w;
	CK(ipk_dial(j->name, &w) == 0);
	char buf[4096];
	for (int i = 0; i < j->n; i++)
		CK(ipk_send(w, buf, msg_make(buf, 1000 + (uint32_t)i, 1000),
		            WAIT) == 0);
	ipk_close(w);
	return 0;
}

static void
torn_run(const char *kind)
{
	int base = th_fd_count();
	struct job j = {.n = 3};
	j.l = listen_kind(kind, "", j.name, sizeof(j.name));
	pid_t w = spawn(torn_writer, &j);
	ipk_chan *c = accept_ok(j.l);
	expect_exit(w, WAIT, 128 + SIGKILL, "torn writer");
	for (int i = 0; i < TORN_WHOLE; i++)
		expect_msg(c, (uint32_t)i, 100);
	char buf[2048];
	ssize_t r = ipk_recv(c, buf, sizeof(buf), WAIT);
	cr_assert_neq(r, 1000, "a torn frame was delivered");
	cr_assert_eq(r, -ECONNRESET, "torn frame: %zd (%s)", r,
	             ipk_strerror((int)r));
	r = ipk_recv(c, buf, sizeof(buf), 0);
	cr_assert(is_closed(r), "after the torn frame: %zd (%s)", r,
	          ipk_strerror((int)r));
	ipk_close(c);
	/* A new client is served whole. */
	w = spawn(plain_writer, &j);
	c = accept_ok(j.l);
	for (int i = 0; i < j.n; i++)
		expect_msg(c, 1000 + (uint32_t)i, 1000);
	r = ipk_recv(c, buf, sizeof(buf), WAIT);
	cr_assert_eq(r, -EPIPE, "after the last: %zd (%s)", r,
	             ipk_strerror((int)r));
	expect_exit(w, WAIT, 0, "new writer");
	ipk_close(c);
	ipk_close(j.l);
	cr_assert_eq(th_fd_count(), base, "descriptors leaked");
}

Test(stream, x03_writer_killed_midframe_unix)
{
	torn_run("unix");
}

Test(stream, x03_writer_killed_midframe_tcp)
{
	torn_run("tcp");
}

/* ---- an EINTR storm from another process ----------------------- */

#define STORM_N 100000

static volatile sig_atomic_t usr1_hits;

static void
on_usr1(int sig)
{
	(void)sig;
	usr1_hits++;
}

static void
usr1_install(bool restart)
{
	struct sigaction sa = {.sa_handler = on_usr1};
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGUSR1, &sa, NULL);
}

struct storm {
	struct job j;
	bool restart;
	pid_t target[2];
};

static int
storm_sender(void *arg)
{
	struct storm *s = arg;
	usr1_install(s->restart);
	ipk_chan *w;
	CK(ipk_dial(s->j.name, &w) == 0);
	char buf[1024];
	for (uint32_t i = 0; i < STORM_N; i++)
		CK(ipk_send(w, buf, msg_make(buf, i, storm_len(i)), WAIT) == 0);
	ipk_close(w);
	return 0;
}

/* Signals both ends, continuously, until killed. */
static int
storm_helper(void *arg)
{
	struct storm *s = arg;
	for (;;) {
		kill(s->target[0], SIGUSR1);
		kill(s->target[1], SIGUSR1);
		usleep(100);
	}
	return 0;
}

static void
storm_run(const char *kind, bool restart)
{
	struct storm s = {.restart = restart};
	s.j.l = listen_kind(kind, "", s.j.name, sizeof(s.j.name));
	usr1_install(restart);
	usr1_hits = 0;
	pid_t tx = spawn(storm_sender, &s);
	ipk_chan *c = accept_ok(s.j.l);
	s.target[0] = getpid();
	s.target[1] = tx;
	pid_t helper = spawn(storm_helper, &s);
	char buf[1024];
	for (uint32_t i = 0; i < STORM_N; i++) {
		ssize_t r = ipk_recv(c, buf, sizeof(buf), WAIT * th_mult());
		cr_assert_eq(r, (ssize_t)storm_len(i), "message %u: %zd (%s)",
		             i, r, ipk_strerror((int)r));
		cr_assert_eq(msg_seq(buf, (size_t)r), i, "message %u torn", i);
	}
	ssize_t r = ipk_recv(c, buf, sizeof(buf), WAIT);
	cr_assert_eq(r, -EPIPE, "after the last: %zd (%s)", r,
	             ipk_strerror((int)r));
	expect_exit(tx, WAIT, 0, "sender");
	/* A timed receive on an idle connection ends at its deadline. */
	ipk_chan *d = NULL;
	cr_assert_eq(ipk_dial(s.j.name, &d), 0);
	ipk_chan *e = accept_ok(s.j.l);
	long long t0 = th_now_ms();
	r = ipk_recv(e, buf, sizeof(buf), 300);
	long long dt = th_now_ms() - t0;
	kill(helper, SIGKILL);
	th_wait(helper, WAIT);
	cr_assert_eq(r, -ETIMEDOUT, "idle recv: %zd (%s)", r,
	             ipk_strerror((int)r));
	cr_assert(dt >= 300 && dt < 1300 * th_mult(), "idle recv took %lld",
	          dt);
	cr_assert(usr1_hits > 100, "only %d signals arrived", (int)usr1_hits);
	signal(SIGUSR1, SIG_IGN);
	ipk_close(d);
	ipk_close(e);
	ipk_close(c);
	ipk_close(s.j.l);
}

Test(stream, x05_eintr_storm_unix_no_restart)
{
	storm_run("unix", false);
}

Test(stream, x05_eintr_storm_unix_sa_restart)
{
	storm_run("unix", true);
}

Test(stream, x05_eintr_storm_tcp_no_restart)
{
	storm_run("tcp", false);
}

Test(stream, x05_eintr_storm_tcp_sa_restart)
{
	storm_run("tcp", true);
}

/* ---- forced partial writes through tiny socket buffers --------- */

static const size_t partial_sizes[] = {
        1,        2,      3,     4,     5,     7,     100,    1000,
        4095,     4096,   4097,  65535, 65536, 65537, 300000, 1u << 20,
        1u << 20, 300001, 70000, 9000,  4100,  333,   6,      1,
};
#define PARTIAL_N (sizeof(partial_sizes) / sizeof(partial_sizes[0]))
#define PARTIAL_MAX (1u << 20)

/* Message i: numbered when it has room for a number, else a pattern. */
static void
partial_make(char *buf, size_t i)
{
	size_t len = partial_sizes[i];
	if (len >= 8)
		msg_make(buf, (uint32_t)i, len);
	else
		th_fill(buf, len, (unsigned)i);
}

static bool
partial_ok(const char *buf, size_t i)
{
	size_t len = partial_sizes[i];
	if (len >= 8)
		return msg_seq(buf, len) == (uint32_t)i;
	return th_check(buf, len, (unsigned)i);
}

/*
 * 4 KiB socket buffers.  TCP's receive buffer stays above twice the
 * loopback MSS (64 KiB): a window below half an MSS stalls the sender on
 * its persist timer (silly-window avoidance), hundreds of ms per write.
 */
static void
small_buffers(int fd)
{
	int snd = 4096, rcv = 4096;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    ss.ss_family != AF_UNIX)
		rcv = 128 << 10;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
}

/* shared[0]: sends that ran out of time; shared[1]: the last one went. */
static int
partial_sender(void *arg)
{
	struct job *j = arg;
	ipk_chan *w;
	CK(ipk_dial(j->name, &w) == 0);
	small_buffers(ipk_fd(w));
	char *buf = malloc(PARTIAL_MAX);
	CK(buf);
	for (size_t i = 0; i < PARTIAL_N; i++) {
		partial_make(buf, i);
		int rc;
		/* Resending after a refusal must not duplicate anything. */
		while ((rc = ipk_send(w, buf, partial_sizes[i], 3)) != 0) {
			if (rc != -ETIMEDOUT)
				fprintf(stderr, "send %zu: %s\n", i,
				        ipk_strerror(rc));
			CK(rc == -ETIMEDOUT);
			j->shared[0]++;
		}
	}
	/* A last big one whose deadline passes mid-frame; close finishes it. */
	msg_make(buf, 0xbeef, PARTIAL_MAX);
	int rc = ipk_send(w, buf, PARTIAL_MAX, 1);
	CK(rc == 0 || rc == -ETIMEDOUT);
	j->shared[1] = rc == 0;
	free(buf);
	ipk_close(w);
	return 0;
}

static void
partial_run(const char *kind)
{
	int base = th_fd_count();
	struct job j = {0};
	j.shared = th_shared(2 * sizeof(int));
	cr_assert_not_null(j.shared);
	j.l = listen_kind(kind, "", j.name, sizeof(j.name));
	pid_t w = spawn(partial_sender, &j);
	ipk_chan *c = accept_ok(j.l);
	small_buffers(ipk_fd(c));
	char *buf = malloc(PARTIAL_MAX + 1);
	cr_assert_not_null(buf);
	for (size_t i = 0; i < PARTIAL_N; i++) {
		/* A slow reader: the sender's deadlines pass mid-frame. */
		usleep(i < 12 ? 20000 : 2000);
		ssize_t r = ipk_recv(c, buf, PARTIAL_MAX + 1, WAIT * th_mult());
		cr_assert_eq(r, (ssize_t)partial_sizes[i],
		             "message %zu: %zd (%s)", i, r,
		             ipk_strerror((int)r));
		cr_assert(partial_ok(buf, i),
		          "message %zu torn or out of order", i);
	}
	ssize_t r = ipk_recv(c, buf, PARTIAL_MAX + 1, WAIT * th_mult());
	expect_exit(w, 2 * WAIT, 0, "sender");
	if (j.shared[1]) {
		cr_assert_eq(r, (ssize_t)PARTIAL_MAX, "the last: %zd (%s)", r,
		             ipk_strerror((int)r));
		cr_assert_eq(msg_seq(buf, PARTIAL_MAX), 0xbeefu, "last torn");
		r = ipk_recv(c, buf, PARTIAL_MAX + 1, WAIT);
	}
	cr_assert_eq(r, -EPIPE, "after the last: %zd (%s)", r,
	             ipk_strerror((int)r));
	cr_assert_gt(j.shared[0], 0, "no send ever ran out of time");
	free(buf);
	ipk_close(c);
	ipk_close(j.l);
	cr_assert_eq(th_fd_count(), base, "descriptors leaked");
}

Test(stream, x06_partial_writes_unix)
{
	partial_run("unix");
}

Test(stream, x06_partial_writes_tcp)
{
	partial_run("tcp");
}

/* A send whose deadline passed mid-frame, then the sender dies: the
 * unfinished tail never comes, and the peer sees -ECONNRESET. */
static int
partial_then_die(void *arg)
{
	struct job *j = arg;
	ipk_chan *w;
	CK(ipk_dial(j->name, &w) == 0);
	small_buffers(ipk_fd(w));
	char *buf = malloc(PARTIAL_MAX);
	CK(buf);
	CK(ipk_send(w, buf, msg_make(buf, 5, 100), WAIT) == 0);
	msg_make(buf, 6, PARTIAL_MAX);
	int rc = ipk_send(w, buf, PARTIAL_MAX, 1);
	CK(rc == 0 || rc == -ETIMEDOUT);
	*j->shared = rc == 0 ? 1 : 2;
	raise(SIGKILL);
	return 1;
}

static void
partial_die_run(const char *kind)
{
	struct job j = {0};
	j.shared = th_shared(sizeof(int));
	cr_assert_not_null(j.shared);
	j.l = listen_kind(kind, "", j.name, sizeof(j.name));
	pid_t w = spawn(partial_then_die, &j);
	ipk_chan *c = accept_ok(j.l);
	small_buffers(ipk_fd(c));
	expect_exit(w, WAIT, 128 + SIGKILL, "sender");
	cr_assert_eq(*j.shared, 1, "the big send took nothing (%d)", *j.shared);
	char *buf = malloc(PARTIAL_MAX + 1);
	cr_assert_not_null(buf);
	ssize_t r = ipk_recv(c, buf, PARTIAL_MAX + 1, WAIT);
	cr_assert_eq(r, 100, "first: %zd (%s)", r, ipk_strerror((int)r));
	r = ipk_recv(c, buf, PARTIAL_MAX + 1, WAIT * th_mult());
	cr_assert_neq(r, (ssize_t)PARTIAL_MAX, "a torn frame was delivered");
	cr_assert_eq(r, -ECONNRESET, "the cut frame: %zd (%s)", r,
	             ipk_strerror((int)r));
	free(buf);
	ipk_close(c);
	ipk_close(j.l);
}

Test(stream, x06_sender_dies_after_a_partial_send_unix)
{
	partial_die_run("unix");
}

Test(stream, x06_sender_dies_after_a_partial_send_tcp)
{
	partial_die_run("tcp");
}

/* ---- ?frame=: one message's deadline, from its first byte ------------ */

#define FRAME_MS 200
#define STRADDLE_LEN 300

/*
 * A raw peer streams messages for j->n ms, each write ending in the middle
 * of a frame: the rest of message k, then the header and half of k+1.
 * Every read the receiver makes straddles a boundary; the stream as a
 * whole lasts many frame periods, each message far less than one.
 */
static int
straddle_peer(void *arg)
{
	struct job *j = arg;
	int fd = raw_connect(j->name);
	CK(fd >= 0);
	static char out[2 * (STRADDLE_LEN + 8)];
	char msg[STRADDLE_LEN + 4];
	size_t half = (STRADDLE_LEN + 4) / 2, len = 0;
	long long end = th_now_ms() + j->n;
	uint32_t k = 0;
	for (; th_now_ms() < end; k++) {
		raw_header(msg, STRADDLE_LEN);
		msg_make(msg + 4, k, STRADDLE_LEN);
		memcpy(out + len, msg, half);
		CK(raw_write(fd, out, len + half) == 0);
		len = STRADDLE_LEN + 4 - half;
		memcpy(out, msg + half, len);
		usleep(20000);
	}
	CK(raw_write(fd, out, len) == 0);
	*j->shared = (int)k;
	close(fd);
	return 0;
}

/*
 * The receiver waits timeout ms per call and calls again after a timeout,
 * as a poll loop does (0: non-blocking, with a short nap): a frame clock
 * must restart with each message, not once per call or per timeout.
 */
static void
straddle_run(const char *kind, int timeout)
{
	int base = th_fd_count();
	/* 1.5 s, or 1 s for a polling receiver: 5 frame periods or more. */
	struct job j = {.n = timeout >= 1000 ? 1500 : 1000};
	j.shared = th_shared(sizeof(int));
	cr_assert_not_null(j.shared);
	j.l = listen_kind(kind, "?frame=200", j.name, sizeof(j.name));
	pid_t w = spawn(straddle_peer, &j);
	ipk_chan *c = accept_ok(j.l);
	char buf[1024];
	uint32_t k = 0;
	int waits = 0;
	long long t0 = th_now_ms(), end = t0 + 10000 * th_mult();
	while (th_now_ms() < end) {
		ssize_t r = ipk_recv(c, buf, sizeof(buf), timeout);
		if (r == -EPIPE)
			break;
		if (r == (timeout ? -ETIMEDOUT : -EAGAIN)) {
			waits++;
			if (!timeout)
				usleep(2000);
			continue;
		}
		cr_assert_eq(r, STRADDLE_LEN,
		             "message %u after %lld ms: %zd (%s)", k,
		             th_now_ms() - t0, r, ipk_strerror((int)r));
		cr_assert_eq(msg_seq(buf, STRADDLE_LEN), k, "message %u torn",
		             k);
		k++;
	}
	expect_exit(w, WAIT, 0, "raw peer");
	cr_assert_eq(k, (uint32_t)*j.shared, "got %u of %d", k, *j.shared);
	cr_assert_gt(k, 15u, "only %u messages in %d ms", k, j.n);
	if (timeout < 1000)
		cr_assert_gt(waits, 20, "the receiver never waited mid-frame");
	ipk_close(c);
	ipk_close(j.l);
	cr_assert_eq(th_fd_count(), base, "descriptors leaked");
}

Test(stream, frame_deadline_straddling_stream_unix)
{
	straddle_run("unix", 3000);
}

Test(stream, frame_deadline_straddling_stream_tcp)
{
	straddle_run("tcp", 3000);
}

Test(stream, frame_deadline_straddling_stream_short_waits_unix)
{
	straddle_run("unix", 5);
}

Test(stream, frame_deadline_straddling_stream_short_waits_tcp)
{
	straddle_run("tcp", 5);
}

Test(stream, frame_deadline_straddling_stream_nonblocking_unix)
{
	straddle_run("unix", 0);
}

Test(stream, frame_deadline_straddling_stream_nonblocking_tcp)
{
	straddle_run("tcp", 0);
}

/* n = 0: 3 header bytes then silence; n > 0: n bytes every 20 ms. */
static int
stall_peer(void *arg)
{
	struct job *j = arg;
	int fd = raw_connect(j->name);
	CK(fd >= 0);
	char hdr[4];
	raw_header(hdr, 2000);
	CK(raw_write(fd, hdr, j->n ? 4 : 3) == 0);
	char body[2000] = {0};
	for (int sent = 0; j->n && sent + j->n <= 2000; sent += j->n) {
		if (raw_write(fd, body, (size_t)j->n) < 0)
			break;
		usleep(20000);
	}
	th_get(j->down[0], 20000); /* until the test is done */
	close(fd);
	return 0;
}

/* timeout: of each receive; after a timeout the receiver calls again. */
static void
stall_run(const char *kind, int trickle, int timeout)
{
	int base = th_fd_count();
	struct job j = {.n = trickle};
	j.l = listen_kind(kind, "?frame=200", j.name, sizeof(j.name));
	job_pipes(&j);
	pid_t w = spawn(stall_peer, &j);
	ipk_chan *c = accept_ok(j.l);
	char buf[4096];
	long long t0 = th_now_ms(), end = t0 + 5000 * th_mult();
	ssize_t r;
	do
		r = ipk_recv(c, buf, sizeof(buf), timeout);
	while (r == -ETIMEDOUT && timeout < 1000 && th_now_ms() < end);
	long long dt = th_now_ms() - t0;
	cr_assert_eq(r, -ECONNRESET, "stalled peer: %zd (%s) after %lld ms", r,
	             ipk_strerror((int)r), dt);
	cr_assert(dt >= 100 && dt < 1500 * th_mult(),
	          "dropped after %lld ms, ?frame=%d", dt, FRAME_MS);
	cr_assert(is_closed(ipk_recv(c, buf, sizeof(buf), 0)), "not sticky");
	th_put(j.down[1], 'q');
	expect_exit(w, WAIT, 0, "raw peer");
	job_close(&j);
	ipk_close(c);
	ipk_close(j.l);
	cr_assert_eq(th_fd_count(), base, "descriptors leaked");
}

Test(stream, frame_deadline_slowloris_dropped_unix)
{
	stall_run("unix", 0, 5000);
}

Test(stream, frame_deadline_slowloris_dropped_tcp)
{
	stall_run("tcp", 0, 5000);
}

/* A frame that trickles in takes longer than ?frame= as a whole. */
Test(stream, frame_deadline_trickle_dropped_unix)
{
	stall_run("unix", 10, 5000);
}

Test(stream, frame_deadline_trickle_dropped_tcp)
{
	stall_run("tcp", 10, 5000);
}

/* A server polling with short receives still drops the staller in time. */
Test(stream, frame_deadline_slowloris_short_waits_unix)
{
	stall_run("unix", 0, 20);
}

Test(stream, frame_deadline_slowloris_short_waits_tcp)
{
	stall_run("tcp", 0, 20);
}

Test(stream, frame_deadline_trickle_short_waits_tcp)
{
	stall_run("tcp", 10, 20);
}

/*
 * The limit grows by 1 s per MiB announced: a 2 MiB message sent over
 * about 1 s (5 frame periods) arrives whole; the same message stalled
 * halfway is dropped after about 200 ms + 2 s, not after 200 ms.
 */
#define GROW_LEN (2u << 20)
#define GROW_CHUNK (64u << 10)

static int
grow_peer(void *arg)
{
	struct job *j = arg;
	int fd = raw_connect(j->name);
	CK(fd >= 0);
	char *msg = malloc(4 + GROW_LEN);
	CK(msg);
	raw_header(msg, GROW_LEN);
	msg_make(msg + 4, 77, GROW_LEN);
	size_t upto = j->n ? 4 + GROW_LEN / 2 : 4 + GROW_LEN;
	for (size_t at = 0; at < upto; at += GROW_CHUNK) {
		size_t len = upto - at < GROW_CHUNK ? upto - at : GROW_CHUNK;
		CK(raw_write(fd, msg + at, len) == 0);
		usleep(30000);
	}
	th_get(j->down[0], 20000); /* until the test is done */
	free(msg);
	close(fd);
	return 0;
}

static void
grow_run(const char *kind, bool stall)
{
	struct job j = {.n = stall};
	j.l = listen_kind(kind, "?frame=200", j.name, sizeof(j.name));
	job_pipes(&j);
	pid_t w = spawn(grow_peer, &j);
	ipk_chan *c = accept_ok(j.l);
	char *buf = malloc(GROW_LEN + 1);
	cr_assert_not_null(buf);
	long long t0 = th_now_ms();
	ssize_t r = ipk_recv(c, buf, GROW_LEN + 1, 10000 * th_mult());
	long long dt = th_now_ms() - t0;
	if (stall) {
		cr_assert_eq(r, -ECONNRESET, "stalled: %zd (%s) after %lld ms",
		             r, ipk_strerror((int)r), dt);
		cr_assert(dt >= 1500 && dt < 5000 * th_mult(),
		          "a 2 MiB message was dropped after %lld ms", dt);
	} else {
		cr_assert_eq(r, (ssize_t)GROW_LEN, "%zd (%s) after %lld ms", r,
		             ipk_strerror((int)r), dt);
		cr_assert_eq(msg_seq(buf, GROW_LEN), 77u, "torn");
		cr_assert_gt(dt, 400, "arrived in %lld ms: not slow enough",
		             dt);
	}
	th_put(j.down[1], 'q');
	expect_exit(w, WAIT, 0, "raw peer");
	free(buf);
	job_close(&j);
	ipk_close(c);
	ipk_close(j.l);
}

Test(stream, frame_deadline_grows_per_mib_unix)
{
	grow_run("unix", false);
}

Test(stream, frame_deadline_grows_per_mib_tcp)
{
	grow_run("tcp", false);
}

Test(stream, frame_deadline_grows_per_mib_stalled_tcp)
{
	grow_run("tcp", true);
}

/* Whole messages with 3.5 frame periods of silence between them. */
static int
quiet_peer(void *arg)
{
	struct job *j = arg;
	int fd = raw_connect(j->name);
	CK(fd >= 0);
	char msg[104];
	for (uint32_t k = 0; k < 3; k++) {
		if (k)
			usleep(700000);
		raw_header(msg, 100);
		msg_make(msg + 4, k, 100);
		CK(raw_write(fd, msg, sizeof(msg)) == 0);
	}
	close(fd);
	return 0;
}

static void
quiet_run(const char *kind)
{
	struct job j = {0};
	j.l = listen_kind(kind, "?frame=200", j.name, sizeof(j.name));
	pid_t w = spawn(quiet_peer, &j);
	ipk_chan *c = accept_ok(j.l);
	char buf[256];
	uint32_t k = 0;
	int timeouts = 0;
	long long end = th_now_ms() + 10000 * th_mult();
	while (k < 3 && th_now_ms() < end) {
		/* Short receives: each timeout is a quiet spell, not a drop. */
		ssize_t r = ipk_recv(c, buf, sizeof(buf), 50);
		if (r == -ETIMEDOUT) {
			timeouts++;
			continue;
		}
		cr_assert_eq(r, 100, "message %u: %zd (%s)", k, r,
		             ipk_strerror((int)r));
		cr_assert_eq(msg_seq(buf, 100), k);
		k++;
	}
	cr_assert_eq(k, 3u, "got %u messages", k);
	cr_assert_gt(timeouts, 10, "the peer was never quiet");
	cr_assert_eq(ipk_recv(c, buf, sizeof(buf), WAIT), -EPIPE);
	expect_exit(w, WAIT, 0, "raw peer");
	ipk_close(c);
	ipk_close(j.l);
}

Test(stream, frame_deadline_quiet_peer_kept_unix)
{
	quiet_run("unix");
}

Test(stream, frame_deadline_quiet_peer_kept_tcp)
{
	quiet_run("tcp");
}

/* ---- ?rxbudget=: what a listener's connections may hold together ----- */

#define BUDGET (1u << 20)
#define HOGS 4
#define HOG_CLAIM (16u << 20)
#define HOG_SENT (400u << 10)

/* HOGS connections each announce 16 MiB and send 400 KiB of it. */
static int
hog_peer(void *arg)
{
	struct job *j = arg;
	int fd[HOGS];
	bool alive[HOGS];
	for (int i = 0; i < HOGS; i++) {
		fd[i] = raw_connect(j->name);
		CK(fd[i] >= 0);
		char hdr[4];
		raw_header(hdr, HOG_CLAIM);
		CK(raw_write(fd[i], hdr, 4) == 0);
		alive[i] = true;
	}
	static char chunk[16u << 10];
	memset(chunk, 'h', sizeof(chunk));
	/* Round robin, so all of them grow together. */
	for (size_t sent = 0; sent < HOG_SENT; sent += sizeof(chunk))
		for (int i = 0; i < HOGS; i++)
			if (alive[i] &&
			    raw_write(fd[i], chunk, sizeof(chunk)) < 0)
				alive[i] = false;
	CK(th_put(j->up[1], 'w') == 0);
	th_get(j->down[0], 30000); /* hold them open until the test is done */
	for (int i = 0; i < HOGS; i++)
		close(fd[i]);
	return 0;
}

static int
small_client(void *arg)
{
	struct job *j = arg;
	ipk_chan *w;
	CK(ipk_dial(j->name, &w) == 0);
	CK(ipk_send(w, "small", 5, WAIT) == 0);
	char buf[8];
	CK(ipk_recv(w, buf, sizeof(buf), WAIT) == 2);
	ipk_close(w);
	return 0;
}

static void
budget_run(const char *kind)
{
	int base = th_fd_count();
	struct job j = {0};
	char q[64];
	snprintf(q, sizeof(q), "?rxbudget=%u", BUDGET);
	j.l = listen_kind(kind, q, j.name, sizeof(j.name));
	job_pipes(&j);
	char *buf = malloc(HOG_CLAIM + 1);
	cr_assert_not_null(buf);
	pid_t hogs = spawn(hog_peer, &j);
	ipk_chan *c[HOGS];
	for (int i = 0; i < HOGS; i++)
		c[i] = accept_ok(j.l);
	size_t before = heap_in_use(), peak = 0;
	bool done[HOGS] = {0}, written = false;
	int nobufs = 0;
	long long end = th_now_ms() + 8000 * th_mult(), quiet_until = 0;
	while (th_now_ms() < end &&
	       (!quiet_until || th_now_ms() < quiet_until)) {
		for (int i = 0; i < HOGS; i++) {
			if (done[i])
				continue;
			ssize_t r = ipk_recv(c[i], buf, HOG_CLAIM + 1, 20);
			if (r == -ENOBUFS) {
				done[i] = true;
				nobufs++;
			} else {
				cr_assert_eq(r, -ETIMEDOUT, "hog %d: %zd (%s)",
				             i, r, ipk_strerror((int)r));
			}
			size_t now = heap_in_use() - before;
			peak = now > peak ? now : peak;
		}
		if (!written && th_get(j.up[0], 0) == 'w')
			written = true;
		if (written && !quiet_until)
			quiet_until = th_now_ms() + 500;
	}
	cr_assert(written, "the hogs could not write their 400 KiB");
	for (int i = 0; i < HOGS; i++) {
		if (done[i])
			continue;
		ssize_t r = ipk_recv(c[i], buf, HOG_CLAIM + 1, 0);
		if (r == -ENOBUFS)
			nobufs++;
	}
	struct ipk_stats st;
	cr_assert_eq(ipk_stats(j.l, &st), 0);
	cr_assert_geq(nobufs, 1, "no connection was shed (heap +%zu)", peak);
	for (int i = 0; i < HOGS; i++)
		if (done[i]) {
			ssize_t r = ipk_recv(c[i], buf, HOG_CLAIM + 1, 0);
			cr_assert(is_closed(r), "shed hog %d: then %zd", i, r);
		}
	cr_assert_eq(st.shed, nobufs, "shed %lld, -ENOBUFS %d", st.shed,
	             nobufs);
	if (!th_asan())
		cr_assert_lt(peak, BUDGET + (2u << 20),
		             "partial messages held %zu bytes", peak);
	/* A 5th, normal client is still served. */
	pid_t w = spawn(small_client, &j);
	ipk_chan *s = accept_ok(j.l);
	ssize_t r = ipk_recv(s, buf, 64, WAIT * th_mult());
	cr_assert_eq(r, 5, "small client: %zd (%s)", r, ipk_strerror((int)r));
	cr_assert_eq(ipk_send(s, "ok", 2, WAIT), 0);
	expect_exit(w, WAIT, 0, "small client");
	th_put(j.down[1], 'q');
	expect_exit(hogs, WAIT, 0, "hogs");
	free(buf);
	ipk_close(s);
	for (int i = 0; i < HOGS; i++)
		ipk_close(c[i]);
	job_close(&j);
	ipk_close(j.l);
	cr_assert_eq(th_fd_count(), base, "descriptors leaked");
}

Test(stream, rxbudget_sheds_the_largest_tcp)
{
	budget_run("tcp");
}

Test(stream, rxbudget_sheds_the_largest_unix)
{
	budget_run("unix");
}

/*
 * What the budget charges comes back: when a message completes, and when
 * a connection holding a partial one is closed.  Budget 1 MiB; A holds
 * 800 KiB of a 2 MiB message and is closed; then B sends messages of
 * 600 KiB in two halves, one after the other: none is shed (had A's
 * charge stayed, B's first half would pass the budget).
 */
#define RELEASE_HELD (800u << 10)
#define RELEASE_PART (600u << 10)

static int
release_peer(void *arg)
{
	struct job *j = arg;
	int a = raw_connect(j->name);
	CK(a >= 0);
	static char buf[4 + RELEASE_HELD];
	raw_header(buf, 2u << 20);
	CK(raw_write(a, buf, 4 + RELEASE_HELD) == 0);
	CK(th_get(j->down[0], 20000) == 'b'); /* A is closed: B now */
	close(a);
	int b = raw_connect(j->name);
	CK(b >= 0);
	for (uint32_t k = 0; k < 4; k++) {
		raw_header(buf, RELEASE_PART);
		msg_make(buf + 4, k, RELEASE_PART);
		size_t half = (4 + RELEASE_PART) / 2;
		CK(raw_write(b, buf, half) == 0);
		usleep(50000);
		CK(raw_write(b, buf + half, 4 + RELEASE_PART - half) == 0);
	}
	th_get(j->down[0], 20000);
	close(b);
	return 0;
}

static void
release_run(const char *kind)
{
	struct job j = {0};
	j.l = listen_kind(kind, "?rxbudget=1048576", j.name, sizeof(j.name));
	job_pipes(&j);
	char *buf = malloc(2u << 20);
	cr_assert_not_null(buf);
	pid_t w = spawn(release_peer, &j);
	ipk_chan *a = accept_ok(j.l);
	/* Take in A's 800 KiB (the receives time out: the rest never comes). */
	long long end = th_now_ms() + 1000;
	while (th_now_ms() < end) {
		ssize_t r = ipk_recv(a, buf, 2u << 20, 20);
		cr_assert_eq(r, -ETIMEDOUT, "A: %zd (%s)", r,
		             ipk_strerror((int)r));
	}
	ipk_close(a);
	cr_assert_eq(th_put(j.down[1], 'b'), 0);
	ipk_chan *b = accept_ok(j.l);
	for (uint32_t k = 0; k < 4; k++) {
		ssize_t r;
		do
			r = ipk_recv(b, buf, 2u << 20, 20);
		while (r == -ETIMEDOUT);
		cr_assert_eq(r, (ssize_t)RELEASE_PART, "B message %u: %zd (%s)",
		             k, r, ipk_strerror((int)r));
		cr_assert_eq(msg_seq(buf, RELEASE_PART), k, "B %u torn", k);
	}
	struct ipk_stats st;
	cr_assert_eq(ipk_stats(j.l, &st), 0);
	cr_assert_eq(st.shed, 0, "shed %lld", st.shed);
	th_put(j.down[1], 'q');
	expect_exit(w, WAIT, 0, "raw peer");
	free(buf);
	job_close(&j);
	ipk_close(b);
	ipk_close(j.l);
}

Test(stream, rxbudget_given_back_on_close_and_completion_tcp)
{
	release_run("tcp");
}

Test(stream, rxbudget_given_back_on_close_and_completion_unix)
{
	release_run("unix");
}

/* The connections outlive their listener, and so does its budget. */
Test(stream, rxbudget_connection_outlives_its_listener_tcp)
{
	struct job j = {0};
	j.l = listen_kind("tcp", "?rxbudget=1048576", j.name, sizeof(j.name));
	int fd = raw_ok(j.name);
	ipk_chan *c = accept_ok(j.l);
	ipk_close(j.l);
	static char msg[4 + (512u << 10)];
	raw_header(msg, 512u << 10);
	msg_make(msg + 4, 9, 512u << 10);
	cr_assert_eq(raw_write(fd, msg, 4 + (256u << 10)), 0);
	char *buf = malloc(1u << 20);
	cr_assert_not_null(buf);
	cr_assert_eq(ipk_recv(c, buf, 1u << 20, 100), -ETIMEDOUT);
	cr_assert_eq(raw_write(fd, msg + 4 + (256u << 10), 256u << 10), 0);
	ssize_t r = ipk_recv(c, buf, 1u << 20, WAIT);
	cr_assert_eq(r, 512 << 10, "%zd (%s)", r, ipk_strerror((int)r));
	cr_assert_eq(msg_seq(buf, 512u << 10), 9u);
	free(buf);
	close(fd);
	ipk_close(c);
}

/* An unknown budget spelling is refused, not ignored. */
Test(stream, rxbudget_option_checked)
{
	static const char *const bad[] = {
	        "tcp://127.0.0.1:0?rxbudget=-1",
	        "tcp://127.0.0.1:0?rxbudget=x",
	        "tcp://127.0.0.1:0?frame=-5",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ipk_chan *l = NULL;
		cr_expect_eq(ipk_listen(bad[i], &l), -EINVAL, "%s", bad[i]);
		ipk_close(l);
	}
}
