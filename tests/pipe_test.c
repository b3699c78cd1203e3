/*
 * pipe_test.c - the "pipe:" transport with real processes: the length
 * bomb, a writer killed mid-frame, SIGPIPE, an EINTR storm, partial
 * writes, timeouts, PIPE_BUF atomicity with 8 writers and close-on-exec
 * (RELIABILITY.md ..X-06, X-08, PIPE-01..04).
 */
#include <criterion/criterion.h>

#include "helpers.h"
#include "stream_common.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(pipe, .fini = th_cleanup, .timeout = 30);

static void
make_pair(const char *url, ipk_chan **rd, ipk_chan **wr)
{
	int rc = ipk_pair(url, rd, wr);
	cr_assert_eq(rc, 0, "ipk_pair(%s): %s", url, ipk_strerror(rc));
}

/* Bytes waiting in the pipe behind ch. */
static int
pipe_unread(const ipk_chan *ch)
{
	int n = -1;
	cr_assert_eq(ioctl(ipk_fd(ch), FIONREAD, &n), 0);
	return n;
}

/* ---- a length prefix above the maximum ------------------------ */

struct bomb {
	const char *url;
	uint32_t claim;
	ipk_chan *rd, *wr;
	int go[2]; /* receiver -> raw writer: "write the 10 bytes now" */
	int expect;
};

/* Keep a receiver that allocates what a peer claims from succeeding. */
static void
limit_address_space(void)
{
	if (th_asan())
		return; /* RLIMIT_AS breaks ASan's shadow mapping */
	struct rlimit rl = {512u << 20, 512u << 20};
	setrlimit(RLIMIT_AS, &rl);
}

static int
bomb_writer(void *arg)
{
	struct bomb *b = arg;
	ipk_close(b->rd);
	uint32_t be = htonl(b->claim);
	CK(write(ipk_fd(b->wr), &be, 4) == 4);
	CK(th_get(b->go[0], 10000) == 'g');
	/* The receiver may have closed already: that is fine. */
	signal(SIGPIPE, SIG_IGN);
	ssize_t r = write(ipk_fd(b->wr), "0123456789", 10);
	CK(r == 10 || (r < 0 && errno == EPIPE));
	return 0;
}

static int
bomb_reader(void *arg)
{
	struct bomb *b = arg;
	ipk_close(b->wr);
	limit_address_space();
	size_t before = heap_in_use();
	char buf[64];
	struct ipk_msg m = {.buf = buf, .len = sizeof(buf)};
	/* Only the header is there: the answer must not wait for a body. */
	int wait = b->expect == -EMSGSIZE ? 3000 : 200;
	ssize_t r = ipk_recvmsg(b->rd, &m, wait);
	if (r != b->expect)
		fprintf(stderr, "bomb %s claim %u: %zd (%s)\n", b->url,
		        b->claim, r, ipk_strerror((int)r));
	CK(r == b->expect);
	if (!th_asan())
		CK(heap_in_use() - before < (2u << 20));
	CK(th_put(b->go[1], 'g') == 0);
	if (b->expect == -EMSGSIZE) {
		CK(m.len == b->claim);
		/* The stream cannot be resynced: the channel stays closed. */
		CK(ipk_recv(b->rd, buf, sizeof(buf), 1000) == -EPIPE);
		CK(ipk_recv(b->rd, buf, sizeof(buf), 0) == -EPIPE);
	} else {
		/* A claim within ?max=: the body is short, then EOF. */
		CK(ipk_recv(b->rd, buf, sizeof(buf), 10000) == -ECONNRESET);
	}
	ipk_close(b->rd);
	return 0;
}

static void
bomb_run(const char *url, uint32_t claim, int expect)
{
	struct bomb b = {.url = url, .claim = claim, .expect = expect};
	int p[2];
	make_pair(url, &b.rd, &b.wr);
	cr_assert_eq(pipe(p), 0);
	b.go[0] = p[0], b.go[1] = p[1];
	pid_t w = spawn(bomb_writer, &b);
	pid_t r = spawn(bomb_reader, &b);
	ipk_close(b.rd);
	ipk_close(b.wr);
	close(p[0]);
	close(p[1]);
	expect_exit(r, 10000, 0, "receiver");
	expect_exit(w, 10000, 0, "raw writer");
}

