/*
 * sysvmsg_test.c - "sysvmsg:KEY": keys, selection by type, duplex by
 * type, ownership, RELIABILITY.md SVMQ-01..04 (truncation, removal
 * under a waiter, signals, squatters, limits), and timed waits that sleep
 * in the kernel (helper thread, ipk_fd, fork).  Peers are forked
 * processes; intruders run as nobody; the teardown removes every key.
 */
#include "helpers.h"
#include "queue_helpers.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/time.h>

#define WAIT 10000

static void
svmq_fini(void)
{
	th_cleanup();
	qh_cleanup();
}

TestSuite(sysvmsg, .init = qh_setup, .fini = svmq_fini, .timeout = 60);

static const char *
url(int n, const char *query)
{
	return qh_fmt("sysvmsg:%d%s", (int)qh_key(n), query);
}

static struct msqid_ds
stat_key(int n)
{
	struct msqid_ds ds;
	memset(&ds, 0, sizeof(ds));
	int id = msgget(qh_key(n), 0);
	cr_assert_geq(id, 0, "queue %d missing", n);
	cr_assert_eq(msgctl(id, IPC_STAT, &ds), 0);
	return ds;
}

static bool
key_exists(int n)
{
	return msgget(qh_key(n), 0) >= 0;
}

Test(sysvmsg, key_forms)
{
	ipk_chan *l, *d;
	cr_assert_eq(ipk_listen(url(0, ""), &l), 0);
	char hex[64];
	snprintf(hex, sizeof(hex), "sysvmsg:0x%x", (unsigned)qh_key(0));
	cr_assert_eq(ipk_dial(hex, &d), 0, "hex spelling of the same key");
	cr_expect_eq(ipk_send(d, "k", 1, 0), 0);
	char buf[8];
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), WAIT), 1);
	ipk_close(d);
	ipk_close(l);
	cr_expect_not(key_exists(0), "listener's close removes the queue");

	const char *bad[] = {"sysvmsg:",       "sysvmsg:12x",
	                     "sysvmsg:/tmp:0", "sysvmsg:/tmp:256",
	                     "sysvmsg::1",     "sysvmsg:99999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(ipk_listen(bad[i], &l), -EINVAL, "%s", bad[i]);
	cr_expect_eq(ipk_dial("sysvmsg:IPC_PRIVATE", &d), -EINVAL,
	             "a private queue cannot be dialled by key");
}

Test(sysvmsg, ftok_path_proj)
{
	const char *path = th_path("ftok");
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fclose(f);
	char u[300];
	snprintf(u, sizeof(u), "sysvmsg:%s:7", path);
	ipk_chan *l, *d;
	int rc = ipk_listen(u, &l);
	cr_assert_eq(rc, 0, "%s", ipk_strerror(rc));
	int id = msgget(ftok(path, 7), 0);
	cr_expect_geq(id, 0, "the queue is at ftok(path, 7)");
	cr_assert_eq(ipk_dial(u, &d), 0);
	ipk_close(d);
	ipk_close(l);
	cr_expect_lt(msgget(ftok(path, 7), 0), 0, "removed on close");
	unlink(path);
	snprintf(u, sizeof(u), "sysvmsg:%s-missing:7", path);
	cr_expect_eq(ipk_listen(u, &l), -ENOENT);
}

static int
private_child(void *arg)
{
	ipk_chan *c = arg;
	int rc = ipk_send(c, "from child", 10, WAIT);
	ipk_close(c); /* not the creating process: must not remove */
	return rc ? 1 : 0;
}

Test(sysvmsg, ipc_private_shared_by_fork)
{
	ipk_chan *l;
	cr_assert_eq(ipk_listen("sysvmsg:IPC_PRIVATE", &l), 0);
	pid_t pid = th_spawn(private_child, l);
	cr_assert_eq(th_wait(pid, WAIT), 0);
	char buf[32];
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), WAIT), 10,
	             "the child's close left the queue in place");
	ipk_close(l);
}

