/*
 * fifo_test.c - the "fifo:" transport with real processes: the length
 * bomb, writers killed mid-frame, SIGPIPE, an EINTR storm, partial
 * writes, timeouts, squatting by another uid, modes, stale and live
 * listeners, several writers (RELIABILITY.md X-01..X-08, FIFO-01..03).
 */
#include <criterion/criterion.h>

#include "helpers.h"
#include "stream_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
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

TestSuite(fifo, .fini = th_cleanup, .timeout = 30);

#define NOBODY 65534

/* A fresh path under /tmp, removed when the test ends however it ends. */
static const char *
fresh_path(const char *tag)
{
	const char *p = th_path(tag);
	unlink(p);
	th_defer_remove(p);
	return p;
}

/* "fifo:" + path + query, in one of a few rotating buffers. */
static const char *
url_of(const char *path, const char *query)
{
	static char buf[4][PATH_MAX + 64];
	static int n;
	char *b = buf[n++ % 4];
	snprintf(b, sizeof(buf[0]), "fifo:%s%s", path, query ? query : "");
	return b;
}

static ipk_chan *
listen_ok(const char *url)
{
	ipk_chan *c = NULL;
	int rc = ipk_listen(url, &c);
	cr_assert_eq(rc, 0, "ipk_listen(%s): %s", url, ipk_strerror(rc));
	return c;
}

static ipk_chan *
dial_ok(const char *url)
{
	ipk_chan *c = NULL;
	int rc = ipk_dial(url, &c);
	cr_assert_eq(rc, 0, "ipk_dial(%s): %s", url, ipk_strerror(rc));
	return c;
}

static bool
exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static bool
is_fifo(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISFIFO(st.st_mode);
}