Test(pipe, x01_length_bomb)
{
	bomb_run("pipe:", IPK_DEFAULT_MAX + 1, -EMSGSIZE);
	bomb_run("pipe:", UINT32_MAX, -EMSGSIZE);
	bomb_run("pipe:?max=1024", 1025, -EMSGSIZE);
}

/* A claim the channel allows grows the buffer only as bytes arrive. */
Test(pipe, x01_claim_within_max_allocates_lazily)
{
	bomb_run("pipe:?max=4294967295", UINT32_MAX, -ETIMEDOUT);
}

/* ---- the writer killed in the middle of a frame --------------- */

struct killed {
	ipk_chan *rd, *wr;
	int whole; /* messages sent whole before the torn one */
};

static int
killed_writer(void *arg)
{
	struct killed *k = arg;
	ipk_close(k->rd);
	char buf[100];
	for (int i = 0; i < k->whole; i++)
		CK(ipk_send(k->wr, buf, msg_make(buf, (uint32_t)i, 100),
		            5000) == 0);
	/* The header of a 100-byte message and 3 bytes of it, then die. */
	char part[7];
	uint32_t be = htonl(100);
	memcpy(part, &be, 4);
	memcpy(part + 4, "abc", 3);
	CK(write(ipk_fd(k->wr), part, sizeof(part)) == sizeof(part));
	raise(SIGSTOP);
	return 0;
}

Test(pipe, x03_writer_killed_midframe)
{
	struct killed k = {.whole = 5};
	make_pair("pipe:", &k.rd, &k.wr);
	pid_t w = spawn(killed_writer, &k);
	ipk_close(k.wr);
	cr_assert_eq(th_wait_stopped(w, 5000 * th_mult()), 0);
	kill(w, SIGKILL);
	expect_exit(w, 5000, 128 + SIGKILL, "writer");
	char buf[200];
	for (int i = 0; i < k.whole; i++) {
		ssize_t r = ipk_recv(k.rd, buf, sizeof(buf), 5000);
		cr_assert_eq(r, 100, "message %d: %zd (%s)", i, r,
		             ipk_strerror((int)r));
		cr_assert_eq(msg_seq(buf, 100), (uint32_t)i);
	}
	ssize_t r = ipk_recv(k.rd, buf, sizeof(buf), 5000);
	cr_assert_eq(r, -ECONNRESET, "torn frame: %zd (%s)", r,
	             ipk_strerror((int)r));
	/* Later receives report the closed pipe, consistently. */
	cr_assert_eq(ipk_recv(k.rd, buf, sizeof(buf), 1000), -EPIPE);
	cr_assert_eq(ipk_recv(k.rd, buf, sizeof(buf), 0), -EPIPE);
	ipk_close(k.rd);
}

/* ---- SIGPIPE never reaches the caller ------------------------- */