Test(sysvmsg, keep_leaves_the_queue)
{
	ipk_chan *l;
	cr_assert_eq(ipk_listen(url(1, "?keep"), &l), 0);
	ipk_close(l);
	cr_expect(key_exists(1), "?keep: still there (teardown removes it)");
	cr_expect_eq(ipk_listen(url(1, ""), &l), -EEXIST);
}

/* Sends types 4 7 3 1 9 3 5 2 8 6 1 5 with payload "#index". */
static int
send_mix(void *arg)
{
	(void)arg;
	static const long types[] = {4, 7, 3, 1, 9, 3, 5, 2, 8, 6, 1, 5};
	ipk_chan *c;
	if (ipk_dial(url(2, ""), &c) < 0)
		return 1;
	for (int i = 0; i < 12; i++) {
		char p[16];
		int n = snprintf(p, sizeof(p), "#%d", i);
		struct ipk_msg m = {
		        .buf = p, .len = (size_t)n, .type = types[i]};
		if (ipk_sendmsg(c, &m, WAIT) < 0)
			return 2;
	}
	ipk_close(c);
	return 0;
}

/*
 * The notes' rule: 0 takes the first message, N > 0 the first of type N,
 * -N the first of the lowest type <= N.  Worked by hand from send_mix.
 */
Test(sysvmsg, selection_by_type)
{
	static const struct {
		long sel, type;
		int idx; /* -1: nothing matches */
	} want[] = {
	        {0, 4, 0},   {3, 3, 2},  {-5, 1, 3}, {-5, 1, 10}, {-5, 2, 7},
	        {3, 3, 5},   {3, 0, -1}, {-5, 5, 6}, {0, 7, 1},   {-5, 5, 11},
	        {-5, 0, -1}, {0, 9, 4},  {0, 8, 8},  {0, 6, 9},   {0, 0, -1},
	};
	ipk_chan *l;
	cr_assert_eq(ipk_listen(url(2, ""), &l), 0);
	cr_assert_eq(th_wait(th_spawn(send_mix, NULL), WAIT), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char buf[16] = {0};
		struct ipk_msg m = {.buf = buf,
		                    .len = sizeof(buf) - 1,
		                    .type = want[i].sel};
		ssize_t n = ipk_recvmsg(l, &m, 0);
		if (want[i].idx < 0) {
			cr_expect_eq(n, -EAGAIN, "step %zu: %zd", i, n);
			continue;
		}
		char p[16];
		snprintf(p, sizeof(p), "#%d", want[i].idx);
		cr_expect_eq(n, (ssize_t)strlen(p), "step %zu: %zd", i, n);
		cr_expect_str_eq(buf, p, "step %zu (selector %ld)", i,
		                 want[i].sel);
		cr_expect_eq(m.type, want[i].type, "step %zu type", i);
	}
	ipk_close(l);
}

static int
echo_upper(void *arg)
{
	(void)arg;
	ipk_chan *c;
	if (ipk_dial(url(3, "?send=2&recv=1"), &c) < 0)
		return 1;
	char buf[64];
	for (int i = 0; i < 3; i++) {
		ssize_t n = ipk_recv(c, buf, sizeof(buf), WAIT);
		if (n < 0)
			return 2;
		for (ssize_t k = 0; k < n; k++)
			buf[k] = (char)(buf[k] - 'a' + 'A');
		if (ipk_send(c, buf, (size_t)n, WAIT) < 0)
			return 3;
	}
	ipk_close(c);
	return 0;
}

Test(sysvmsg, one_queue_duplex_by_type)
{
	ipk_chan *l;
	cr_assert_eq(ipk_listen(url(3, "?send=1&recv=2"), &l), 0);
	pid_t pid = th_spawn(echo_upper, NULL);
	const char *words[] = {"abc", "queue", "xyz"};
	for (int i = 0; i < 3; i++)
		cr_assert_eq(ipk_send(l, words[i], strlen(words[i]), WAIT), 0);
	const char *up[] = {"ABC", "QUEUE", "XYZ"};
	for (int i = 0; i < 3; i++) {
		char buf[64] = {0};
		struct ipk_msg m = {.buf = buf, .len = sizeof(buf) - 1};
		cr_expect_eq(ipk_recvmsg(l, &m, WAIT), (ssize_t)strlen(up[i]));
		cr_expect_str_eq(buf, up[i]);
		cr_expect_eq(m.type, 2);
	}
	cr_expect_eq(th_wait(pid, WAIT), 0);
	ipk_close(l);
}

