/*
 * mq_test.c - "mq:/name": priorities, the receive buffer sized from
 * mq_getattr, removal under a waiter, and RELIABILITY.md PMQ-01..05
 * (sizes, a full queue, limits in an IPC namespace, names and owners,
 * senders killed mid-send).  The teardown unlinks every name it made.
 */
#include "helpers.h"
#include "queue_helpers.h"

#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>

#define WAIT 10000

TestSuite(mq, .init = qh_setup, .fini = qh_cleanup, .timeout = 90);

static const char *
url(int n, const char *query)
{
	return qh_fmt("mq:%s%s", qh_name(n), query);
}

/* PMQ-01: msgsize 64. */
Test(mq, pmq01_sizes)
{
	ipk_chan *l;
	cr_assert_eq(ipk_listen(url(0, "?depth=4&msgsize=64"), &l), 0);
	cr_expect_eq(ipk_max(l), 64);
	char buf[80] = {0};
	cr_expect_eq(ipk_send(l, buf, 65, 0), -EMSGSIZE);
	cr_expect_eq(ipk_send(l, "hi", 2, 0), 0);
	char tiny[2];
	cr_expect_eq(ipk_recv(l, tiny, sizeof(tiny), 0), 2,
	             "a buffer below msgsize still receives a small message");
	cr_expect_eq(ipk_send(l, "", 0, 0), 0);
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), 0), 0, "empty message");
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), 0), -EAGAIN);
	ipk_close(l);
}

Test(mq, small_buffer_keeps_message)
{
	ipk_chan *l, *d;
	cr_assert_eq(ipk_listen(url(1, "?depth=4&msgsize=64"), &l), 0);
	cr_assert_eq(ipk_dial(url(1, ""), &d), 0);
	char msg[40], buf[64];
	th_fill(msg, sizeof(msg), 5);
	struct ipk_msg m = {.buf = msg, .len = sizeof(msg), .prio = 3};
	cr_assert_eq(ipk_sendmsg(l, &m, 0), 0);
	m = (struct ipk_msg){.buf = buf, .len = 10};
	cr_expect_eq(ipk_recvmsg(d, &m, 0), -EMSGSIZE);
	cr_expect_eq(m.len, 40, "the size a buffer needs");
	cr_expect_eq(ipk_send(l, "later", 5, 0), 0);
	m = (struct ipk_msg){.buf = buf, .len = sizeof(buf)};
	cr_expect_eq(ipk_recvmsg(d, &m, 0), 40, "the held message comes first");
	cr_expect(th_check(buf, 40, 5));
	cr_expect_eq(m.prio, 3);

	m = (struct ipk_msg){.buf = buf, .len = 2};
	cr_expect_eq(ipk_recvmsg(d, &m, 0), -EMSGSIZE);
	ipk_close(d); /* gives the held message back to the queue */
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), 0), 5);
	ipk_close(l);
}

static int
drain_later(void *arg)
{
	(void)arg;
	usleep(200 * 1000);
	ipk_chan *d;
	char buf[64];
	if (ipk_dial(url(2, ""), &d) < 0)
		return 1;
	return ipk_recv(d, buf, sizeof(buf), WAIT) == 1 ? 0 : 2;
}

/* PMQ-02: depth 2, full. */
Test(mq, pmq02_full_queue_and_priorities)
{
	ipk_chan *l;
	cr_assert_eq(ipk_listen(url(2, "?depth=2&msgsize=64"), &l), 0);
	cr_assert_eq(ipk_send(l, "a", 1, 0), 0);
	cr_assert_eq(ipk_send(l, "b", 1, 0), 0);
	cr_expect_eq(ipk_send(l, "c", 1, 0), -EAGAIN);
	long long t0 = th_now_ms();
	cr_expect_eq(ipk_send(l, "c", 1, 200), -ETIMEDOUT);
	cr_expect_geq(th_now_ms() - t0, 190, "waited until the deadline");
	pid_t pid = th_spawn(drain_later, NULL);
	cr_expect_eq(ipk_send(l, "c", 1, -1), 0, "completes after the drain");
	cr_expect_eq(th_wait(pid, WAIT), 0);
	char buf[64];
	while (ipk_recv(l, buf, sizeof(buf), 0) >= 0)
		;
	ipk_close(l);

	static const unsigned prios[] = {1, 5, 3, 5, 0, 3};
	static const int order[] = {1, 3, 2, 5, 0, 4};
	cr_assert_eq(ipk_listen(url(3, "?depth=8&msgsize=64"), &l), 0);
	for (int i = 0; i < 6; i++) {
		char p = (char)('0' + i);
		struct ipk_msg m = {.buf = &p, .len = 1, .prio = prios[i]};
		cr_assert_eq(ipk_sendmsg(l, &m, 0), 0);
	}
	for (int i = 0; i < 6; i++) {
		struct ipk_msg m = {.buf = buf, .len = sizeof(buf)};
		cr_expect_eq(ipk_recvmsg(l, &m, 0), 1);
		cr_expect_eq(buf[0], '0' + order[i],
		             "highest first, then FIFO");
		cr_expect_eq(m.prio, prios[order[i]]);
	}
	ipk_close(l);
}

