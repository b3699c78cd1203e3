/*
 * threads_test.c - one thread sends while another receives on the same
 * channel (unix pair, tcp connection; pipe ends, which are one-way, as
 * two pairs), 10^5 messages each way with a real peer process doing the
 * same; a third thread reads ipk_stats meanwhile.  Then the frame-deadline
 * path: the peer stalls mid-frame and the connection is dropped while
 * the other thread is sending.  Meant for ThreadSanitizer (CI's TSan
 * build), which Criterion cannot run under (its arena mapping fails,
 * Snaipe/Criterion#274), so this suite is a plain program: each case runs
 * in a child process with an alarm, prints "ok"/"not ok", and a
 * ThreadSanitizer report makes its case fail (exit status 66).
 * Usage: threads_test [case-name...]
 */
#include "helpers.h"
#include "raw_peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 100000
#define WAIT 20000
#define CASE_SECONDS 120 /* hang guard per case, times th_mult() */

/* In a case or a peer: report the failed check and return 1. */
#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__,     \
			        #cond);                                        \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			return 1;                                              \
		}                                                              \
	} while (0)

/*
 * A peer process.  It ends with exit(), not _exit(): ThreadSanitizer
 * turns the status into 66 at exit when it reported a race.
 */
static pid_t
spawn(int (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		exit(fn(arg));
	return pid;
}

static size_t
len_of(uint32_t seq)
{
	return 8 + seq % 57;
}

/* A numbered message: seq (network order), then th_fill(seq). */
static size_t
msg_make(char *buf, uint32_t seq)
{
	uint32_t be = htonl(seq);
	memcpy(buf, &be, 4);
	th_fill(buf + 4, len_of(seq) - 4, seq);
	return len_of(seq);
}

static bool
msg_is(const char *buf, size_t len, uint32_t seq)
{
	uint32_t be;
	if (len != len_of(seq))
		return false;
	memcpy(&be, buf, 4);
	return ntohl(be) == seq && th_check(buf + 4, len - 4, seq);
}

/* One direction of traffic: what a thread does and how it ended. */
struct flow {
	ipk_chan *ch;
	uint32_t n;       /* messages to move (UINT32_MAX: until an error) */
	uint32_t done;    /* moved; read after the thread is joined */
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
		int rc = ipk_send(f->ch, buf, msg_make(buf, f->done),
		                  WAIT * th_mult());
		if (rc < 0) {
			atomic_store(&f->err, rc);
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
		if (!msg_is(buf, (size_t)r, f->done))
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
	out->ch = tx, out->n = N, out->done = 0, out->stop = NULL;
	in->ch = rx, in->n = N, in->done = 0, in->stop = NULL;
	atomic_store(&out->err, 0);
	atomic_store(&in->err, 0);
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
	return rc ? rc : atomic_load(&out->err);
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
	CHECK(rc == 0, "peer: sent %u, received %u: %s", out.done, in.done,
	      ipk_strerror((int)rc));
	return 0;
}

static int
run(ipk_chan *tx, ipk_chan *rx, struct peer *p)
{
	pid_t pid = spawn(peer_main, p);
	CHECK(pid > 0, "fork: %s", strerror(errno));
	for (int i = 0; i < 2; i++)
		ipk_close(p->theirs[i]);
	struct flow out, in;
	long rc = duplex(tx, rx, &out, &in, true);
	int st = th_wait(pid, 3 * WAIT * th_mult());
	CHECK(rc == 0, "sent %u, received %u: %s", out.done, in.done,
	      ipk_strerror((int)rc));
	CHECK(st == 0, "peer exit status %d", st);
	return 0;
}

static int
unix_pair_send_and_recv_at_once(void)
{
	ipk_chan *a, *b;
	CHECK(ipk_pair("unix:", &a, &b) == 0, "ipk_pair");
	struct peer p = {.tx = b, .rx = b, .ours = {a}, .theirs = {b}};
	int rc = run(a, a, &p);
	ipk_close(a);
	return rc;
}

static int
tcp_send_and_recv_at_once(void)
{
	ipk_chan *l, *d, *c;
	char name[128];
	CHECK(ipk_listen("tcp://127.0.0.1:0", &l) == 0, "listen");
	CHECK(ipk_name(l, name, sizeof(name)) == 0, "name");
	CHECK(ipk_dial(name, &d) == 0, "dial %s", name);
	CHECK(ipk_accept(l, &c, WAIT) == 0, "accept");
	struct peer p = {.tx = d, .rx = d, .ours = {c, l}, .theirs = {d}};
	int rc = run(c, c, &p);
	ipk_close(c);
	ipk_close(l);
	return rc;
}

static int
pipe_pairs_send_and_recv_at_once(void)
{
	ipk_chan *rd1, *wr1, *rd2, *wr2;
	CHECK(ipk_pair("pipe:", &rd1, &wr1) == 0, "ipk_pair");
	CHECK(ipk_pair("pipe:", &rd2, &wr2) == 0, "ipk_pair");
	/* 1 carries test -> peer, 2 peer -> test. */
	struct peer p = {
	        .tx = wr2, .rx = rd1, .ours = {wr1, rd2}, .theirs = {rd1, wr2}};
	int rc = run(wr1, rd2, &p);
	ipk_close(wr1);
	ipk_close(rd2);
	return rc;
}

/*
 * sysvmsg with timeouts: each receive that must wait hands the sleeping
 * to the channel's thread (sysvmsg_wait.c) while another thread sends on
 * the same channel and a third asks for ipk_fd (its eventfd).
 */
static int
sysvmsg_send_and_recv_at_once(void)
{
	char lu[64], du[64];
	unsigned key = 0x1e000000u | ((unsigned)getpid() & 0xffffff);
	snprintf(lu, sizeof(lu), "sysvmsg:0x%x?send=2&recv=1", key);
	snprintf(du, sizeof(du), "sysvmsg:0x%x?send=1&recv=2", key);
	ipk_chan *l, *d;
	CHECK(ipk_listen(lu, &l) == 0, "listen %s", lu);
	CHECK(ipk_dial(du, &d) == 0, "dial %s", du);
	struct peer p = {.tx = d, .rx = d, .ours = {l}, .theirs = {d}};
	int rc = run(l, l, &p);
	ipk_close(l);
	return rc;
}

/* ---- the frame deadline fires while the other thread sends ----------- */

/* The peer: 2 bytes of a header, then reads what comes until the end. */
static int
stall_peer(void *arg)
{
	ipk_chan *q = arg;
	CHECK(write(ipk_fd(q), "\0\0", 2) == 2, "write");
	char buf[128];
	ssize_t r;
	long got = 0;
	while ((r = ipk_recv(q, buf, sizeof(buf), WAIT)) >= 0)
		got++;
	CHECK(got > 0 && r != -ETIMEDOUT, "peer got %ld, then %s", got,
	      ipk_strerror((int)r));
	return 0;
}

static int
stall_run(ipk_chan *mine, ipk_chan *theirs)
{
	pid_t pid = spawn(stall_peer, theirs);
	CHECK(pid > 0, "fork: %s", strerror(errno));
	ipk_close(theirs);
	_Atomic int stop = 0;
	struct flow out = {.ch = mine, .n = UINT32_MAX, .stop = &stop};
	struct flow st = {.ch = mine, .stop = &stop};
	pthread_t s, t;
	CHECK(pthread_create(&s, NULL, send_thread, &out) == 0, "thread");
	CHECK(pthread_create(&t, NULL, stats_thread, &st) == 0, "thread");
	char buf[64];
	long long t0 = th_now_ms();
	ssize_t r = ipk_recv(mine, buf, sizeof(buf), 10000 * th_mult());
	long long dt = th_now_ms() - t0;
	/* The sender ends by itself: the connection is closed under it. */
	long long end = th_now_ms() + 10000 * th_mult();
	while (!atomic_load(&out.err) && th_now_ms() < end)
		usleep(1000);
	long err = atomic_load(&out.err);
	atomic_store(&stop, 1);
	pthread_join(s, NULL);
	pthread_join(t, NULL);
	ssize_t again = ipk_recv(mine, buf, sizeof(buf), 0);
	int peer = th_wait(pid, WAIT * th_mult());
	CHECK(r == -ECONNRESET, "stalled peer: %zd (%s)", r,
	      ipk_strerror((int)r));
	CHECK(dt >= 150 && dt < 3000 * th_mult(), "dropped after %lld ms", dt);
	CHECK(err != 0, "the sender did not notice (sent %u)", out.done);
	CHECK(out.done > 0, "nothing was sent");
	CHECK(err == -EPIPE || err == -ECONNRESET, "sender ended with %ld (%s)",
	      err, ipk_strerror((int)err));
	CHECK(again == -ECONNRESET, "not sticky: %zd", again);
	CHECK(peer == 0, "peer exit status %d", peer);
	return 0;
}

static int
unix_frame_deadline_while_sending(void)
{
	ipk_chan *a, *b;
	CHECK(ipk_pair("unix:?frame=200", &a, &b) == 0, "ipk_pair");
	int rc = stall_run(a, b);
	ipk_close(a);
	return rc;
}

static int
tcp_frame_deadline_while_sending(void)
{
	ipk_chan *l, *d, *c;
	char name[128];
	CHECK(ipk_listen("tcp://127.0.0.1:0?frame=200", &l) == 0, "listen");
	CHECK(ipk_name(l, name, sizeof(name)) == 0, "name");
	CHECK(ipk_dial(name, &d) == 0, "dial %s", name);
	CHECK(ipk_accept(l, &c, WAIT) == 0, "accept");
	ipk_close(l);
	int rc = stall_run(c, d);
	ipk_close(c);
	return rc;
}

/* ---- datagrams: replies to the last sender, the drop counter ---------- */

/*
 * unixgram: the listener answers the last sender from one thread while
 * another receives (the sender address is shared between the two).
 * The peer's dialer sends first, so the listener knows where to answer.
 */
static int
gram_peer(void *arg)
{
	const char *name = arg;
	ipk_chan *d;
	CHECK(ipk_dial(name, &d) == 0, "dial %s", name);
	struct flow out, in;
	long rc = duplex(d, d, &out, &in, false);
	CHECK(rc == 0, "peer: sent %u, received %u: %s", out.done, in.done,
	      ipk_strerror((int)rc));
	ipk_close(d);
	return 0;
}

static int
unixgram_reply_and_recv_at_once(void)
{
	char path[128], url[160], name[256];
	snprintf(path, sizeof(path), "/tmp/ipk-test-%d-threads-gram",
	         (int)getpid());
	snprintf(url, sizeof(url), "unixgram:%s", path);
	ipk_chan *l;
	CHECK(ipk_listen(url, &l) == 0, "listen %s", url);
	CHECK(ipk_name(l, name, sizeof(name)) == 0, "name");
	pid_t pid = spawn(gram_peer, name);
	CHECK(pid > 0, "fork: %s", strerror(errno));
	/* The first message tells the listener where the peer is. */
	char buf[128];
	ssize_t r = ipk_recv(l, buf, sizeof(buf), WAIT * th_mult());
	bool first = r >= 0 && msg_is(buf, (size_t)r, 0);
	struct flow out = {.ch = l, .n = N}, in = {.ch = l, .n = N - 1};
	pthread_t s;
	CHECK(pthread_create(&s, NULL, send_thread, &out) == 0, "thread");
	long rc = 0;
	for (uint32_t i = 1; i < N && !rc; i++) {
		r = ipk_recv(l, buf, sizeof(buf), WAIT * th_mult());
		if (r < 0)
			rc = r;
		else if (!msg_is(buf, (size_t)r, i))
			rc = -EBADMSG, in.done = i;
	}
	pthread_join(s, NULL);
	int st = th_wait(pid, 3 * WAIT * th_mult());
	ipk_close(l);
	unlink(path);
	CHECK(first, "the first message: %zd", r);
	CHECK(rc == 0, "receiving: %s at %u", ipk_strerror((int)rc), in.done);
	CHECK(atomic_load(&out.err) == 0, "sending: %s after %u",
	      ipk_strerror((int)atomic_load(&out.err)), out.done);
	CHECK(st == 0, "peer exit status %d", st);
	return 0;
}

/* udp: a burst into a small receive buffer while another thread reads
 * the drop count (ipk_stats, ipk_drops) as the receiver updates it. */
#define BURST 20000

static int
udp_burst(void *arg)
{
	const char *name = arg;
	ipk_chan *d;
	CHECK(ipk_dial(name, &d) == 0, "dial %s", name);
	char buf[128];
	for (uint32_t i = 0; i < BURST; i++)
		ipk_send(d, buf, msg_make(buf, i), 0);
	ipk_close(d);
	return 0;
}

static void *
drops_thread(void *arg)
{
	struct flow *f = arg;
	while (!atomic_load(f->stop)) {
		struct ipk_stats st;
		ipk_stats(f->ch, &st);
		ipk_drops(f->ch);
	}
	return NULL;
}

static int
udp_drops_read_while_receiving(void)
{
	ipk_chan *l;
	char name[128];
	CHECK(ipk_listen("udp://127.0.0.1:0", &l) == 0, "listen");
	CHECK(ipk_name(l, name, sizeof(name)) == 0, "name");
	int small = 4096;
	setsockopt(ipk_fd(l), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	/* Fork before any thread: the child of a threaded process is not. */
	pid_t pid = spawn(udp_burst, name);
	CHECK(pid > 0, "fork: %s", strerror(errno));
	_Atomic int stop = 0;
	struct flow st = {.ch = l, .stop = &stop};
	pthread_t t;
	CHECK(pthread_create(&t, NULL, drops_thread, &st) == 0, "thread");
	char buf[128];
	long got = 0;
	uint32_t last = 0;
	bool ordered = true;
	ssize_t r;
	while ((r = ipk_recv(l, buf, sizeof(buf), 500 * th_mult())) >= 0) {
		uint32_t be;
		memcpy(&be, buf, 4);
		ordered &= got == 0 || ntohl(be) > last;
		last = ntohl(be);
		got++;
		if (got % 64 == 0)
			usleep(1000); /* a slow reader: the kernel drops */
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	long long drops = ipk_drops(l);
	int status = th_wait(pid, WAIT * th_mult());
	ipk_close(l);
	CHECK(r == -ETIMEDOUT, "recv ended with %zd", r);
	CHECK(got > 0 && ordered, "got %ld, in order: %d", got, ordered);
	CHECK(drops >= 0 && got + drops <= BURST, "got %ld + dropped %lld", got,
	      drops);
	CHECK(status == 0, "sender exit status %d", status);
	return 0;
}

/* ---- ?rxbudget=: connections of one listener in two threads ---------- */

/*
 * The budget is shared by the connections of a listener, which may be
 * served by different threads; ipk_stats(listener) reads it meanwhile.
 * HOGS raw connections each announce 16 MiB and send 400 KiB of it.
 */
#define HOGS 4

struct hogs {
	char name[128];
	int done[2]; /* test -> peer: hang up now */
};

static int
hog_peer(void *arg)
{
	struct hogs *h = arg;
	int fd[HOGS];
	bool alive[HOGS];
	for (int i = 0; i < HOGS; i++) {
		fd[i] = raw_connect(h->name);
		CHECK(fd[i] >= 0, "connect %s", h->name);
		char hdr[4];
		raw_header(hdr, 16u << 20);
		alive[i] = raw_write(fd[i], hdr, 4) == 0;
	}
	static char chunk[16u << 10];
	for (size_t sent = 0; sent < (400u << 10); sent += sizeof(chunk))
		for (int i = 0; i < HOGS; i++)
			if (alive[i] && raw_write(fd[i], chunk, sizeof(chunk)))
				alive[i] = false;
	th_get(h->done[0], 30000);
	for (int i = 0; i < HOGS; i++)
		close(fd[i]);
	return 0;
}

struct server {
	ipk_chan *c[2];
	char *buf;
	_Atomic int nobufs;
	_Atomic long err;
};

static void *
serve_thread(void *arg)
{
	struct server *v = arg;
	bool done[2] = {false, false};
	long long end = th_now_ms() + 3000 * th_mult();
	while (th_now_ms() < end && !(done[0] && done[1]))
		for (int i = 0; i < 2; i++) {
			if (done[i])
				continue;
			ssize_t r = ipk_recv(v->c[i], v->buf, 16u << 20, 20);
			if (r == -ENOBUFS) {
				done[i] = true;
				atomic_fetch_add(&v->nobufs, 1);
			} else if (r != -ETIMEDOUT) {
				atomic_store(&v->err, r);
				done[i] = true;
			}
		}
	return NULL;
}

static int
rxbudget_connections_in_two_threads(void)
{
	struct hogs h;
	ipk_chan *l, *c[HOGS];
	CHECK(ipk_listen("tcp://127.0.0.1:0?rxbudget=1048576", &l) == 0,
	      "listen");
	CHECK(ipk_name(l, h.name, sizeof(h.name)) == 0, "name");
	CHECK(pipe(h.done) == 0, "pipe");
	pid_t pid = spawn(hog_peer, &h);
	CHECK(pid > 0, "fork: %s", strerror(errno));
	for (int i = 0; i < HOGS; i++)
		CHECK(ipk_accept(l, &c[i], WAIT) == 0, "accept %d", i);
	struct server v[2] = {{.c = {c[0], c[1]}}, {.c = {c[2], c[3]}}};
	_Atomic int stop = 0;
	struct flow st = {.ch = l, .stop = &stop};
	pthread_t t[3];
	for (int i = 0; i < 2; i++) {
		v[i].buf = malloc(16u << 20);
		CHECK(v[i].buf, "malloc");
		CHECK(pthread_create(&t[i], NULL, serve_thread, &v[i]) == 0,
		      "thread");
	}
	CHECK(pthread_create(&t[2], NULL, drops_thread, &st) == 0, "thread");
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	atomic_store(&stop, 1);
	pthread_join(t[2], NULL);
	struct ipk_stats s;
	int rc = ipk_stats(l, &s);
	th_put(h.done[1], 'q');
	int status = th_wait(pid, WAIT * th_mult());
	for (int i = 0; i < HOGS; i++)
		ipk_close(c[i]);
	ipk_close(l);
	int nobufs = atomic_load(&v[0].nobufs) + atomic_load(&v[1].nobufs);
	for (int i = 0; i < 2; i++) {
		free(v[i].buf);
		CHECK(atomic_load(&v[i].err) == 0, "server %d: %s", i,
		      ipk_strerror((int)atomic_load(&v[i].err)));
	}
	CHECK(rc == 0 && nobufs >= 1, "nobody was shed (%d)", nobufs);
	CHECK(s.shed == nobufs, "shed %lld, -ENOBUFS %d", s.shed, nobufs);
	CHECK(status == 0, "peer exit status %d", status);
	return 0;
}

/* ---- the runner ------------------------------------------------------- */

static const struct {
	const char *name;
	int (*fn)(void);
} cases[] = {
        {"unix_pair_send_and_recv_at_once", unix_pair_send_and_recv_at_once},
        {"tcp_send_and_recv_at_once", tcp_send_and_recv_at_once},
        {"pipe_pairs_send_and_recv_at_once", pipe_pairs_send_and_recv_at_once},
        {"sysvmsg_send_and_recv_at_once", sysvmsg_send_and_recv_at_once},
        {"unix_frame_deadline_while_sending",
         unix_frame_deadline_while_sending},
        {"tcp_frame_deadline_while_sending", tcp_frame_deadline_while_sending},
        {"unixgram_reply_and_recv_at_once", unixgram_reply_and_recv_at_once},
        {"udp_drops_read_while_receiving", udp_drops_read_while_receiving},
        {"rxbudget_connections_in_two_threads",
         rxbudget_connections_in_two_threads},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* Run one case in a child with a hang guard: 0 when it passed. */
static int
run_case(size_t i)
{
	long long t0 = th_now_ms();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL); /* the library must cope */
		alarm(CASE_SECONDS * (unsigned)th_mult());
		exit(cases[i].fn());
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	printf("%s %zu - %s (%lld ms)", ok ? "ok" : "not ok", i + 1,
	       cases[i].name, th_now_ms() - t0);
	if (WIFSIGNALED(st))
		printf(": killed by signal %d%s", WTERMSIG(st),
		       WTERMSIG(st) == SIGALRM ? " (hung)" : "");
	else if (!ok)
		printf(": exit status %d%s", WEXITSTATUS(st),
		       WEXITSTATUS(st) == 66 ? " (ThreadSanitizer report)"
		                             : "");
	printf("\n");
	return ok ? 0 : 1;
}

int
main(int argc, char **argv)
{
	int failed = 0, ran = 0;
	printf("1..%zu\n", argc > 1 ? (size_t)(argc - 1) : NCASES);
	for (size_t i = 0; i < NCASES; i++) {
		bool want = argc == 1;
		for (int a = 1; a < argc; a++)
			want |= strcmp(argv[a], cases[i].name) == 0;
		if (!want)
			continue;
		ran++;
		failed += run_case(i) != 0;
	}
	if (ran == 0 || (argc > 1 && ran != argc - 1)) {
		fprintf(stderr, "threads_test: unknown case name\n");
		return 2;
	}
	printf("# %d of %d failed\n", failed, ran);
	return failed ? 1 : 0;
}