static mode_t
mode_of(const char *path)
{
	struct stat st;
	cr_assert_eq(lstat(path, &st), 0, "%s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

static void
expect_msg(ipk_chan *l, uint32_t seq, size_t len, int timeout_ms)
{
	char *buf = malloc(len + 1);
	cr_assert_not_null(buf);
	ssize_t r = ipk_recv(l, buf, len + 1, timeout_ms * th_mult());
	cr_assert_eq(r, (ssize_t)len, "message %u: %zd (%s)", seq, r,
	             ipk_strerror((int)r));
	cr_assert_eq(msg_seq(buf, len), seq, "message %u torn or out of order",
	             seq);
	free(buf);
}

static void
expect_idle(ipk_chan *l, int timeout_ms)
{
	char buf[64];
	ssize_t r = ipk_recv(l, buf, sizeof(buf), timeout_ms);
	cr_assert_eq(r, timeout_ms ? -ETIMEDOUT : -EAGAIN, "idle: %zd (%s)", r,
	             ipk_strerror((int)r));
}

struct peer {
	const char *url, *path;
	int sync[2]; /* child -> parent: ready */
	int go[2];   /* parent or sibling -> child: proceed */
	int n;
	uint32_t id;
	int *shared;
};

static void
peer_pipes(struct peer *p)
{
	cr_assert_eq(pipe(p->sync), 0);
	cr_assert_eq(pipe(p->go), 0);
}

/* ---- a length prefix above the maximum ------------------------ */

static int
bomb_listener(void *arg)
{
	struct peer *p = arg;
	uint32_t claim = p->id;
	bool bomb = p->n;
	if (!th_asan()) { /* RLIMIT_AS breaks ASan's shadow mapping */
		struct rlimit rl = {512u << 20, 512u << 20};
		setrlimit(RLIMIT_AS, &rl);
	}
	ipk_chan *l;
	CK(ipk_listen(p->url, &l) == 0);
	CK(th_put(p->sync[1], 'r') == 0);
	size_t before = heap_in_use();
	char buf[64];
	struct ipk_msg m = {.buf = buf, .len = sizeof(buf)};
	/* A refused header: what the writer sends until it closes is
	 * thrown away, then -EMSGSIZE once; the listener goes on. */
	if (bomb)
		CK(th_put(p->go[1], 'g') == 0);
	ssize_t r = ipk_recvmsg(l, &m, bomb ? 3000 : 200);
	if (r != (bomb ? -EMSGSIZE : -ETIMEDOUT))
		fprintf(stderr, "bomb %s claim %u: %zd (%s)\n", p->url, claim,
		        r, ipk_strerror((int)r));
	CK(r == (bomb ? -EMSGSIZE : -ETIMEDOUT));
	if (!th_asan())
		CK(heap_in_use() - before < (2u << 20));
	if (bomb) {
		struct ipk_stats st;
		CK(ipk_stats(l, &st) == 0 && st.discarded == 14);
		CK(m.len == claim);
		CK(ipk_recv(l, buf, sizeof(buf), 200) == -ETIMEDOUT);
	} else {
		CK(th_put(p->go[1], 'g') == 0);
		CK(ipk_recv(l, buf, sizeof(buf), 10000) == -ECONNRESET);
	}
	ipk_close(l);
	return 0;
}

static int
bomb_writer(void *arg)
{
	struct peer *p = arg;
	int fd = open(p->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	CK(fd >= 0);
	uint32_t be = htonl(p->id);
	CK(write(fd, &be, 4) == 4);
	CK(th_get(p->go[0], 10000) == 'g');
	signal(SIGPIPE, SIG_IGN);
	ssize_t r = write(fd, "0123456789", 10);
	CK(r == 10 || (r < 0 && errno == EPIPE));
	close(fd);
	return 0;
}

static void
bomb_run(const char *query, uint32_t claim, bool bomb)
{
	struct peer p = {.path = fresh_path("bomb"), .id = claim, .n = bomb};
	p.url = url_of(p.path, query);
	peer_pipes(&p);
	pid_t l = spawn(bomb_listener, &p);
	cr_assert_eq(th_get(p.sync[0], 5000 * th_mult()), 'r');
	pid_t w = spawn(bomb_writer, &p);
	expect_exit(l, 10000, 0, "listener");
	expect_exit(w, 10000, 0, "raw writer");
	cr_assert(!exists(p.path), "the listener left its FIFO");
}

Test(fifo, x01_length_bomb)
{
	bomb_run(NULL, IPK_DEFAULT_MAX + 1, true);
	bomb_run(NULL, UINT32_MAX, true);
	bomb_run("?max=1024", 1025, true);
}

/* A FIFO's frames above 1 GiB have the chunk bit set (chunk.c). */
Test(fifo, x01_claim_within_max_allocates_lazily)
{
	bomb_run("?max=1073741823", 0x3fffffff, false);
}

/* ---- a writer killed in the middle of a frame ----------------- */

static int
torn_writer(void *arg)
{
	struct peer *p = arg;
	ipk_chan *w;
	CK(ipk_dial(p->url, &w) == 0);
	char buf[100];
	for (int i = 0; i < p->n; i++)
		CK(ipk_send(w, buf, msg_make(buf, (uint32_t)i, 100), 5000) ==
		   0);
	char part[7];
	uint32_t be = htonl(100);
	memcpy(part, &be, 4);
	memcpy(part + 4, "abc", 3);
	CK(write(ipk_fd(w), part, sizeof(part)) == sizeof(part));
	raise(SIGSTOP);
	return 0;
}

static int
plain_writer(void *arg)
{
	struct peer *p = arg;
	ipk_chan *w;
	CK(ipk_dial(p->url, &w) == 0);
	char buf[4096];
	for (int i = 0; i < p->n; i++) {
		size_t len = 8 + (size_t)(i * 131) % 4000;
		CK(ipk_send(w, buf, msg_make(buf, p->id + (uint32_t)i, len),
		            10000) == 0);
	}
	ipk_close(w);
	return 0;
}

static size_t
plain_len(int i)
{
	return 8 + (size_t)(i * 131) % 4000;
}

static void
kill_stopped(pid_t pid)
{
	cr_assert_eq(th_wait_stopped(pid, 5000 * th_mult()), 0,
	             "the writer did not reach its stop point");
	kill(pid, SIGKILL);
	expect_exit(pid, 5000, 128 + SIGKILL, "killed writer");
}

Test(fifo, x03_writer_killed_midframe)
{
	struct peer p = {.path = fresh_path("torn"), .n = 5};
	p.url = url_of(p.path, NULL);
	ipk_chan *l = listen_ok(p.url);
	kill_stopped(spawn(torn_writer, &p));
	for (int i = 0; i < p.n; i++)
		expect_msg(l, (uint32_t)i, 100, 5000);
	char buf[200];
	ssize_t r = ipk_recv(l, buf, sizeof(buf), 5000);
	cr_assert_eq(r, -ECONNRESET, "torn frame: %zd (%s)", r,
	             ipk_strerror((int)r));
	/* Once: the listener then waits for writers as before. */
	expect_idle(l, 200);
	struct peer q = {.url = p.url, .n = 3, .id = 1000};
	expect_exit(spawn(plain_writer, &q), 10000, 0, "new writer");
	for (int i = 0; i < q.n; i++)
		expect_msg(l, q.id + (uint32_t)i, plain_len(i), 5000);
	expect_idle(l, 0);
	ipk_close(l);
	cr_assert(!exists(p.path));
}

/*
 * A big message (above PIPE_BUF) goes in atomic chunks under the
 * exclusive flock.  Its writer dies in the middle while another writer
 * already has the FIFO open, so the listener sees no end of stream: the
 * cut message must be -ECONNRESET once, then the new writer's messages
 * arrive whole (chunk.c tells a new message from a continuation).
 */
#define TORN_BIG (256u << 10)
#define TORN_SMALL 4000
#define TORN_SMALL_N 80

static int
big_torn_writer(void *arg)
{
	struct peer *p = arg;
	ipk_chan *w;
	CK(ipk_dial(p->url, &w) == 0);
	char *buf = malloc(TORN_BIG);
	CK(buf);
	/* The listener is not reading: part of the frame goes, then stop. */
	CK(ipk_send(w, buf, msg_make(buf, 0xdead, TORN_BIG), 300) == 0);
	raise(SIGSTOP);
	return 0;
}

static int
small_writer(void *arg)
{
	struct peer *p = arg;
	ipk_chan *w;
	CK(ipk_dial(p->url, &w) == 0);
	CK(th_put(p->sync[1], 'd') == 0);
	char buf[TORN_SMALL];
	for (int i = 0; i < p->n; i++)
		CK(ipk_send(w, buf, msg_make(buf, (uint32_t)i, TORN_SMALL),
		            10000) == 0);
	ipk_close(w);
	return 0;
}

Test(fifo, x03_big_writer_killed_then_new_writer)
{
	struct peer p = {.path = fresh_path("torn-big"), .n = TORN_SMALL_N};
	p.url = url_of(p.path, NULL);
	ipk_chan *l = listen_ok(p.url);
	kill_stopped(spawn(big_torn_writer, &p));
	/* A new writer arrives before the listener read the dead one's part. */
	peer_pipes(&p);
	pid_t w = spawn(small_writer, &p);
	cr_assert_eq(th_get(p.sync[0], 5000 * th_mult()), 'd');
	char *buf = malloc(TORN_BIG + 1);
	cr_assert_not_null(buf);
	ssize_t r = ipk_recv(l, buf, TORN_BIG + 1, 10000 * th_mult());
	cr_assert_neq(r, (ssize_t)TORN_BIG,
	              "a torn frame was delivered as a whole message (seq %x)",
	              msg_seq(buf, TORN_BIG));
	cr_assert_eq(r, -ECONNRESET, "torn frame: %zd (%s)", r,
	             ipk_strerror((int)r));
	for (int i = 0; i < TORN_SMALL_N; i++) {
		r = ipk_recv(l, buf, TORN_BIG + 1, 10000 * th_mult());
		cr_assert_eq(r, TORN_SMALL, "message %d: %zd (%s)", i, r,
		             ipk_strerror((int)r));
		cr_assert_eq(msg_seq(buf, TORN_SMALL), (uint32_t)i);
	}
	free(buf);
	expect_exit(w, 10000, 0, "new writer");
	ipk_close(l);
}

/*
 * An ipckit writer killed while it sends a 1 MiB message the listener is
 * not reading yet: the cut message is -ECONNRESET once, then the next
 * writer's messages arrive whole.
 */
#define MIB (1u << 20)

static int
mib_writer(void *arg)
{
	struct peer *p = arg;
	ipk_chan *w;
	CK(ipk_dial(p->url, &w) == 0);
	char *buf = malloc(MIB);
	CK(buf);
	CK(th_put(p->sync[1], 'd') == 0);
	ipk_send(w, buf, msg_make(buf, 0xdead, MIB), -1);
	return 1; /* killed before: the listener does not read */
}

/* Bytes waiting in the FIFO of listener l. */
static int
fifo_unread(const ipk_chan *l)
{
	int n = -1;
	cr_assert_eq(ioctl(ipk_fd(l), FIONREAD, &n), 0);
	return n;
}

Test(fifo, x03_writer_killed_sending_1mib)
{
	struct peer p = {.path = fresh_path("torn-mib"), .n = 20, .id = 7000};
	p.url = url_of(p.path, NULL);
	peer_pipes(&p);
	int base = th_fd_count();
	ipk_chan *l = listen_ok(p.url);
	pid_t w = spawn(mib_writer, &p);
	cr_assert_eq(th_get(p.sync[0], 5000 * th_mult()), 'd');
	long long end = th_now_ms() + 5000 * th_mult();
	while (fifo_unread(l) < 32768 && th_now_ms() < end)
		usleep(1000);
	cr_assert_geq(fifo_unread(l), 32768, "the writer wrote little");
	kill(w, SIGKILL);
	expect_exit(w, 5000, 128 + SIGKILL, "killed writer");
	char *buf = malloc(MIB + 1);
	cr_assert_not_null(buf);
	ssize_t r = ipk_recv(l, buf, MIB + 1, 5000 * th_mult());
	cr_assert_neq(r, (ssize_t)MIB, "a cut message was delivered whole");
	cr_assert_eq(r, -ECONNRESET, "cut message: %zd (%s)", r,
	             ipk_strerror((int)r));
	expect_idle(l, 200); /* once */
	expect_exit(spawn(plain_writer, &p), 10000, 0, "next writer");
	for (int i = 0; i < p.n; i++)
		expect_msg(l, p.id + (uint32_t)i, plain_len(i), 5000);
	expect_idle(l, 0);
	free(buf);
	ipk_close(l);
	cr_assert(!exists(p.path));
	cr_assert_eq(th_fd_count(), base, "descriptors leaked");
}

/* ---- A header the listener must refuse (above ?max=) ----------------- */

#define BAD_CLAIM 0x00100000u
#define BAD_JUNK 1000
#define BAD_LATE 50

/* Opens the FIFO raw; n > 0: writes the bad header and junk, else waits
 * for 'w' and writes BAD_LATE bytes; then waits for 'c' and closes. */
static int
raw_fifo_writer(void *arg)
{
	struct peer *p = arg;
	int fd = open(p->path, O_WRONLY | O_CLOEXEC);
	CK(fd >= 0);
	CK(th_put(p->sync[1], 'o') == 0);
	static char junk[4 + BAD_JUNK];
	memset(junk, 'j', sizeof(junk));
	if (p->n) {
		uint32_t be = htonl(BAD_CLAIM);
		memcpy(junk, &be, 4);
		CK(write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk));
	} else {
		CK(th_get(p->go[0], 10000) == 'w');
		CK(write(fd, junk, BAD_LATE) == BAD_LATE);
	}
	CK(th_get(p->go[0], 10000) == 'c');
	close(fd);
	return 0;
}

static long long
discarded(const ipk_chan *l)
{
	struct ipk_stats st;
	cr_assert_eq(ipk_stats(l, &st), 0);
	return st.discarded;
}

Test(fifo, bad_header_discarded_until_writers_close)
{
	const char *path = fresh_path("badhdr");
	int base = th_fd_count();
	ipk_chan *l = listen_ok(url_of(path, "?max=1024"));
	/* Two raw writers: A sends the bad header, B is open at that moment. */
	struct peer a = {.path = path, .n = 1}, b = {.path = path, .n = 0};
	peer_pipes(&a);
	peer_pipes(&b);
	pid_t pb = spawn(raw_fifo_writer, &b);
	cr_assert_eq(th_get(b.sync[0], 5000 * th_mult()), 'o');
	pid_t pa = spawn(raw_fifo_writer, &a);
	cr_assert_eq(th_get(a.sync[0], 5000 * th_mult()), 'o');
	char buf[2048];
	/* While a writer of that moment is open, the listener discards. */
	ssize_t r = ipk_recv(l, buf, sizeof(buf), 300);
	cr_assert_eq(r, -ETIMEDOUT, "A open: %zd (%s)", r,
	             ipk_strerror((int)r));
	cr_assert_eq(th_put(a.go[1], 'c'), 0);
	expect_exit(pa, 5000, 0, "writer A");
	r = ipk_recv(l, buf, sizeof(buf), 300);
	cr_assert_eq(r, -ETIMEDOUT, "B still open: %zd (%s)", r,
	             ipk_strerror((int)r));
	cr_assert_eq(th_put(b.go[1], 'w'), 0);
	cr_assert_eq(th_put(b.go[1], 'c'), 0);
	expect_exit(pb, 5000, 0, "writer B");
	/* All of them closed: -EMSGSIZE exactly once. */
	r = ipk_recv(l, buf, sizeof(buf), 5000 * th_mult());
	cr_assert_eq(r, -EMSGSIZE, "after the writers: %zd (%s)", r,
	             ipk_strerror((int)r));
	cr_assert_eq(discarded(l), 4 + BAD_JUNK + BAD_LATE, "discarded %lld",
	             discarded(l));
	expect_idle(l, 200);
	cr_assert(is_fifo(path), "the FIFO went away");
	/* Not broken: the next writer is heard whole. */
	struct peer q = {.url = url_of(path, "?max=1024"), .n = 5, .id = 300};
	expect_exit(spawn(plain_writer, &q), 10000, 0, "next writer");
	for (int i = 0; i < q.n; i++) {
		r = ipk_recv(l, buf, sizeof(buf), 5000 * th_mult());
		cr_assert_eq(r, (ssize_t)plain_len(i), "message %d: %zd (%s)",
		             i, r, ipk_strerror((int)r));
		cr_assert_eq(msg_seq(buf, (size_t)r), q.id + (uint32_t)i);
	}
	expect_idle(l, 0);
	cr_assert_eq(discarded(l), 4 + BAD_JUNK + BAD_LATE);
	int *ends[] = {a.sync, a.go, b.sync, b.go};
	for (int i = 0; i < 4; i++) {
		close(ends[i][0]);
		close(ends[i][1]);
	}
	ipk_close(l);
	cr_assert(!exists(path));
	cr_assert_eq(th_fd_count(), base, "descriptors leaked");
}

/* ---- 0-byte messages, also into a NULL buffer ------------------------ */

Test(fifo, zero_length_into_null_buffer)
{
	const char *path = fresh_path("zero");
	ipk_chan *l = listen_ok(url_of(path, NULL));
	ipk_chan *w = dial_ok(url_of(path, NULL));
	cr_assert_eq(ipk_send(w, "", 0, 1000), 0);
	cr_assert_eq(ipk_send(w, "after", 5, 1000), 0);
	cr_assert_eq(ipk_recv(l, NULL, 0, 1000), 0, "0-byte into NULL");
	char buf[8];
	cr_assert_eq(ipk_recv(l, buf, sizeof(buf), 1000), 5);
	/* A NULL buffer with cap 0 is -EMSGSIZE for a real message. */
	cr_assert_eq(ipk_send(w, "x", 1, 1000), 0);
	cr_assert_eq(ipk_recv(l, NULL, 0, 1000), -EMSGSIZE);
	cr_assert_eq(ipk_recv(l, buf, sizeof(buf), 1000), 1);
	ipk_close(w);
	ipk_close(l);
}

Test(fifo, zero_length_send_from_null_buffer)
{
	const char *path = fresh_path("zero-null");
	ipk_chan *l = listen_ok(url_of(path, NULL));
	ipk_chan *w = dial_ok(url_of(path, NULL));
	cr_assert_eq(ipk_send(w, NULL, 0, 1000), 0);
	char buf[8];
	cr_assert_eq(ipk_recv(l, buf, sizeof(buf), 1000), 0);
	ipk_close(w);
	ipk_close(l);
}

/* ---- SIGPIPE never reaches the caller ------------------------- */

static int
sigpipe_case(void *arg)
{
	struct peer *p = arg;
	bool blocked = p->n;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
	ipk_chan *l, *w;
	CK(ipk_listen(p->url, &l) == 0);
	CK(ipk_dial(p->url, &w) == 0);
	char buf[16];
	CK(ipk_send(w, "hello", 5, 1000) == 0);
	CK(ipk_recv(l, buf, sizeof(buf), 1000) == 5);
	ipk_close(l);
	CK(ipk_send(w, "x", 1, 1000) == -EPIPE);
	CK(ipk_send(w, "y", 1, 0) == -EPIPE);
	CK(!sigpipe_pending());
	/* A batch of PIPE_BUF groups and a chunked message, under one hold
	 * of SIGPIPE. */
	static char big[10000];
	struct iovec v[3] = {{"a", 1}, {big, sizeof(big)}, {"b", 1}};
	CK(ipk_send_batch(w, v, 3, 1000) == -EPIPE);
	CK(!sigpipe_pending());
	sigset_t now;
	sigprocmask(SIG_SETMASK, NULL, &now);
	CK(sigismember(&now, SIGPIPE) == blocked);
	ipk_close(w);
	return 0;
}

static void
sigpipe_run(bool blocked)
{
	struct peer p = {.path = fresh_path("sigpipe"), .n = blocked};
	p.url = url_of(p.path, NULL);
	int st = th_wait(spawn(sigpipe_case, &p), 5000 * th_mult());
	cr_assert_neq(st, 128 + SIGPIPE, "killed by SIGPIPE");
	cr_assert_eq(st, 0, "status %d", st);
}

Test(fifo, x04_sigpipe_default)
{
	sigpipe_run(false);
}

Test(fifo, x04_sigpipe_blocked_not_left_pending)
{
	sigpipe_run(true);
}

/* The listener is another process that goes away. */
static int
sigpipe_listener(void *arg)
{
	struct peer *p = arg;
	ipk_chan *l;
	CK(ipk_listen(p->url, &l) == 0);
	CK(th_put(p->sync[1], 'r') == 0);
	char buf[16];
	CK(ipk_recv(l, buf, sizeof(buf), 5000) == 5);
	ipk_close(l);
	return 0;
}

static int
sigpipe_writer(void *arg)
{
	struct peer *p = arg;
	signal(SIGPIPE, SIG_DFL);
	ipk_chan *w;
	CK(ipk_dial(p->url, &w) == 0);
	CK(ipk_send(w, "hello", 5, 1000) == 0);
	int rc;
	long long end = th_now_ms() + 5000;
	while ((rc = ipk_send(w, "more", 4, 100)) == 0 && th_now_ms() < end)
		usleep(1000);
	CK(rc == -EPIPE);
	CK(!sigpipe_pending());
	ipk_close(w);
	return 0;
}

Test(fifo, x04_sigpipe_listener_process_exits)
{
	struct peer p = {.path = fresh_path("sigpipe2")};
	p.url = url_of(p.path, NULL);
	peer_pipes(&p);
	pid_t l = spawn(sigpipe_listener, &p);
	cr_assert_eq(th_get(p.sync[0], 5000 * th_mult()), 'r');
	pid_t w = spawn(sigpipe_writer, &p);
	expect_exit(l, 5000, 0, "listener");
	expect_exit(w, 10000, 0, "writer");
}

/* ---- an EINTR storm ------------------------------------------- */

#define STORM_N 20000

static int
storm_sender(void *arg)
{
	struct peer *p = arg;
	storm_start(p->n);
	ipk_chan *w;
	CK(ipk_dial(p->url, &w) == 0);
	char buf[1024];
	for (uint32_t i = 0; i < STORM_N; i++)
		CK(ipk_send(w, buf, msg_make(buf, i, storm_len(i)), 10000) ==
		   0);
	storm_stop();
	ipk_close(w);
	return 0;
}

static void
storm_run(bool restart)
{
	struct peer p = {.path = fresh_path("storm"), .n = restart};
	p.url = url_of(p.path, NULL);
	storm_start(restart);
	ipk_chan *l = listen_ok(p.url);
	pid_t w = spawn(storm_sender, &p);
	char buf[1024];
	for (uint32_t i = 0; i < STORM_N; i++) {
		ssize_t r = ipk_recv(l, buf, sizeof(buf), 10000 * th_mult());
		cr_assert_eq(r, (ssize_t)storm_len(i), "message %u: %zd (%s)",
		             i, r, ipk_strerror((int)r));
		cr_assert_eq(msg_seq(buf, (size_t)r), i, "message %u torn", i);
	}
	expect_exit(w, 10000, 0, "sender");
	/* The writer left: an idle timed receive ends at its deadline. */
	long long t0 = th_now_ms();
	ssize_t r = ipk_recv(l, buf, sizeof(buf), 300);
	long long dt = th_now_ms() - t0;
	storm_stop();
	cr_assert_eq(r, -ETIMEDOUT, "idle recv: %zd (%s)", r,
	             ipk_strerror((int)r));
	cr_assert(dt >= 300 && dt < 1300 * th_mult(), "idle recv took %lld",
	          dt);
	cr_assert(storm_hits > 50, "only %d signals arrived", (int)storm_hits);
	ipk_close(l);
}

Test(fifo, x05_eintr_storm_no_restart)
{
	storm_run(false);
}

Test(fifo, x05_eintr_storm_sa_restart)
{
	storm_run(true);
}

/* ---- partial writes of big frames through a 4 KiB FIFO -------- */

#define BIG (1u << 20)

static int
partial_sender(void *arg)
{
	struct peer *p = arg;
	ipk_chan *w;
	CK(ipk_dial(p->url, &w) == 0);
	char *buf = malloc(BIG);
	CK(buf);
	for (int i = 0; i < p->n; i++) {
		msg_make(buf, (uint32_t)i, BIG);
		int rc;
		while ((rc = ipk_send(w, buf, BIG, 3)) != 0) {
			if (rc != -ETIMEDOUT)
				fprintf(stderr, "send %d: %s\n", i,
				        ipk_strerror(rc));
			CK(rc == -ETIMEDOUT);
			(*p->shared)++;
		}
	}
	free(buf);
	ipk_close(w);
	return 0;
}

Test(fifo, x06_partial_writes)
{
	struct peer p = {.path = fresh_path("partial"), .n = 12};
	p.url = url_of(p.path, NULL);
	p.shared = th_shared(sizeof(int));
	cr_assert_not_null(p.shared);
	ipk_chan *l = listen_ok(p.url);
	cr_assert_geq(fcntl(ipk_fd(l), F_SETPIPE_SZ, 4096), 4096);
	pid_t w = spawn(partial_sender, &p);
	char *buf = malloc(BIG);
	cr_assert_not_null(buf);
	for (int i = 0; i < p.n; i++) {
		usleep(i < 6 ? 20000 : 2000);
		ssize_t r = ipk_recv(l, buf, BIG, 10000 * th_mult());
		cr_assert_eq(r, (ssize_t)BIG, "message %d: %zd (%s)", i, r,
		             ipk_strerror((int)r));
		cr_assert_eq(msg_seq(buf, BIG), (uint32_t)i,
		             "message %d torn or out of order", i);
	}
	free(buf);
	expect_exit(w, 20000, 0, "sender");
	expect_idle(l, 100);
	cr_assert_gt(*p.shared, 0, "no send ever ran out of time");
	ipk_close(l);
}

/* ---- X-08 / FIFO-01: timeouts; no writer yet is not EOF ------------- */

Test(fifo, fifo01_recv_timeout_no_writer_is_not_eof)
{
	const char *path = fresh_path("idle");
	ipk_chan *l = listen_ok(url_of(path, NULL));
	int fd = ipk_fd(l);
	char buf[16];
	long long t0 = th_now_ms();
	ssize_t r = ipk_recv(l, buf, sizeof(buf), 200);
	long long dt = th_now_ms() - t0;
	cr_assert_eq(r, -ETIMEDOUT, "no writer yet: %zd (%s)", r,
	             ipk_strerror((int)r));
	cr_assert(dt >= 200 && dt < 2200 * th_mult(), "took %lld ms", dt);
	expect_idle(l, 0);
	/* A writer comes and goes: its leaving is not EOF either. */
	ipk_chan *w = dial_ok(url_of(path, NULL));
	cr_assert_eq(ipk_send(w, "one", 3, 1000), 0);
	ipk_close(w);
	cr_assert_eq(ipk_recv(l, buf, sizeof(buf), 1000), 3);
	t0 = th_now_ms();
	r = ipk_recv(l, buf, sizeof(buf), 200);
	dt = th_now_ms() - t0;
	cr_assert_eq(r, -ETIMEDOUT, "writer gone: %zd (%s)", r,
	             ipk_strerror((int)r));
	cr_assert(dt >= 200 && dt < 2200 * th_mult(), "took %lld ms", dt);
	/* ipk_fd stays the same descriptor and does not poll ready. */
	cr_assert_eq(ipk_fd(l), fd);
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	cr_assert_eq(poll(&pf, 1, 100), 0, "idle FIFO polls ready (%#x)",
	             pf.revents);
	/* And the next writer is heard. */
	w = dial_ok(url_of(path, NULL));
	cr_assert_eq(ipk_send(w, "two", 3, 1000), 0);
	cr_assert_eq(poll(&pf, 1, 1000), 1);
	cr_assert_eq(ipk_recv(l, buf, sizeof(buf), 1000), 3);
	ipk_close(w);
	ipk_close(l);
}

/* Two writers one after the other, each sending one word. */
static int
one_then_another(void *arg)
{
	struct peer *p = arg;
	const char *words[] = {"late", "later"};
	for (int i = 0; i < 2; i++) {
		usleep(100000);
		ipk_chan *w;
		CK(ipk_dial(p->url, &w) == 0);
		CK(ipk_send(w, words[i], strlen(words[i]), 1000) == 0);
		ipk_close(w);
	}
	return 0;
}

/*
 * The read end is blocking (ipckit.h: ipk_fd), yet a receive with timeout 0
 * takes what is queued and then says -EAGAIN at once, and a receive with
 * no timeout waits in read, through the last writer's leaving, for the
 * next one.
 */
Test(fifo, read_end_blocks_zero_timeout_does_not)
{
	struct peer p = {.path = fresh_path("blocks")};
	p.url = url_of(p.path, NULL);
	ipk_chan *l = listen_ok(p.url);
	int fl = fcntl(ipk_fd(l), F_GETFL);
	cr_assert(fl >= 0 && !(fl & O_NONBLOCK), "flags %#x", fl);
	ipk_chan *w = dial_ok(p.url);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(ipk_send(w, "abc", 3, 1000), 0);
	char buf[16];
	for (int i = 0; i < 3; i++)
		cr_expect_eq(ipk_recv(l, buf, sizeof(buf), 0), 3, "message %d",
		             i);
	long long t0 = th_now_ms();
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), 0), -EAGAIN);
	cr_expect_lt(th_now_ms() - t0, 500 * th_mult(), "timeout 0 waited");
	ipk_close(w);
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), 0), -EAGAIN, "writer gone");
	pid_t pid = spawn(one_then_another, &p);
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), -1), 4);
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), -1), 5, "the next writer");
	cr_expect_eq(memcmp(buf, "later", 5), 0);
	expect_exit(pid, 5000, 0, "writers");
	fl = fcntl(ipk_fd(l), F_GETFL);
	cr_expect(fl >= 0 && !(fl & O_NONBLOCK), "after reopen %#x", fl);
	ipk_close(l);
}