static int
sigpipe_case(void *arg)
{
	int how = *(int *)arg; /* 0 default, 1 blocked, 2 ignored */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	signal(SIGPIPE, how == 2 ? SIG_IGN : SIG_DFL);
	sigprocmask(how == 1 ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
	ipk_chan *rd, *wr;
	CK(ipk_pair("pipe:", &rd, &wr) == 0);
	CK(ipk_send(wr, "first", 5, 1000) == 0);
	ipk_close(rd);
	CK(ipk_send(wr, "x", 1, 1000) == -EPIPE);
	CK(ipk_send(wr, "y", 1, 0) == -EPIPE);
	CK(!sigpipe_pending());
	/* A batch holds SIGPIPE off once for all its writes. */
	struct iovec v[200];
	for (int i = 0; i < 200; i++)
		v[i] = (struct iovec){"z", 1};
	CK(ipk_send_batch(wr, v, 200, 1000) == -EPIPE);
	CK(!sigpipe_pending());
	/* The caller's mask is as it was. */
	sigset_t now;
	sigprocmask(SIG_SETMASK, NULL, &now);
	CK(sigismember(&now, SIGPIPE) == (how == 1));
	ipk_close(wr);
	return 0;
}

static void
sigpipe_run(int how)
{
	pid_t pid = spawn(sigpipe_case, &how);
	int st = th_wait(pid, 5000 * th_mult());
	cr_assert_neq(st, 128 + SIGPIPE, "killed by SIGPIPE (mode %d)", how);
	cr_assert_eq(st, 0, "mode %d: status %d", how, st);
}

Test(pipe, x04_sigpipe_default)
{
	sigpipe_run(0);
}

Test(pipe, x04_sigpipe_blocked_not_left_pending)
{
	sigpipe_run(1);
}

Test(pipe, x04_sigpipe_ignored)
{
	sigpipe_run(2);
}

/* A SIGPIPE the caller had pending already is the caller's: it stays. */
static int
sigpipe_own_pending(void *arg)
{
	(void)arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGPIPE);
	CK(sigpipe_pending());
	ipk_chan *rd, *wr;
	CK(ipk_pair("pipe:", &rd, &wr) == 0);
	ipk_close(rd);
	CK(ipk_send(wr, "x", 1, 1000) == -EPIPE);
	CK(sigpipe_pending());
	struct timespec zero = {0, 0};
	CK(sigtimedwait(&set, NULL, &zero) == SIGPIPE);
	CK(!sigpipe_pending());
	ipk_close(wr);
	return 0;
}

Test(pipe, x04_sigpipe_callers_own_pending_kept)
{
	expect_exit(spawn(sigpipe_own_pending, NULL), 5000, 0, "child");
}

/* The reader is another process that exits; the writer sends on. */
static int
sigpipe_reader_exits(void *arg)
{
	ipk_chan **ends = arg;
	ipk_close(ends[1]);
	char buf[16];
	CK(ipk_recv(ends[0], buf, sizeof(buf), 5000) == 5);
	return 0;
}

static int
sigpipe_writer(void *arg)
{
	ipk_chan **ends = arg;
	signal(SIGPIPE, SIG_DFL);
	ipk_close(ends[0]);
	CK(ipk_send(ends[1], "hello", 5, 1000) == 0);
	int rc;
	long long end = th_now_ms() + 5000;
	while ((rc = ipk_send(ends[1], "more", 4, 100)) == 0 &&
	       th_now_ms() < end)
		usleep(1000);
	CK(rc == -EPIPE);
	CK(!sigpipe_pending());
	ipk_close(ends[1]);
	return 0;
}

Test(pipe, x04_sigpipe_reader_process_exits)
{
	ipk_chan *ends[2];
	make_pair("pipe:", &ends[0], &ends[1]);
	pid_t r = spawn(sigpipe_reader_exits, ends);
	pid_t w = spawn(sigpipe_writer, ends);
	ipk_close(ends[0]);
	ipk_close(ends[1]);
	expect_exit(r, 5000, 0, "reader");
	expect_exit(w, 10000, 0, "writer");
}

/* ---- an EINTR storm ------------------------------------------- */

#define STORM_N 20000

struct storm {
	ipk_chan *rd, *wr;
	bool restart;
};

static int
storm_sender(void *arg)
{
	struct storm *s = arg;
	ipk_close(s->rd);
	storm_start(s->restart);
	char buf[1024];
	for (uint32_t i = 0; i < STORM_N; i++)
		CK(ipk_send(s->wr, buf, msg_make(buf, i, storm_len(i)),
		            10000) == 0);
	storm_stop();
	ipk_close(s->wr);
	return 0;
}