/* SVMQ-01: the kernel's E2BIG keeps the message; so does ipckit. */
Test(sysvmsg, svmq01_small_buffer_keeps_message)
{
	ipk_chan *l;
	cr_assert_eq(ipk_listen(url(4, ""), &l), 0);
	char big[100];
	th_fill(big, sizeof(big), 3);
	cr_assert_eq(ipk_send(l, big, sizeof(big), 0), 0);

	int id = msgget(qh_key(4), 0);
	struct {
		long type;
		char text[10];
	} raw;
	cr_expect_eq(msgrcv(id, &raw, sizeof(raw.text), 0, IPC_NOWAIT), -1);
	cr_expect_eq(errno, E2BIG, "the kernel without MSG_NOERROR");
	cr_expect_eq(stat_key(4).msg_qnum, 1, "and the message stays");

	char buf[200];
	struct ipk_msg m = {.buf = buf, .len = 10};
	cr_expect_eq(ipk_recvmsg(l, &m, 0), -EMSGSIZE);
	cr_expect_eq(m.len, 100, "the size a buffer needs");
	cr_expect_eq(stat_key(4).msg_qnum, 1, "never truncated");
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), 0), 100);
	cr_expect(th_check(buf, 100, 3));
	ipk_close(l);
}

struct waiter {
	ipk_chan *c; /* the listener, inherited: no dial to race with */
	int timeout;
};

static int
wait_recv(void *arg)
{
	struct waiter *w = arg;
	char buf[16];
	return ipk_recv(w->c, buf, sizeof(buf), w->timeout) == -EIDRM ? 0 : 10;
}

static int
wait_send(void *arg)
{
	struct waiter *w = arg;
	char *buf = calloc(1, 8192);
	/* msg_qbytes is 16384: two 8192-byte messages fill it. */
	for (int i = 0; i < 2; i++)
		if (ipk_send(w->c, buf, 8192, 0) < 0)
			return 2;
	if (ipk_send(w->c, buf, 8192, 0) != -EAGAIN)
		return 3; /* SVMQ-02 (c) */
	return ipk_send(w->c, buf, 8192, w->timeout) == -EIDRM ? 0 : 10;
}

/*
 * SVMQ-02 (a): ipcrm -q under a blocked receiver or sender is EIDRM.
 * Whether the child already sleeps in the call or comes to it after the
 * removal, the answer must be the same.
 */
static void
removed_under(int (*fn)(void *), int timeout, msgqnum_t fill)
{
	struct waiter w = {.timeout = timeout};
	cr_assert_eq(ipk_listen(url(5, ""), &w.c), 0);
	pid_t pid = th_spawn(fn, &w);
	for (int i = 0; i < 1000 && stat_key(5).msg_qnum < fill; i++)
		usleep(1000);
	usleep(100 * 1000);
	cr_assert_eq(th_sh("ipcrm -Q %d", (int)qh_key(5)), 0);
	cr_expect_eq(th_wait(pid, WAIT), 0, "timeout %d: not EIDRM", timeout);
	ipk_close(w.c);
}

Test(sysvmsg, svmq02_removed_under_receiver)
{
	removed_under(wait_recv, -1, 0);   /* asleep in msgrcv */
	removed_under(wait_recv, 5000, 0); /* the helper thread waits */
}

Test(sysvmsg, svmq02_removed_under_sender)
{
	removed_under(wait_send, -1, 2);
	removed_under(wait_send, 5000, 2);
}

static void
on_alarm(int sig)
{
	(void)sig;
}