Test(fifo, fifo01_dial_timeout_no_reader)
{
	const char *path = fresh_path("noreader");
	cr_assert_eq(mkfifo(path, 0600), 0);
	ipk_chan *w = NULL;
	long long t0 = th_now_ms();
	int rc = ipk_dial(url_of(path, "?timeout=200"), &w);
	long long dt = th_now_ms() - t0;
	cr_assert_eq(rc, -ETIMEDOUT, "%s", ipk_strerror(rc));
	cr_assert_null(w);
	cr_assert(dt >= 200 && dt < 2200 * th_mult(), "took %lld ms", dt);
	cr_assert(is_fifo(path), "dial removed the FIFO");
}

Test(fifo, fifo01_dial_timeout_no_fifo)
{
	const char *path = fresh_path("nofifo");
	ipk_chan *w = NULL;
	long long t0 = th_now_ms();
	int rc = ipk_dial(url_of(path, "?timeout=200"), &w);
	long long dt = th_now_ms() - t0;
	/* -ETIMEDOUT since 43bea26; -ENOENT before. */
	cr_assert(rc == -ETIMEDOUT || rc == -ENOENT, "%s", ipk_strerror(rc));
	cr_assert(dt >= 200 && dt < 2200 * th_mult(), "took %lld ms", dt);
	cr_assert(!exists(path), "dial created something");
}