static void
storm_run(bool restart)
{
	struct storm s = {.restart = restart};
	make_pair("pipe:", &s.rd, &s.wr);
	pid_t w = spawn(storm_sender, &s);
	ipk_close(s.wr);
	storm_start(restart);
	char buf[1024];
	for (uint32_t i = 0; i < STORM_N; i++) {
		ssize_t r = ipk_recv(s.rd, buf, sizeof(buf), 10000 * th_mult());
		cr_assert_eq(r, (ssize_t)storm_len(i), "message %u: %zd (%s)",
		             i, r, ipk_strerror((int)r));
		cr_assert_eq(msg_seq(buf, (size_t)r), i, "message %u torn", i);
	}
	cr_assert_eq(ipk_recv(s.rd, buf, sizeof(buf), 10000), -EPIPE);
	ipk_close(s.rd);
	expect_exit(w, 10000, 0, "sender");

	/* A timed receive on an idle pipe ends at its deadline anyway. */
	ipk_chan *rd, *wr;
	make_pair("pipe:", &rd, &wr);
	long long t0 = th_now_ms();
	ssize_t r = ipk_recv(rd, buf, sizeof(buf), 300);
	long long dt = th_now_ms() - t0;
	storm_stop();
	cr_assert_eq(r, -ETIMEDOUT, "idle recv: %zd", r);
	cr_assert(dt >= 300 && dt < 1300 * th_mult(), "idle recv took %lld",
	          dt);
	cr_assert(storm_hits > 50, "only %d signals arrived", (int)storm_hits);
	ipk_close(rd);
	ipk_close(wr);
}

Test(pipe, x05_eintr_storm_no_restart)
{
	storm_run(false);
}

Test(pipe, x05_eintr_storm_sa_restart)
{
	storm_run(true);
}

/* ---- partial writes through a 4 KiB pipe ---------------------- */

#define BIG (1u << 20)

struct partial {
	ipk_chan *rd, *wr;
	int n, timeout;
	int *refused; /* shared: sends that reported nothing sent */
};

static int
partial_sender(void *arg)
{
	struct partial *p = arg;
	ipk_close(p->rd);
	char *buf = malloc(BIG);
	CK(buf);
	int want = p->timeout == 0 ? -EAGAIN : -ETIMEDOUT;
	for (int i = 0; i < p->n; i++) {
		msg_make(buf, (uint32_t)i, BIG);
		int rc;
		/* Resending after a refusal must not duplicate anything. */
		while ((rc = ipk_send(p->wr, buf, BIG, p->timeout)) != 0) {
			if (rc != want)
				fprintf(stderr, "send %d: %s\n", i,
				        ipk_strerror(rc));
			CK(rc == want);
			(*p->refused)++;
			if (p->timeout == 0)
				usleep(200);
		}
	}
	free(buf);
	ipk_close(p->wr); /* finishes a frame the last send left */
	return 0;
}

static void
partial_run(int timeout)
{
	struct partial p = {.n = 24, .timeout = timeout};
	p.refused = th_shared(sizeof(int));
	cr_assert_not_null(p.refused);
	make_pair("pipe:", &p.rd, &p.wr);
	cr_assert_geq(fcntl(ipk_fd(p.wr), F_SETPIPE_SZ, 4096), 4096);
	cr_assert_leq(fcntl(ipk_fd(p.wr), F_GETPIPE_SZ), 8192);
	pid_t w = spawn(partial_sender, &p);
	ipk_close(p.wr);
	char *buf = malloc(BIG);
	cr_assert_not_null(buf);
	for (int i = 0; i < p.n; i++) {
		/* Slow reader: the sender's deadline passes mid-frame. */
		usleep(i < 8 ? 20000 : 2000);
		ssize_t r = ipk_recv(p.rd, buf, BIG, 10000 * th_mult());
		cr_assert_eq(r, (ssize_t)BIG, "message %d: %zd (%s)", i, r,
		             ipk_strerror((int)r));
		cr_assert_eq(msg_seq(buf, BIG), (uint32_t)i,
		             "message %d torn or out of order", i);
	}
	ssize_t r = ipk_recv(p.rd, buf, BIG, 10000);
	cr_assert_eq(r, -EPIPE, "after the last: %zd (%s)", r,
	             ipk_strerror((int)r));
	free(buf);
	ipk_close(p.rd);
	expect_exit(w, 20000, 0, "sender");
	cr_assert_gt(*p.refused, 0, "no send ever ran out of time");
}