Test(mq, default_priority_and_fd)
{
	ipk_chan *l, *d;
	cr_assert_eq(ipk_listen(url(4, ""), &l), 0);
	cr_assert_eq(ipk_dial(url(4, "?prio=7"), &d), 0);
	ipk_chan *bad;
	cr_expect_eq(ipk_dial(url(4, "?prio=32768"), &bad), -EINVAL);
	struct pollfd p = {.fd = ipk_fd(l), .events = POLLIN};
	cr_assert_geq(p.fd, 0);
	cr_expect_eq(poll(&p, 1, 0), 0);
	cr_expect_eq(ipk_send(d, "x", 1, 0), 0);
	cr_expect_eq(poll(&p, 1, WAIT), 1, "the queue descriptor polls");
	char buf[8192];
	struct ipk_msg m = {.buf = buf, .len = sizeof(buf)};
	cr_expect_eq(ipk_recvmsg(l, &m, 0), 1);
	cr_expect_eq(m.prio, 7, "?prio= for plain ipk_send");
	ipk_close(d);
	ipk_close(l);
}

struct waiter {
	ipk_chan *c; /* the listener, inherited: no dial to race with */
	int timeout;
	bool send;
};

static int
wait_removed(void *arg)
{
	struct waiter *w = arg;
	char buf[64] = {0};
	if (w->send) {
		while (ipk_send(w->c, buf, 1, 0) == 0)
			; /* fill it: the next send must wait */
		return ipk_send(w->c, buf, 1, w->timeout) == -EIDRM ? 0 : 10;
	}
	return ipk_recv(w->c, buf, sizeof(buf), w->timeout) == -EIDRM ? 0 : 10;
}

/*
 * mq_unlink wakes nobody; ipckit notices and says EIDRM, never hangs,
 * whether the waiter sleeps already or comes to the call afterwards.
 */
Test(mq, removed_under_waiter)
{
	for (int i = 0; i < 4; i++) {
		struct waiter w = {.timeout = i % 2 ? 5000 : -1,
		                   .send = i >= 2};
		cr_assert_eq(ipk_listen(url(5, "?depth=2&msgsize=64"), &w.c),
		             0);
		pid_t pid = th_spawn(wait_removed, &w);
		usleep(200 * 1000);
		ipk_close(w.c);
		cr_expect_eq(th_wait(pid, WAIT), 0, "timeout %d, %s", w.timeout,
		             w.send ? "send" : "recv");
	}
}

/* PMQ-03: limits inside an IPC namespace of our own, as nobody. */
Test(mq, pmq03_limits_in_namespace)
{
	if (geteuid() != 0)
		cr_skip_test("unshare --ipc needs root");
	char out[256];
	int st = qh_run(
	        "unshare --ipc sh -c 'sysctl -qw fs.mqueue.queues_max=4 && "
	        "exec prlimit --msgqueue=1000 " QH_NOBODY " \"$@\"' sh",
	        out, sizeof(out),
	        "listen 'mq:/big?depth=2&msgsize=1000' 'mq:/deep?depth=11' "
	        "'mq:/wide?msgsize=8193' 'mq:/a?depth=1&msgsize=16' "
	        "'mq:/b?depth=1&msgsize=16' 'mq:/c?depth=1&msgsize=16' "
	        "'mq:/d?depth=1&msgsize=16' 'mq:/e?depth=1&msgsize=16'");
	cr_assert_eq(st, 0);
	cr_expect_str_eq(out, "-24 -22 -22 0 0 0 0 -28",
	                 "EMFILE (RLIMIT_MSGQUEUE), EINVAL (msg_max), EINVAL "
	                 "(msgsize_max), then ENOSPC (queues_max)");
}