/* A dialer that starts first waits for the listener to appear. */
Test(fifo, dial_waits_for_listener)
{
	struct peer p = {.path = fresh_path("late"), .n = 3, .id = 50};
	p.url = url_of(p.path, "?timeout=5000");
	pid_t w = spawn(plain_writer, &p);
	usleep(100000);
	ipk_chan *l = listen_ok(url_of(p.path, NULL));
	for (int i = 0; i < p.n; i++)
		expect_msg(l, p.id + (uint32_t)i, plain_len(i), 5000);
	expect_exit(w, 5000, 0, "writer");
	ipk_close(l);
}

/* ---- FIFO-02: squatting by another uid in a sticky directory -------- */

static void
read_file(const char *path, char *buf, size_t cap)
{
	memset(buf, 0, cap);
	int fd = open(path, O_RDONLY | O_NOFOLLOW);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_geq(read(fd, buf, cap - 1), 0);
	close(fd);
}

static int
listen_err(const char *url)
{
	ipk_chan *c = NULL;
	int rc = ipk_listen(url, &c);
	if (rc == 0)
		ipk_close(c);
	cr_assert_null(rc == 0 ? NULL : c);
	return rc;
}

/* What nobody left in a private sticky directory before we came. */
struct squat {
	char dir[64], victim[128], link[128], dangle[128], ghost[128];
	char reg[128], fifo[128], sub[128];
};