Test(pipe, x06_partial_writes_timed)
{
	partial_run(3);
}

Test(pipe, x06_partial_writes_nonblocking)
{
	partial_run(0);
}

/* ---- timeouts -------------------------------------------------- */

Test(pipe, x08_recv_timeout_idle)
{
	ipk_chan *rd, *wr;
	make_pair("pipe:", &rd, &wr);
	char buf[16];
	long long t0 = th_now_ms();
	ssize_t r = ipk_recv(rd, buf, sizeof(buf), 200);
	long long dt = th_now_ms() - t0;
	cr_assert_eq(r, -ETIMEDOUT, "%zd (%s)", r, ipk_strerror((int)r));
	cr_assert(dt >= 200 && dt < 2200 * th_mult(), "took %lld ms", dt);
	cr_assert_eq(ipk_recv(rd, buf, sizeof(buf), 0), -EAGAIN);
	/* The channel is still usable afterwards. */
	cr_assert_eq(ipk_send(wr, "ok", 2, 1000), 0);
	cr_assert_eq(ipk_recv(rd, buf, sizeof(buf), 1000), 2);
	ipk_close(rd);
	ipk_close(wr);
}

/* Fill a 4 KiB pipe with 1 KiB frames; returns how many went. */
static int
fill_pipe(ipk_chan *wr)
{
	char buf[1020] = {0};
	int n = 0, rc;
	while ((rc = ipk_send(wr, buf, sizeof(buf), 0)) == 0)
		n++;
	cr_assert_eq(rc, -EAGAIN, "filling: %s", ipk_strerror(rc));
	return n;
}

Test(pipe, x08_send_timeout_full)
{
	ipk_chan *rd, *wr;
	make_pair("pipe:", &rd, &wr);
	cr_assert_geq(fcntl(ipk_fd(wr), F_SETPIPE_SZ, 4096), 4096);
	int n = fill_pipe(wr);
	cr_assert_gt(n, 0);
	int before = pipe_unread(rd);
	long long t0 = th_now_ms();
	int rc = ipk_send(wr, "late", 4, 200);
	long long dt = th_now_ms() - t0;
	cr_assert_eq(rc, -ETIMEDOUT, "%s", ipk_strerror(rc));
	cr_assert(dt >= 200 && dt < 2200 * th_mult(), "took %lld ms", dt);
	cr_assert_eq(pipe_unread(rd), before, "a refused send wrote bytes");
	ipk_close(rd);
	ipk_close(wr);
}

/* ---- PIPE-01 / PIPE-02: PIPE_BUF atomicity -------------------------- */

#define ATOM_WRITERS 8
#define ATOM_FRAMES 2000
#define ATOM_LEN (PIPE_BUF - IPK_FRAME_HEADER)

struct atom {
	ipk_chan *rd, *wr;
	uint32_t id;
};

static int
atom_writer(void *arg)
{
	struct atom *a = arg;
	ipk_close(a->rd);
	char buf[ATOM_LEN];
	for (uint32_t s = 0; s < ATOM_FRAMES; s++) {
		uint32_t hdr[2] = {htonl(a->id), htonl(s)};
		memcpy(buf, hdr, sizeof(hdr));
		th_fill(buf + 8, ATOM_LEN - 8, a->id << 16 | s);
		CK(ipk_send(a->wr, buf, ATOM_LEN, 20000) == 0);
	}
	ipk_close(a->wr);
	return 0;
}