static int
recv_under_signals(void *arg)
{
	(void)arg;
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 10000}, {0, 10000}};
	setitimer(ITIMER_REAL, &it, NULL);
	ipk_chan *c;
	if (ipk_dial(url(6, ""), &c) < 0)
		return 1;
	char buf[16];
	if (ipk_recv(c, buf, sizeof(buf), 300) != -ETIMEDOUT)
		return 2; /* EINTR retried with the time left */
	if (ipk_send(c, "ready", 5, WAIT) < 0)
		return 3;
	struct ipk_msg m = {.buf = buf, .len = sizeof(buf), .type = 2};
	return ipk_recvmsg(c, &m, -1) == 2 ? 0
	                                   : 4; /* msgrcv is not restarted */
}

/* SVMQ-02 (b): SIGALRM with SA_RESTART every 10 ms. */
Test(sysvmsg, svmq02_signals_do_not_end_waits)
{
	ipk_chan *l;
	cr_assert_eq(ipk_listen(url(6, ""), &l), 0);
	pid_t pid = th_spawn(recv_under_signals, NULL);
	char buf[16];
	struct ipk_msg m = {.buf = buf, .len = sizeof(buf), .type = 1};
	cr_assert_eq(ipk_recvmsg(l, &m, WAIT), 5);
	usleep(200 * 1000);
	m = (struct ipk_msg){.buf = "ok", .len = 2, .type = 2};
	cr_assert_eq(ipk_sendmsg(l, &m, WAIT), 0);
	cr_expect_eq(th_wait(pid, WAIT), 0);
	ipk_close(l);
}

/* SVMQ-03: a squatted key, and what our own create really gets. */
Test(sysvmsg, svmq03_squatter_and_modes)
{
	char out[64];
	qh_run(QH_NOBODY, out, sizeof(out), "mksvmq %d 0666", (int)qh_key(7));
	cr_assert_str_eq(out, "0", "nobody could not create the squat");
	ipk_chan *c;
	cr_expect_eq(ipk_listen(url(7, ""), &c), -EEXIST);
	cr_expect_eq(ipk_dial(url(7, ""), &c), -EPERM, "foreign: refused");
	cr_expect_eq(ipk_dial(url(7, "?mode=0666"), &c), -EPERM,
	             "the mode is not enough: the owner is not us");
	cr_assert_eq(ipk_dial(url(7, "?share"), &c), 0, "opt-in sharing");
	ipk_close(c);

	umask(022);
	cr_assert_eq(ipk_listen(url(8, ""), &c), 0);
	struct msqid_ds ds = stat_key(8);
	cr_expect_eq(ds.msg_perm.mode & 0777, 0600);
	cr_expect_eq(ds.msg_perm.uid, geteuid());
	qh_run(QH_NOBODY, out, sizeof(out), "dial '%s'", url(8, ""));
	cr_expect_str_eq(out, "-13", "nobody gets EACCES on ours");
	ipk_close(c);

	umask(077);
	cr_assert_eq(ipk_listen(url(9, "?mode=0660"), &c), 0);
	cr_expect_eq(stat_key(9).msg_perm.mode & 0777, 0660, "no umask");
	ipk_chan *d;
	cr_expect_eq(ipk_dial(url(9, ""), &d), -EPERM, "wider than 0600");
	cr_expect_eq(ipk_dial(url(9, "?mode=0660"), &d), 0);
	ipk_close(d);
	ipk_close(c);
}

/* SVMQ-04: refused before the system call. */
Test(sysvmsg, svmq04_bad_type_and_size)
{
	ipk_chan *l;
	cr_expect_eq(ipk_listen(url(10, "?type=0"), &l), -EINVAL);
	cr_expect_eq(ipk_listen(url(10, "?send=-3"), &l), -EINVAL);
	cr_expect_eq(ipk_listen(url(10, "?type=1&send=2"), &l), -EINVAL);
	cr_assert_eq(ipk_listen(url(10, ""), &l), 0);
	cr_expect_eq(ipk_max(l), 8192, "kernel.msgmax");
	struct ipk_msg m = {.buf = "x", .len = 1, .type = -1};
	cr_expect_eq(ipk_sendmsg(l, &m, 0), -EINVAL);
	char *big = calloc(1, 8193);
	cr_expect_eq(ipk_send(l, big, 8193, 0), -EMSGSIZE);
	free(big);
	cr_expect_eq(stat_key(10).msg_qnum, 0, "nothing reached the queue");
	ipk_close(l);
}