static void
squat_setup(struct squat *s)
{
	snprintf(s->dir, sizeof(s->dir), "/tmp/ipk-sq-%d", (int)getpid());
	th_sh("rm -rf %s", s->dir);
	th_defer_remove(s->dir);
	cr_assert_eq(mkdir(s->dir, 0755), 0);
	cr_assert_eq(chmod(s->dir, 01777), 0);
	snprintf(s->victim, sizeof(s->victim), "%s/victim", s->dir);
	snprintf(s->link, sizeof(s->link), "%s/link", s->dir);
	snprintf(s->dangle, sizeof(s->dangle), "%s/dangle", s->dir);
	snprintf(s->ghost, sizeof(s->ghost), "%s/ghost", s->dir);
	snprintf(s->reg, sizeof(s->reg), "%s/reg", s->dir);
	snprintf(s->fifo, sizeof(s->fifo), "%s/fifo", s->dir);
	snprintf(s->sub, sizeof(s->sub), "%s/dir", s->dir);
	int fd = open(s->victim, O_WRONLY | O_CREAT | O_EXCL, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "precious\n", 9), 9);
	close(fd);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
	         "ln -s %s %s && ln -s %s %s && echo squat > %s && "
	         "mkfifo -m 0666 %s && mkdir %s",
	         s->victim, s->link, s->ghost, s->dangle, s->reg, s->fifo,
	         s->sub);
	cr_assert_eq(th_run_as_nobody(cmd), 0, "nobody could not squat");
	struct stat st;
	cr_assert_eq(lstat(s->fifo, &st), 0);
	cr_assert_eq(st.st_uid, NOBODY);
	cr_assert_eq(st.st_mode & 07777, 0666);
}