Test(pipe, pipe01_atomic_8_writers)
{
	struct atom a[ATOM_WRITERS];
	pid_t pid[ATOM_WRITERS];
	ipk_chan *rd, *wr;
	make_pair("pipe:?atomic", &rd, &wr);
	for (uint32_t i = 0; i < ATOM_WRITERS; i++) {
		a[i] = (struct atom){rd, wr, i};
		pid[i] = spawn(atom_writer, &a[i]);
	}
	ipk_close(wr);
	long next[ATOM_WRITERS] = {0};
	char *buf = malloc(PIPE_BUF);
	for (int f = 0; f < ATOM_WRITERS * ATOM_FRAMES; f++) {
		ssize_t r = ipk_recv(rd, buf, PIPE_BUF, 10000 * th_mult());
		cr_assert_eq(r, ATOM_LEN, "frame %d: %zd (%s)", f, r,
		             ipk_strerror((int)r));
		uint32_t hdr[2];
		memcpy(hdr, buf, sizeof(hdr));
		uint32_t id = ntohl(hdr[0]), s = ntohl(hdr[1]);
		cr_assert_lt(id, ATOM_WRITERS, "frame %d: writer %u", f, id);
		cr_assert_eq(s, (uint32_t)next[id],
		             "writer %u: seq %u after %ld", id, s,
		             next[id] - 1);
		cr_assert(th_check(buf + 8, ATOM_LEN - 8, id << 16 | s),
		          "writer %u seq %u: interleaved bytes", id, s);
		next[id]++;
	}
	cr_assert_eq(ipk_recv(rd, buf, PIPE_BUF, 10000), -EPIPE);
	free(buf);
	ipk_close(rd);
	for (int i = 0; i < ATOM_WRITERS; i++)
		expect_exit(pid[i], 10000, 0, "writer");
}

Test(pipe, pipe02_atomic_refuses_above_pipe_buf)
{
	ipk_chan *rd, *wr;
	make_pair("pipe:?atomic", &rd, &wr);
	static char buf[PIPE_BUF + 1];
	int rc = ipk_send(wr, buf, ATOM_LEN + 1, 1000);
	cr_assert_eq(rc, -EMSGSIZE, "frame of PIPE_BUF+1: %s",
	             ipk_strerror(rc));
	cr_assert_eq(pipe_unread(rd), 0, "a refused frame left bytes");
	/* In a batch, the frames before the big one go, and no more. */
	struct iovec v[3] = {{buf, 10}, {buf, ATOM_LEN + 1}, {buf, 10}};
	cr_assert_eq(ipk_send_batch(wr, v, 3, 1000), 1);
	cr_assert_eq(ipk_send(wr, buf, ATOM_LEN, 1000), 0);
	cr_assert_eq(ipk_recv(rd, buf, sizeof(buf), 1000), 10);
	cr_assert_eq(ipk_recv(rd, buf, sizeof(buf), 1000), ATOM_LEN);
	cr_assert_eq(ipk_recv(rd, buf, sizeof(buf), 0), -EAGAIN);
	ipk_close(rd);
	ipk_close(wr);
}

Test(pipe, pipe02_max_refuses_above_max)
{
	ipk_chan *rd, *wr;
	make_pair("pipe:?max=100", &rd, &wr);
	char buf[101] = {0};
	cr_assert_eq(ipk_send(wr, buf, 101, 1000), -EMSGSIZE);
	cr_assert_eq(pipe_unread(rd), 0);
	cr_assert_eq(ipk_send(wr, buf, 100, 1000), 0);
	cr_assert_eq(ipk_recv(rd, buf, sizeof(buf), 1000), 100);
	ipk_close(rd);
	ipk_close(wr);
}

/* ---- PIPE-03: a non-blocking send into a full pipe ------------------ */

Test(pipe, pipe03_nonblocking_full)
{
	ipk_chan *rd, *wr;
	make_pair("pipe:", &rd, &wr);
	cr_assert_geq(fcntl(ipk_fd(wr), F_SETPIPE_SZ, 4096), 4096);
	int n = fill_pipe(wr);
	int before = pipe_unread(rd);
	cr_assert_gt(before, 0);
	for (int i = 0; i < 3; i++) {
		int rc = ipk_send(wr, "small", 5, 0);
		cr_assert_eq(rc, -EAGAIN, "%s", ipk_strerror(rc));
		cr_assert_eq(pipe_unread(rd), before, "EAGAIN wrote bytes");
	}
	char buf[2048];
	for (int i = 0; i < n; i++)
		cr_assert_eq(ipk_recv(rd, buf, sizeof(buf), 0), 1020);
	cr_assert_eq(ipk_recv(rd, buf, sizeof(buf), 0), -EAGAIN);
	cr_assert_eq(ipk_send(wr, "small", 5, 0), 0);
	cr_assert_eq(ipk_recv(rd, buf, sizeof(buf), 0), 5);
	cr_assert_eq(memcmp(buf, "small", 5), 0);
	ipk_close(rd);
	ipk_close(wr);
}