/* PMQ-04: names are checked before the call. */
Test(mq, pmq04_names)
{
	char longname[300] = "mq:/";
	memset(longname + 4, 'n', 256);
	const struct {
		const char *url;
		int rc;
	} bad[] = {
	        {"mq:noslash", -EINVAL}, {"mq:/a/b", -EINVAL},
	        {"mq:/../x", -EINVAL},   {"mq:/", -EINVAL},
	        {"mq:/..", -EINVAL},     {longname, -ENAMETOOLONG},
	};
	ipk_chan *c;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(ipk_listen(bad[i].url, &c), bad[i].rc, "%.20s",
		             bad[i].url);
		cr_expect_eq(ipk_dial(bad[i].url, &c), bad[i].rc, "%.20s",
		             bad[i].url);
	}
	longname[4 + 255] = '\0'; /* 255 after the slash: NAME_MAX */
	int rc = ipk_listen(longname, &c);
	cr_expect_eq(rc, 0, "NAME_MAX fits: %s", ipk_strerror(rc));
	ipk_close(c);
}

/* PMQ-04: exclusive create, exact modes, squatters and intruders. */
Test(mq, pmq04_ownership)
{
	ipk_chan *l, *d;
	umask(0);
	cr_assert_eq(ipk_listen(url(6, ""), &l), 0);
	cr_expect_eq(ipk_listen(url(6, ""), &d), -EEXIST, "O_EXCL");
	struct stat st;
	cr_assert_eq(fstat(ipk_fd(l), &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0600, "umask 0 does not widen it");
	char out[64];
	qh_run(QH_NOBODY, out, sizeof(out), "dial 'mq:%s'", qh_name(6));
	cr_expect_str_eq(out, "-13", "nobody gets EACCES on ours");
	ipk_close(l);

	umask(077);
	cr_assert_eq(ipk_listen(url(7, "?mode=0640"), &l), 0);
	cr_assert_eq(fstat(ipk_fd(l), &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0640, "umask 077 does not narrow it");
	cr_expect_eq(ipk_dial(url(7, ""), &d), -EPERM, "wider than 0600");
	cr_assert_eq(ipk_dial(url(7, "?mode=0640"), &d), 0);
	ipk_close(d);
	ipk_close(l);

	qh_run(QH_NOBODY, out, sizeof(out), "mkmq %s 0666", qh_name(8));
	cr_assert_str_eq(out, "0", "nobody could not make the squat");
	cr_expect_eq(ipk_listen(url(8, ""), &l), -EEXIST);
	cr_expect_eq(ipk_dial(url(8, ""), &d), -EPERM, "fstat owner check");
	cr_assert_eq(ipk_dial(url(8, "?share"), &d), 0, "opt-in sharing");
	ipk_close(d);
}

/* A message: seed, length, then th_fill(seed) bytes. */
static int
sender(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	ipk_chan *d;
	if (ipk_dial(url(9, ""), &d) < 0)
		return 1;
	char buf[1024];
	for (;;) {
		unsigned len = 8 + (seed * 131) % 1000;
		memcpy(buf, &seed, 4);
		memcpy(buf + 4, &len, 4);
		th_fill(buf + 8, len - 8, seed);
		if (ipk_send(d, buf, len, -1) < 0)
			return 2;
		seed += 4;
	}
}

/* Exit 0 after the empty message if every message was whole. */
static int
checker(void *arg)
{
	(void)arg;
	ipk_chan *d;
	if (ipk_dial(url(9, ""), &d) < 0)
		return 1;
	char buf[8192];
	for (long got = 0;; got++) {
		ssize_t n = ipk_recv(d, buf, sizeof(buf), WAIT);
		if (n == 0)
			return got > 0 ? 0 : 3;
		unsigned seed, len;
		memcpy(&seed, buf, 4);
		memcpy(&len, buf + 4, 4);
		if (n < 8 || len != (size_t)n ||
		    !th_check(buf + 8, len - 8, seed))
			return 2;
	}
}

/* PMQ-05: four senders SIGKILLed at random, 200 times. */
Test(mq, pmq05_senders_killed_mid_send)
{
	ipk_chan *l;
	cr_assert_eq(ipk_listen(url(9, "?depth=10&msgsize=1024"), &l), 0);
	pid_t check = th_spawn(checker, NULL);
	pid_t s[4];
	unsigned seed = 1;
	for (int i = 0; i < 4; i++)
		s[i] = th_spawn(sender, (void *)(uintptr_t)seed++);
	srand((unsigned)getpid());
	for (int k = 0; k < 200; k++) {
		usleep((useconds_t)(rand() % 3000));
		int i = rand() % 4;
		kill(s[i], SIGKILL);
		waitpid(s[i], NULL, 0);
		s[i] = th_spawn(sender, (void *)(uintptr_t)(seed++ * 7919));
	}
	for (int i = 0; i < 4; i++) {
		kill(s[i], SIGKILL);
		waitpid(s[i], NULL, 0);
	}
	cr_expect_eq(ipk_send(l, "", 0, WAIT), 0, "the queue is still usable");
	cr_expect_eq(th_wait(check, WAIT * 3), 0, "a torn or lost message");
	ipk_close(l);
}