/* Nothing was followed, written, created, removed or chmod'ed. */
static void
squat_untouched(const struct squat *s)
{
	char buf[64];
	struct stat st;
	read_file(s->victim, buf, sizeof(buf));
	cr_assert_str_eq(buf, "precious\n");
	cr_assert_eq(lstat(s->victim, &st), 0);
	cr_assert(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644);
	cr_assert_eq(lstat(s->link, &st), 0);
	cr_assert(S_ISLNK(st.st_mode));
	cr_assert(!exists(s->ghost), "the dangling symlink was followed");
	read_file(s->reg, buf, sizeof(buf));
	cr_assert_str_eq(buf, "squat\n");
	cr_assert_eq(lstat(s->fifo, &st), 0);
	cr_assert(S_ISFIFO(st.st_mode), "nobody's FIFO was replaced");
	cr_assert_eq(st.st_uid, NOBODY);
	cr_assert_eq(st.st_mode & 07777, 0666, "nobody's FIFO was chmod'ed");
}

Test(fifo, fifo02_squatting_listen_refused)
{
	struct squat s;
	squat_setup(&s);
	int base = th_fd_count();
	cr_assert_eq(listen_err(url_of(s.link, NULL)), -EEXIST);
	cr_assert_eq(listen_err(url_of(s.dangle, NULL)), -EEXIST);
	cr_assert_eq(listen_err(url_of(s.reg, NULL)), -EEXIST);
	cr_assert_eq(listen_err(url_of(s.sub, NULL)), -EEXIST);
	cr_assert_eq(listen_err(url_of(s.fifo, NULL)), -EPERM);
	cr_assert_eq(listen_err(url_of(s.fifo, "?mode=0666")), -EPERM);
	cr_assert_eq(listen_err(url_of(s.fifo, "?keep")), -EPERM);
	squat_untouched(&s);
	cr_assert_eq(th_fd_count(), base,
	             "a refused listen leaked a descriptor");
}

Test(fifo, fifo02_squatting_dial_refused)
{
	struct squat s;
	char buf[64];
	squat_setup(&s);
	int base = th_fd_count();
	/* A dialer refuses a FIFO that is not ours, even with a reader. */
	int rd = open(s.fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	cr_assert_geq(rd, 0);
	ipk_chan *w = NULL;
	cr_assert_eq(ipk_dial(url_of(s.fifo, "?timeout=500"), &w), -EPERM);
	cr_assert_null(w);
	cr_assert_eq(read(rd, buf, sizeof(buf)), 0, "dial wrote something");
	/* ... unless told whose it is. */
	w = dial_ok(url_of(s.fifo, "?timeout=500&uid=65534"));
	cr_assert_eq(ipk_send(w, "x", 1, 1000), 0);
	cr_assert_eq(read(rd, buf, sizeof(buf)), 5);
	ipk_close(w);
	close(rd);
	/* Without a reader it is refused at once, not after the timeout. */
	long long t0 = th_now_ms();
	cr_assert_eq(ipk_dial(url_of(s.fifo, "?timeout=20000"), &w), -EPERM);
	cr_assert_lt(th_now_ms() - t0, 10000, "waited for a foreign reader");
	/* Dialing the symlink or the regular file writes nothing. */
	cr_assert_lt(ipk_dial(url_of(s.link, "?timeout=200"), &w), 0);
	cr_assert_lt(ipk_dial(url_of(s.reg, "?timeout=200"), &w), 0);
	squat_untouched(&s);
	cr_assert_eq(th_fd_count(), base, "a refused dial leaked a descriptor");
}

Test(fifo, fifo02_own_fifo_with_wider_mode_refused)
{
	const char *path = fresh_path("wide");
	cr_assert_eq(mkfifo(path, 0600), 0);
	cr_assert_eq(chmod(path, 0666), 0);
	cr_assert_eq(listen_err(url_of(path, NULL)), -EPERM);
	cr_assert_eq(mode_of(path), 0666);
	cr_assert(is_fifo(path), "a refused listen removed the FIFO");
}

/* ---- FIFO-03: modes regardless of umask; the runtime directory ------ */

Test(fifo, fifo03_mode_0600_under_umask_000)
{
	const char *path = fresh_path("umask");
	mode_t old = umask(0);
	ipk_chan *l = NULL;
	int rc = ipk_listen(url_of(path, NULL), &l);
	umask(old);
	cr_assert_eq(rc, 0, "%s", ipk_strerror(rc));
	cr_assert(is_fifo(path));
	cr_assert_eq(mode_of(path), 0600, "mode %o", mode_of(path));
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "exec 2>/dev/null; echo x > %s", path);
	cr_assert_neq(th_run_as_nobody(cmd), 0, "nobody opened it for writing");
	expect_idle(l, 0);
	ipk_close(l);
	cr_assert(!exists(path));
}

Test(fifo, fifo03_mode_option)
{
	const char *path = fresh_path("mode");
	mode_t old = umask(077);
	ipk_chan *l = NULL;
	int rc = ipk_listen(url_of(path, "?mode=0640"), &l);
	umask(old);
	cr_assert_eq(rc, 0, "%s", ipk_strerror(rc));
	cr_assert_eq(mode_of(path), 0640, "mode %o", mode_of(path));
	ipk_close(l);
}

/* A name without '/' lands in dir, which must be made 0700. */
static void
runtime_dir_case(const char *dir, const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	mode_t old = umask(0);
	ipk_chan *l = NULL;
	char url[PATH_MAX];
	snprintf(url, sizeof(url), "fifo:%s", name);
	int rc = ipk_listen(url, &l);
	umask(old);
	cr_assert_eq(rc, 0, "%s: %s", url, ipk_strerror(rc));
	struct stat st;
	cr_assert_eq(lstat(dir, &st), 0, "%s: %s", dir, strerror(errno));
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0700, "dir mode %o",
	             st.st_mode & 07777);
	cr_assert_eq(st.st_uid, geteuid());
	cr_assert(is_fifo(path), "no FIFO at %s", path);
	cr_assert_eq(mode_of(path), 0600);
	ipk_chan *w = dial_ok(url);
	char buf[8];
	cr_assert_eq(ipk_send(w, "rt", 2, 1000), 0);
	cr_assert_eq(ipk_recv(l, buf, sizeof(buf), 1000), 2);
	ipk_close(w);
	ipk_close(l);
	cr_assert(!exists(path));
}

Test(fifo, fifo03_runtime_dir_0700)
{
	char xdg[64], dir[96], name[64];
	snprintf(xdg, sizeof(xdg), "/tmp/ipk-xdg-%d", (int)getpid());
	snprintf(dir, sizeof(dir), "%s/ipckit", xdg);
	snprintf(name, sizeof(name), "rt-%d", (int)getpid());
	th_sh("rm -rf %s", xdg);
	th_defer_remove(xdg);
	cr_assert_eq(mkdir(xdg, 0700), 0);
	setenv("XDG_RUNTIME_DIR", xdg, 1);
	runtime_dir_case(dir, name);
}

Test(fifo, fifo03_runtime_dir_fallback_tmp)
{
	char dir[64], name[64];
	snprintf(dir, sizeof(dir), "/tmp/ipckit-%u", (unsigned)geteuid());
	snprintf(name, sizeof(name), "ipk-test-rt-%d", (int)getpid());
	bool had = exists(dir);
	unsetenv("XDG_RUNTIME_DIR");
	runtime_dir_case(dir, name);
	if (!had)
		rmdir(dir); /* fails harmlessly if someone else uses it */
}

