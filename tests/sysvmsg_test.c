/*
 * sysvmsg_test.c - "sysvmsg:KEY": keys, selection by type, duplex by
 * type, ownership, and RELIABILITY.md SVMQ-01..04 (truncation, removal
 * under a waiter, signals, squatters, limits).  Peers are forked
 * processes; intruders run as nobody; the teardown removes every key.
 */
#include "helpers.h"
#include "queue_helpers.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <sys/time.h>

#define WAIT 10000

TestSuite(sysvmsg, .init = qh_setup, .fini = qh_cleanup, .timeout = 60);

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
	removed_under(wait_recv, 5000, 0); /* polling with IPC_NOWAIT */
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