/* Limits inside an IPC namespace of our own (needs root to make it). */
Test(sysvmsg, limits_in_namespace)
{
	if (geteuid() != 0)
		cr_skip_test("unshare --ipc needs root");
	char out[256];
	int st = qh_run("unshare --ipc sh -c 'sysctl -qw kernel.msgmni=2 "
	                "kernel.msgmax=100 && exec \"$@\"' sh",
	                out, sizeof(out),
	                "listen sysvmsg:1 sysvmsg:2 sysvmsg:3");
	cr_assert_eq(st, 0);
	cr_expect_str_eq(out, "0 0 -28", "msgmni=2: the third is ENOSPC");
	qh_run("unshare --ipc sh -c 'sysctl -qw kernel.msgmax=100 && "
	       "exec \"$@\"' sh",
	       out, sizeof(out), "limits sysvmsg:1");
	cr_expect_str_eq(out, "100 -90 0", "max follows kernel.msgmax");
}

/* Context switches of every thread of pid, from /proc (-1: gone). */
static long
ctx_switches(pid_t pid)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	long sum = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[340], line[128];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/status", dir, e->d_name);
		FILE *f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f)) {
			long v;
			if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) ==
			            1 ||
			    sscanf(line, "nonvoluntary_ctxt_switches: %ld",
			           &v) == 1)
				sum += v;
		}
		if (f)
			fclose(f);
	}
	closedir(d);
	return sum;
}

struct idle {
	ipk_chan *c; /* the listener, inherited by the child */
	int go[2];   /* child -> parent: about to wait */
};

/* Waits with a finite timeout (and the cancel descriptor the CLI sets). */
static int
idle_recv(void *arg)
{
	struct idle *w = arg;
	int cancel[2];
	if (pipe(cancel) < 0)
		return 1;
	ipk_set_cancel(w->c, cancel[0]);
	char buf[16];
	th_put(w->go[1], 'w');
	ssize_t n = ipk_recv(w->c, buf, sizeof(buf), 5000);
	return n == 2 && !memcmp(buf, "hi", 2) ? 0 : 2;
}

/* Issue 10: an idle timed receive sleeps in the kernel, not in naps. */
Test(sysvmsg, idle_timed_receiver_does_not_wake)
{
	struct idle w;
	cr_assert_eq(pipe(w.go), 0);
	cr_assert_eq(ipk_listen(url(11, ""), &w.c), 0);
	pid_t pid = th_spawn(idle_recv, &w);
	th_defer_kill(pid);
	cr_assert_eq(th_get(w.go[0], WAIT * th_mult()), 'w');
	usleep(300 * 1000); /* the helper thread starts and settles */
	long before = ctx_switches(pid);
	usleep(2000 * 1000);
	long after = ctx_switches(pid);
	cr_assert_geq(before, 0);
	cr_expect_lt(after - before, 5, "%ld context switches in 2 s idle",
	             after - before);
	cr_assert_eq(ipk_send(w.c, "hi", 2, WAIT), 0);
	cr_expect_eq(th_wait(pid, WAIT * th_mult()), 0, "message not received");
	ipk_close(w.c);
}

static int
cancel_soon(void *arg)
{
	usleep(200 * 1000);
	return write(*(int *)arg, "x", 1) == 1 ? 0 : 1;
}