Test(fifo, fifo03_runtime_dir_unsafe_refused)
{
	char xdg[64], dir[96];
	snprintf(xdg, sizeof(xdg), "/tmp/ipk-xdg-%d", (int)getpid());
	snprintf(dir, sizeof(dir), "%s/ipckit", xdg);
	th_sh("rm -rf %s", xdg);
	th_defer_remove(xdg);
	cr_assert_eq(mkdir(xdg, 0700), 0);
	setenv("XDG_RUNTIME_DIR", xdg, 1);
	/* Group/other bits on the directory. */
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(chmod(dir, 0777), 0);
	cr_assert_eq(listen_err("fifo:unsafe"), -EPERM);
	/* A symlink in its place. */
	cr_assert_eq(rmdir(dir), 0);
	cr_assert_eq(symlink("/tmp", dir), 0);
	cr_assert_eq(listen_err("fifo:unsafe"), -EPERM);
	cr_assert(!exists("/tmp/unsafe"));
	/* Owned by someone else. */
	cr_assert_eq(unlink(dir), 0);
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(chown(dir, NOBODY, NOBODY), 0);
	cr_assert_eq(listen_err("fifo:unsafe"), -EPERM);
}

/* ---- Several writers; big frames need to be the only writer --------- */

Test(fifo, four_writers_small_messages)
{
	const char *path = fresh_path("four");
	ipk_chan *l = listen_ok(url_of(path, NULL));
	struct peer p[4];
	pid_t pid[4];
	for (uint32_t i = 0; i < 4; i++) {
		p[i] = (struct peer){
		        .url = url_of(path, NULL), .n = 2000, .id = i << 24};
		pid[i] = spawn(plain_writer, &p[i]);
	}
	int next[4] = {0};
	char buf[4096];
	for (int k = 0; k < 4 * 2000; k++) {
		ssize_t r = ipk_recv(l, buf, sizeof(buf), 10000 * th_mult());
		cr_assert_gt(r, 0, "message %d: %zd (%s)", k, r,
		             ipk_strerror((int)r));
		uint32_t seq = msg_seq(buf, (size_t)r);
		cr_assert_neq(seq, UINT32_MAX, "message %d torn", k);
		uint32_t id = seq >> 24, i = seq & 0xffffff;
		cr_assert_lt(id, 4u);
		cr_assert_eq(i, (uint32_t)next[id], "writer %u: %u after %d",
		             id, i, next[id] - 1);
		cr_assert_eq((size_t)r, plain_len(next[id]));
		next[id]++;
	}
	for (int i = 0; i < 4; i++)
		expect_exit(pid[i], 10000, 0, "writer");
	expect_idle(l, 100);
	ipk_close(l);
}

#define BIG64 (64u << 10)

static int
big_writer(void *arg)
{
	struct peer *p = arg;
	ipk_chan *w;
	CK(ipk_dial(p->url, &w) == 0);
	char *buf = malloc(BIG64);
	CK(buf);
	CK(ipk_send(w, buf, msg_make(buf, 64, BIG64), 5000) == 0);
	free(buf);
	ipk_close(w);
	return 0;
}

Test(fifo, big_message_sole_writer)
{
	struct peer p = {.path = fresh_path("big")};
	p.url = url_of(p.path, NULL);
	ipk_chan *l = listen_ok(p.url);
	pid_t w = spawn(big_writer, &p);
	expect_msg(l, 64, BIG64, 5000);
	expect_exit(w, 5000, 0, "writer");
	ipk_close(l);
}

/* Holds a dial open until told to go. */
static int
holder(void *arg)
{
	struct peer *p = arg;
	ipk_chan *w;
	CK(ipk_dial(p->url, &w) == 0);
	CK(th_put(p->sync[1], 'a') == 0);
	CK(th_get(p->go[0], 10000) == 'g');
	ipk_close(w);
	return 0;
}

static int
big_with_company(void *arg)
{
	struct peer *p = arg;
	ipk_chan *w;
	CK(ipk_dial(p->url, &w) == 0);
	char *buf = malloc(BIG64);
	CK(buf);
	msg_make(buf, 64, BIG64);
	CK(ipk_send(w, buf, BIG64, 1000) == -EMSGSIZE);
	CK(ipk_send(w, "small", 5, 1000) == 0);
	CK(th_put(p->sync[1], 'b') == 0);
	/* Once the other writer is gone, the big one goes. */
	int rc;
	long long end = th_now_ms() + 5000;
	while ((rc = ipk_send(w, buf, BIG64, 2000)) == -EMSGSIZE &&
	       th_now_ms() < end)
		usleep(10000);
	CK(rc == 0);
	free(buf);
	ipk_close(w);
	return 0;
}

Test(fifo, big_message_with_second_writer_refused)
{
	struct peer a = {.path = fresh_path("big2")};
	a.url = url_of(a.path, NULL);
	peer_pipes(&a);
	struct peer b = a;
	peer_pipes(&b);
	ipk_chan *l = listen_ok(a.url);
	pid_t pa = spawn(holder, &a);
	cr_assert_eq(th_get(a.sync[0], 5000 * th_mult()), 'a');
	pid_t pb = spawn(big_with_company, &b);
	char buf[16];
	cr_assert_eq(ipk_recv(l, buf, sizeof(buf), 5000 * th_mult()), 5);
	cr_assert_eq(th_get(b.sync[0], 5000 * th_mult()), 'b');
	cr_assert_eq(th_put(a.go[1], 'g'), 0);
	expect_exit(pa, 5000, 0, "holder");
	expect_msg(l, 64, BIG64, 5000);
	expect_exit(pb, 5000, 0, "big writer");
	expect_idle(l, 0);
	ipk_close(l);
}

/* ---- Stale and live listeners ---------------------------------------- */

static int
listener_then_wait(void *arg)
{
	struct peer *p = arg;
	ipk_chan *l;
	CK(ipk_listen(p->url, &l) == 0);
	CK(th_put(p->sync[1], 'r') == 0);
	if (p->n == 0) { /* be killed while listening */
		pause();
		return 1;
	}
	char buf[16];
	ssize_t r = ipk_recv(l, buf, sizeof(buf), 5000);
	CK(r == 5 && memcmp(buf, "hello", 5) == 0);
	ipk_close(l);
	return 0;
}

Test(fifo, stale_fifo_taken_over)
{
	struct peer p = {.path = fresh_path("stale"), .n = 0};
	p.url = url_of(p.path, NULL);
	peer_pipes(&p);
	pid_t pid = spawn(listener_then_wait, &p);
	cr_assert_eq(th_get(p.sync[0], 5000 * th_mult()), 'r');
	kill(pid, SIGKILL);
	expect_exit(pid, 5000, 128 + SIGKILL, "listener");
	cr_assert(is_fifo(p.path), "a killed listener cannot remove its FIFO");
	ipk_chan *l = listen_ok(p.url);
	ipk_chan *w = dial_ok(p.url);
	char buf[8];
	cr_assert_eq(ipk_send(w, "new", 3, 1000), 0);
	cr_assert_eq(ipk_recv(l, buf, sizeof(buf), 1000), 3);
	ipk_close(w);
	ipk_close(l);
	cr_assert(!exists(p.path));
}