/* ---- PIPE-04: descriptors do not leak into exec'd children ---------- */

static int
exec_sleep(void *arg)
{
	(void)arg;
	execlp("sleep", "sleep", "5", (char *)NULL);
	return 127;
}

static bool
is_comm(pid_t pid, const char *name)
{
	char path[64], buf[64] = {0};
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	bool same = fgets(buf, sizeof(buf), f) &&
	            strncmp(buf, name, strlen(name)) == 0;
	fclose(f);
	return same;
}

/* How many of pid's descriptors are the pipe with inode ino. */
static int
fds_on_pipe(pid_t pid, ino_t ino)
{
	char dir[64], want[64];
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	snprintf(want, sizeof(want), "pipe:[%lu]", (unsigned long)ino);
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[PATH_MAX], link[128] = {0};
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (readlink(path, link, sizeof(link) - 1) > 0 &&
		    strcmp(link, want) == 0)
			n++;
	}
	closedir(d);
	return n;
}

Test(pipe, pipe04_cloexec_no_leak_into_exec)
{
	ipk_chan *rd, *wr;
	make_pair("pipe:", &rd, &wr);
	cr_assert(fcntl(ipk_fd(rd), F_GETFD) & FD_CLOEXEC);
	cr_assert(fcntl(ipk_fd(wr), F_GETFD) & FD_CLOEXEC);
	/* Blocking descriptors: each call that must not wait says so
	 * (RWF_NOWAIT), so an untimed receive is one blocking read. */
	cr_assert(!(fcntl(ipk_fd(rd), F_GETFL) & O_NONBLOCK));
	cr_assert(!(fcntl(ipk_fd(wr), F_GETFL) & O_NONBLOCK));
	struct stat st;
	cr_assert_eq(fstat(ipk_fd(rd), &st), 0);
	pid_t pid = spawn(exec_sleep, NULL);
	long long end = th_now_ms() + 5000;
	while (!is_comm(pid, "sleep") && th_now_ms() < end)
		usleep(1000);
	cr_assert(is_comm(pid, "sleep"), "the child did not exec sleep");
	cr_assert_eq(fds_on_pipe(pid, st.st_ino), 0,
	             "the exec'd child holds the pipe");
	ipk_close(wr);
	char buf[16];
	long long t0 = th_now_ms();
	ssize_t r = ipk_recv(rd, buf, sizeof(buf), 3000);
	long long dt = th_now_ms() - t0;
	cr_assert_eq(r, -EPIPE, "%zd (%s)", r, ipk_strerror((int)r));
	cr_assert_lt(dt, 1000, "EOF took %lld ms", dt);
	ipk_close(rd);
	kill(pid, SIGKILL);
	th_wait(pid, 5000);
}

/* ---- The rest of the contract --------------------------------------- */

Test(pipe, small_buffer_keeps_message)
{
	ipk_chan *rd, *wr;
	make_pair("pipe:", &rd, &wr);
	char out[300], in[300];
	msg_make(out, 7, sizeof(out));
	cr_assert_eq(ipk_send(wr, out, sizeof(out), 1000), 0);
	struct ipk_msg m = {.buf = in, .len = 10};
	cr_assert_eq(ipk_recvmsg(rd, &m, 1000), -EMSGSIZE);
	cr_assert_eq(m.len, sizeof(out), "needed size %zu", m.len);
	cr_assert_eq(ipk_recv(rd, in, 299, 1000), -EMSGSIZE);
	cr_assert_eq(ipk_recv(rd, in, sizeof(in), 1000), (ssize_t)sizeof(in));
	cr_assert_eq(msg_seq(in, sizeof(in)), 7u);
	ipk_close(rd);
	ipk_close(wr);
}