/* The deadline and the cancel descriptor end a wait in the kernel. */
Test(sysvmsg, timed_wait_ends_on_time_and_on_cancel)
{
	ipk_chan *l;
	cr_assert_eq(ipk_listen(url(12, ""), &l), 0);
	char buf[16];
	long long t0 = th_now_ms();
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), 300), -ETIMEDOUT);
	long long took = th_now_ms() - t0;
	cr_expect_geq(took, 299, "ended early: %lld ms", took);
	cr_expect_lt(took, 300 + 1000 * th_mult(), "ended late: %lld ms", took);

	int cancel[2];
	cr_assert_eq(pipe(cancel), 0);
	ipk_set_cancel(l, cancel[0]);
	pid_t pid = th_spawn(cancel_soon, &cancel[1]);
	th_defer_kill(pid);
	t0 = th_now_ms();
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), 20000), -ECANCELED);
	took = th_now_ms() - t0;
	cr_expect_lt(took, 200 + 2000 * th_mult(), "cancel took %lld ms", took);
	cr_expect_eq(th_wait(pid, WAIT), 0);
	ipk_set_cancel(l, -1);
	/* After both, the channel still receives (0 bytes too: the helper
	 * takes such a message whole). */
	struct ipk_msg m = {.buf = "", .len = 0, .type = 4};
	cr_assert_eq(ipk_sendmsg(l, &m, 0), 0);
	m = (struct ipk_msg){.buf = buf, .len = sizeof(buf)};
	cr_expect_eq(ipk_recvmsg(l, &m, 1000), 0);
	cr_expect_eq(m.type, 4);
	close(cancel[0]);
	close(cancel[1]);
	ipk_close(l);
}

#define SEQ_N 3000

/* Before about 3 messages in 8, a pause of up to 1.5 ms. */
static void
irregular_pause(unsigned *r)
{
	*r = *r * 1103515245 + 12345;
	if (*r >> 28 < 6)
		usleep((*r >> 16) % 1500);
}

/* Numbered messages at irregular gaps around the receiver's timeouts. */
static int
send_numbered(void *arg)
{
	ipk_chan *c;
	unsigned r = 12345;
	int i = 0;
	(void)arg;
	if (ipk_dial(url(13, ""), &c) < 0)
		return 1;
	while (i < SEQ_N && (irregular_pause(&r), 1) &&
	       ipk_send(c, &i, sizeof(i), WAIT) == 0)
		i++;
	ipk_close(c);
	return i == SEQ_N ? 0 : 2;
}

/* A message that comes as a short timeout ends is received once, later. */
Test(sysvmsg, nothing_lost_at_the_deadline)
{
	ipk_chan *l;
	cr_assert_eq(ipk_listen(url(13, ""), &l), 0);
	pid_t pid = th_spawn(send_numbered, NULL);
	th_defer_kill(pid);
	int next = 0, expired = 0;
	long long end = th_now_ms() + 30000LL * th_mult();
	while (next < SEQ_N && th_now_ms() < end) {
		int v;
		ssize_t n = ipk_recv(l, &v, sizeof(v), next % 3 ? 1 : 0);
		if (n == -ETIMEDOUT || n == -EAGAIN) {
			expired++;
			continue;
		}
		cr_assert_eq(n, (ssize_t)sizeof(v), "got %zd", n);
		cr_assert_eq(v, next, "message %d came as %d", next, v);
		next++;
	}
	cr_expect_eq(next, SEQ_N, "only %d of %d", next, SEQ_N);
	cr_expect_gt(expired, 100, "the deadlines were not exercised");
	cr_expect_eq(th_wait(pid, WAIT), 0);
	cr_expect_eq(stat_key(13).msg_qnum, 0, "nothing left over");
	ipk_close(l);
}

static bool
readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static int
send_two_late(void *arg)
{
	ipk_chan *c = arg; /* inherited */
	usleep(100 * 1000);
	struct ipk_msg m = {.buf = "ab", .len = 2, .type = 3};
	int rc = ipk_sendmsg(c, &m, WAIT);
	rc = rc ? rc : ipk_sendmsg(c, &m, WAIT);
	return rc ? 1 : 0;
}

/* ipk_fd: readable once a message for the selector is queued, until a
 * receive finds none. */