Test(fifo, second_live_listener_refused)
{
	struct peer p = {.path = fresh_path("live"), .n = 1};
	p.url = url_of(p.path, NULL);
	peer_pipes(&p);
	pid_t pid = spawn(listener_then_wait, &p);
	cr_assert_eq(th_get(p.sync[0], 5000 * th_mult()), 'r');
	struct stat before, after;
	cr_assert_eq(lstat(p.path, &before), 0);
	int base = th_fd_count();
	cr_assert_eq(listen_err(p.url), -EADDRINUSE);
	cr_assert_eq(listen_err(url_of(p.path, "?mode=0640")), -EADDRINUSE);
	cr_assert_eq(th_fd_count(), base);
	cr_assert_eq(lstat(p.path, &after), 0);
	cr_assert_eq(after.st_ino, before.st_ino, "the live FIFO was replaced");
	cr_assert_eq(after.st_mode, before.st_mode);
	/* The first listener still receives. */
	ipk_chan *w = dial_ok(p.url);
	cr_assert_eq(ipk_send(w, "hello", 5, 1000), 0);
	ipk_close(w);
	expect_exit(pid, 5000, 0, "first listener");
	cr_assert(!exists(p.path));
}

Test(fifo, second_listener_in_same_process_refused)
{
	const char *path = fresh_path("live2");
	ipk_chan *l = listen_ok(url_of(path, NULL));
	cr_assert_eq(listen_err(url_of(path, NULL)), -EADDRINUSE);
	ipk_chan *w = dial_ok(url_of(path, NULL));
	char buf[8];
	cr_assert_eq(ipk_send(w, "still", 5, 1000), 0);
	cr_assert_eq(ipk_recv(l, buf, sizeof(buf), 1000), 5);
	ipk_close(w);
	ipk_close(l);
}

/* ---- Cleanup: unlink, ?keep, descriptors ----------------------------- */

Test(fifo, close_unlinks_keep_leaves)
{
	const char *path = fresh_path("keep");
	ipk_chan *l = listen_ok(url_of(path, "?keep"));
	ipk_close(l);
	cr_assert(is_fifo(path), "?keep removed the FIFO");
	cr_assert_eq(mode_of(path), 0600);
	/* What we kept is ours and idle: the next listener takes it. */
	l = listen_ok(url_of(path, NULL));
	ipk_close(l);
	cr_assert(!exists(path), "close left the FIFO");
}

Test(fifo, dial_close_never_removes)
{
	const char *path = fresh_path("dialclose");
	ipk_chan *l = listen_ok(url_of(path, NULL));
	ipk_chan *w = dial_ok(url_of(path, NULL));
	ipk_close(w);
	cr_assert(is_fifo(path));
	ipk_close(l);
	cr_assert(!exists(path));
}

/* Close unlinks only the FIFO it made, not one that replaced it. */
Test(fifo, close_leaves_a_replacement)
{
	const char *path = fresh_path("replaced");
	ipk_chan *l = listen_ok(url_of(path, NULL));
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(mkfifo(path, 0600), 0);
	ipk_close(l);
	cr_assert(is_fifo(path), "close removed someone else's FIFO");
}

Test(fifo, fd_count_back_to_baseline)
{
	const char *path = fresh_path("fds");
	int base = th_fd_count();
	for (int i = 0; i < 3; i++) {
		ipk_chan *l = listen_ok(url_of(path, NULL));
		ipk_chan *w = dial_ok(url_of(path, NULL));
		char buf[8];
		cr_assert_eq(ipk_send(w, "x", 1, 1000), 0);
		cr_assert_eq(ipk_recv(l, buf, sizeof(buf), 1000), 1);
		ipk_close(w);
		expect_idle(l, 50); /* the writer left: the listener reopens */
		cr_assert_eq(listen_err(url_of(path, NULL)), -EADDRINUSE);
		ipk_close(l);
	}
	ipk_chan *w = NULL;
	cr_assert_lt(ipk_dial(url_of(path, "?timeout=50"), &w), 0);
	cr_assert_eq(listen_err(url_of(path, "?uid=0")), -EINVAL);
	cr_assert_eq(th_fd_count(), base);
}

/* ---- ?single: the only writer, plain frames ------------------------- */

#define SINGLE_N 200
#define SINGLE_SIZE (64u << 10)

static int
single_writer(void *arg)
{
	struct peer *p = arg;
	ipk_chan *w;
	CK(ipk_dial(url_of(p->path, "?single"), &w) == 0);
	CK(th_put(p->sync[1], 'd') == 0);
	CK(th_get(p->go[0], 10000) == 'g'); /* the others have tried */
	char *buf = malloc(SINGLE_SIZE);
	CK(buf);
	for (int i = 0; i < p->n; i++)
		CK(ipk_send(w, buf, msg_make(buf, (uint32_t)i, SINGLE_SIZE),
		            10000) == 0);
	free(buf);
	ipk_close(w);
	return 0;
}

/*
 * A ?single writer's big messages arrive whole and in order without
 * chunks; while it lives a second writer is refused (another ?single at
 * once with -EBUSY, a plain one when its ?timeout= ends), and a ?single
 * dialer finds the FIFO busy while a plain writer holds it.
 */
Test(fifo, single_writer_plain_frames_and_refuses_others)
{
	struct peer p = {.path = fresh_path("single"), .n = SINGLE_N};
	p.url = url_of(p.path, NULL);
	ipk_chan *l = listen_ok(p.url);
	ipk_chan *other = NULL;
	cr_expect_eq(
	        ipk_listen(url_of(fresh_path("single-l"), "?single=2"), &other),
	        -EINVAL, "?single is a flag");
	peer_pipes(&p);
	pid_t w = spawn(single_writer, &p);
	cr_assert_eq(th_get(p.sync[0], 5000 * th_mult()), 'd');
	cr_expect_eq(ipk_dial(url_of(p.path, "?single"), &other), -EBUSY);
	int rc = ipk_dial(url_of(p.path, "?timeout=200"), &other);
	cr_expect(rc < 0, "a plain writer beside ?single: %d", rc);
	cr_assert_eq(th_put(p.go[1], 'g'), 0);
	for (uint32_t i = 0; i < SINGLE_N; i++)
		expect_msg(l, i, SINGLE_SIZE, 10000);
	expect_exit(w, 10000, 0, "single writer");
	ipk_chan *plain = dial_ok(p.url);
	cr_expect_eq(ipk_dial(url_of(p.path, "?single"), &other), -EBUSY);
	ipk_close(plain);
	ipk_close(l);
}

/* A ?single writer killed in mid-frame: -ECONNRESET once, then whole. */
Test(fifo, single_writer_killed_midframe)
{
	struct peer p = {.path = fresh_path("single-torn"), .n = 5};
	p.url = url_of(p.path, "?single");
	ipk_chan *l = listen_ok(p.url);
	kill_stopped(spawn(big_torn_writer, &p));
	char *buf = malloc(TORN_BIG + 1);
	cr_assert_not_null(buf);
	ssize_t r = ipk_recv(l, buf, TORN_BIG + 1, 10000 * th_mult());
	cr_assert_eq(r, -ECONNRESET, "cut frame: %zd (%s)", r,
	             ipk_strerror((int)r));
	peer_pipes(&p);
	pid_t w = spawn(small_writer, &p);
	cr_assert_eq(th_get(p.sync[0], 5000 * th_mult()), 'd');
	for (uint32_t i = 0; i < 5; i++)
		expect_msg(l, i, TORN_SMALL, 10000);
	free(buf);
	expect_exit(w, 10000, 0, "next writer");
	ipk_close(l);
}