Test(pipe, ends_are_one_way)
{
	ipk_chan *rd, *wr;
	make_pair("pipe:", &rd, &wr);
	char buf[8];
	cr_assert_eq(ipk_send(rd, "x", 1, 0), -ENOTSUP);
	cr_assert_eq(ipk_recv(wr, buf, sizeof(buf), 0), -ENOTSUP);
	cr_assert_eq(strcmp(ipk_scheme(rd), "pipe"), 0);
	ipk_close(rd);
	ipk_close(wr);
}

Test(pipe, messages_then_epipe_and_zero_length)
{
	ipk_chan *rd, *wr;
	make_pair("pipe:", &rd, &wr);
	char buf[8];
	cr_assert_eq(ipk_send(wr, "", 0, 1000), 0);
	cr_assert_eq(ipk_send(wr, "abc", 3, 1000), 0);
	ipk_close(wr);
	cr_assert_eq(ipk_recv(rd, buf, sizeof(buf), 1000), 0);
	cr_assert_eq(ipk_recv(rd, buf, sizeof(buf), 1000), 3);
	cr_assert_eq(ipk_recv(rd, buf, sizeof(buf), 1000), -EPIPE);
	ipk_close(rd);
}

Test(pipe, fd_count_back_to_baseline)
{
	int base = th_fd_count();
	for (int i = 0; i < 10; i++) {
		ipk_chan *rd, *wr;
		make_pair(i % 2 ? "pipe:?atomic" : "pipe:", &rd, &wr);
		cr_assert_eq(ipk_send(wr, "x", 1, 0), 0);
		ipk_close(wr);
		ipk_close(rd);
	}
	ipk_chan *rd = NULL, *wr = NULL;
	cr_assert_eq(ipk_pair("pipe:?bogus", &rd, &wr), -EINVAL);
	cr_assert_eq(ipk_pair("pipe:/x", &rd, &wr), -EINVAL);
	cr_assert_eq(th_fd_count(), base);
}

/* A 0-byte message into a NULL buffer of cap 0 (memcpy(NULL) was UB). */
Test(pipe, zero_length_into_null_buffer)
{
	ipk_chan *rd, *wr;
	make_pair("pipe:", &rd, &wr);
	cr_assert_eq(ipk_send(wr, "", 0, 1000), 0);
	cr_assert_eq(ipk_send(wr, "x", 1, 1000), 0);
	cr_assert_eq(ipk_recv(rd, NULL, 0, 1000), 0);
	cr_assert_eq(ipk_recv(rd, NULL, 0, 1000), -EMSGSIZE,
	             "a 1-byte message into cap 0");
	char buf[4];
	cr_assert_eq(ipk_recv(rd, buf, sizeof(buf), 1000), 1);
	struct ipk_msg m = {.buf = NULL, .len = 0};
	cr_assert_eq(ipk_send(wr, "", 0, 1000), 0);
	cr_assert_eq(ipk_recvmsg(rd, &m, 1000), 0);
	cr_assert_eq(m.len, 0);
	ipk_close(rd);
	ipk_close(wr);
}

Test(pipe, zero_length_send_from_null_buffer)
{
	ipk_chan *rd, *wr;
	make_pair("pipe:", &rd, &wr);
	cr_assert_eq(ipk_send(wr, NULL, 0, 1000), 0);
	struct iovec v[2] = {{NULL, 0}, {"ab", 2}};
	cr_assert_eq(ipk_send_batch(wr, v, 2, 1000), 2);
	char buf[4];
	cr_assert_eq(ipk_recv(rd, buf, sizeof(buf), 1000), 0);
	cr_assert_eq(ipk_recv(rd, NULL, 0, 1000), 0);
	cr_assert_eq(ipk_recv(rd, buf, sizeof(buf), 1000), 2);
	ipk_close(rd);
	ipk_close(wr);
}