Test(sysvmsg, fd_polls_readable)
{
	ipk_chan *l;
	cr_assert_eq(ipk_listen(url(14, "?recv=3"), &l), 0);
	int fd = ipk_fd(l);
	cr_assert_geq(fd, 0, "%s", ipk_strerror(fd));
	cr_expect_eq(ipk_fd(l), fd, "one descriptor");
	cr_expect_not(readable(fd, 50), "empty queue");
	struct ipk_msg m = {.buf = "x", .len = 1, .type = 5};
	cr_assert_eq(ipk_sendmsg(l, &m, 0), 0);
	cr_expect_not(readable(fd, 100), "type 5 is not ours (?recv=3)");
	pid_t pid = th_spawn(send_two_late, l);
	th_defer_kill(pid);
	cr_assert(readable(fd, WAIT * th_mult()), "message of type 3");
	char buf[8];
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), 0), 2);
	cr_expect_eq(th_wait(pid, WAIT), 0);
	cr_expect(readable(fd, WAIT * th_mult()), "the second is queued");
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), 0), 2);
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), 0), -EAGAIN);
	cr_expect_not(readable(fd, 100), "both taken, and a receive saw it");
	m = (struct ipk_msg){.buf = buf, .len = sizeof(buf), .type = 5};
	cr_expect_eq(ipk_recvmsg(l, &m, 1000), 1, "another selector");
	ipk_close(l);
}

struct forked {
	ipk_chan *c;
	int fd; /* ipk_fd in the parent */
};

static int
child_receives(void *arg)
{
	struct forked *f = arg;
	if (ipk_fd(f->c) != f->fd)
		return 1; /* the number the parent had */
	if (!readable(f->fd, WAIT))
		return 2;
	char buf[16];
	if (ipk_recv(f->c, buf, sizeof(buf), 0) != 5)
		return 3;
	ssize_t n = ipk_recv(f->c, buf, sizeof(buf), WAIT);
	return n == 6 && !memcmp(buf, "second", 6) ? 0 : 4;
}

/* The helper thread is not inherited: the child gets its own. */
Test(sysvmsg, child_after_fork_receives)
{
	struct forked f;
	cr_assert_eq(ipk_listen(url(15, "?recv=1"), &f.c), 0);
	char buf[16];
	cr_expect_eq(ipk_recv(f.c, buf, sizeof(buf), 50), -ETIMEDOUT);
	f.fd = ipk_fd(f.c);
	cr_assert_geq(f.fd, 0);
	pid_t pid = th_spawn(child_receives, &f);
	th_defer_kill(pid);
	ipk_chan *d;
	cr_assert_eq(ipk_dial(url(15, ""), &d), 0);
	cr_assert_eq(ipk_send(d, "first", 5, WAIT), 0);
	usleep(200 * 1000);
	cr_assert_eq(ipk_send(d, "second", 6, WAIT), 0);
	cr_expect_eq(th_wait(pid, WAIT * th_mult()), 0);
	ipk_close(d);
	ipk_close(f.c);
}

/*
 * Closing a dialler whose helper thread waits in msgrcv takes nothing: a
 * message sent after stays queued, and a 0-byte message the thread took
 * whole goes back to the queue.
 */
Test(sysvmsg, close_under_a_waiting_helper_keeps_messages)
{
	ipk_chan *l, *d;
	cr_assert_eq(ipk_listen(url(14, "?recv=8"), &l), 0);
	for (int round = 0; round < 2; round++) {
		cr_assert_eq(ipk_dial(url(14, "?recv=9"), &d), 0);
		char buf[8];
		cr_expect_eq(ipk_recv(d, buf, sizeof(buf), 50), -ETIMEDOUT);
		struct ipk_msg m = {
		        .buf = "abc", .len = round ? 0 : 3, .type = 9};
		cr_assert_eq(ipk_sendmsg(l, &m, 0), 0);
		usleep(50 * 1000); /* the thread sees it (and takes 0 bytes) */
		cr_expect_eq(stat_key(14).msg_qnum, round ? 0 : 1,
		             "round %d: what the thread left queued", round);
		long long t0 = th_now_ms();
		ipk_close(d);
		cr_expect_lt(th_now_ms() - t0, 1000 * th_mult(), "close hung");
		m = (struct ipk_msg){.buf = buf, .len = sizeof(buf), .type = 9};
		cr_expect_eq(ipk_recvmsg(l, &m, 0), round ? 0 : 3,
		             "round %d: the message is still queued", round);
	}
	ipk_close(l);
}
