/*
 * cancel_test.c - ipk_set_cancel: a receive blocked forever on each
 * transport (pipe, fifo, unix, tcp, udp, unixgram, mq, sysvmsg) ends with
 * -ECANCELED soon after another process or thread writes a byte to the
 * cancel pipe; so do a dial waiting for a listener (the process default),
 * an accept, and a send into a full pipe.  The channel stays usable once
 * the cancel pipe is drained.
 */
#include <criterion/criterion.h>

#include "helpers.h"
#include "queue_helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define WAIT 10000
#define LATE_MS 200   /* the canceller writes its byte after this */
#define BOUND_MS 1000 /* ~100 ms promised; generous on a loaded box */

static void
cancel_fini(void)
{
	ipk_set_cancel(NULL, -1);
	th_cleanup();
	qh_cleanup();
}

TestSuite(cancel, .init = qh_setup, .fini = cancel_fini, .timeout = 20);

/* Up to three channels a case opens: rx receives, tx sends to it. */
struct ends {
	ipk_chan *rx, *tx, *extra;
};

static void
ends_close(struct ends *e)
{
	ipk_close(e->tx);
	ipk_close(e->rx);
	ipk_close(e->extra);
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

static const char *
fresh(const char *tag)
{
	const char *p = th_path(tag);
	th_defer_remove(p);
	return p;
}

static void
open_pipe(struct ends *e)
{
	cr_assert_eq(ipk_pair("pipe:", &e->rx, &e->tx), 0);
}

static void
open_fifo(struct ends *e)
{
	const char *u = qh_fmt("fifo:%s", fresh("cfifo"));
	e->rx = listen_ok(u);
	e->tx = dial_ok(u);
}

/* A listener at url; rx is the accepted end of a dial to its name. */
static void
open_conn(struct ends *e, const char *url)
{
	char name[256];
	e->extra = listen_ok(url);
	cr_assert_eq(ipk_name(e->extra, name, sizeof(name)), 0);
	e->tx = dial_ok(name);
	cr_assert_eq(ipk_accept(e->extra, &e->rx, WAIT), 0);
}

static void
open_unix(struct ends *e)
{
	open_conn(e, qh_fmt("unix:%s", fresh("cunix")));
}

static void
open_tcp(struct ends *e)
{
	open_conn(e, "tcp://127.0.0.1:0");
}

/* A datagram or queue listener receives; tx dials its name. */
static void
open_dgram(struct ends *e, const char *url, const char *dial)
{
	char name[256];
	e->rx = listen_ok(url);
	if (!dial) {
		cr_assert_eq(ipk_name(e->rx, name, sizeof(name)), 0);
		dial = name;
	}
	e->tx = dial_ok(dial);
}

static void
open_udp(struct ends *e)
{
	open_dgram(e, "udp://127.0.0.1:0", NULL);
}

static void
open_unixgram(struct ends *e)
{
	open_dgram(e, qh_fmt("unixgram:%s", fresh("cgram")), NULL);
}

static void
open_mq(struct ends *e)
{
	open_dgram(e, qh_fmt("mq:%s?depth=4&msgsize=64", qh_name(0)),
	           qh_fmt("mq:%s", qh_name(0)));
}

/* Shared memory: the listener receives, in each way of waiting. */
static void
open_shm(struct ends *e)
{
	const char *u = qh_fmt("shm:/ipk-test-cancel-%d", (int)getpid());
	e->rx = listen_ok(u);
	e->tx = dial_ok(u);
}

static void
open_sysvshm(struct ends *e)
{
	const char *u = qh_fmt("sysvshm:%d?wait=sleep", (int)qh_key(1));
	e->rx = listen_ok(u);
	e->tx = dial_ok(u);
}

static void
open_sysvmsg(struct ends *e)
{
	open_dgram(e, qh_fmt("sysvmsg:%d?send=2&recv=1", (int)qh_key(0)),
	           qh_fmt("sysvmsg:%d?send=1&recv=2", (int)qh_key(0)));
}

/* The canceller: a process that writes a byte at *at (monotonic ms). */
struct canceller {
	int fd[2];
	long long *at;
};

static int
cancel_later(void *arg)
{
	struct canceller *k = arg;
	usleep(LATE_MS * 1000);
	*k->at = th_now_ms();
	return th_put(k->fd[1], '!') == 0 ? 0 : 1;
}

static pid_t
canceller_start(struct canceller *k)
{
	*k->at = 0;
	pid_t pid = th_spawn(cancel_later, k);
	cr_assert_gt(pid, 0);
	th_defer_kill(pid);
	return pid;
}

static void
canceller_make(struct canceller *k)
{
	cr_assert_eq(pipe2(k->fd, O_CLOEXEC), 0);
	k->at = th_shared(sizeof(*k->at));
	cr_assert_not_null(k->at);
}

static void
canceller_close(struct canceller *k)
{
	close(k->fd[0]);
	close(k->fd[1]);
}

/*
 * A call that ignores the cancel descriptor would block until the suite's
 * timeout kills the test, and .fini would not run: the queues would stay.
 * The watchdog removes them after 5 s instead (the wait ends -EIDRM).
 */
static int
watchdog_main(void *arg)
{
	(void)arg;
	usleep(5000u * 1000u); /* not th_mult(): the suite's timeout is 20 s */
	qh_cleanup();
	return 0;
}

static pid_t
watchdog(void)
{
	pid_t pid = th_spawn(watchdog_main, NULL);
	cr_assert_gt(pid, 0);
	th_defer_kill(pid);
	return pid;
}

static void
watchdog_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	th_wait(pid, WAIT);
}

/* rc of a call that blocked from t0 must be -ECANCELED, soon after *at. */
static void
expect_cancelled(const char *what, long rc, const struct canceller *k,
                 long long t0)
{
	long long now = th_now_ms();
	cr_assert_eq(rc, -ECANCELED, "%s: %ld (%s) after %lld ms", what, rc,
	             ipk_strerror((int)rc), now - t0);
	cr_assert_neq(*k->at, 0, "%s ended before the byte was written", what);
	cr_assert_lt(now - *k->at, BOUND_MS * th_mult(),
	             "%s: -ECANCELED %lld ms after the byte", what,
	             now - *k->at);
}

static void
recv_case(const char *what, void (*open)(struct ends *))
{
	int base = th_fd_count();
	struct ends e = {0};
	struct canceller k;
	open(&e);
	canceller_make(&k);
	cr_assert_eq(ipk_set_cancel(e.rx, k.fd[0]), 0);
	pid_t dog = watchdog();
	pid_t pid = canceller_start(&k);
	char buf[64];
	long long t0 = th_now_ms();
	ssize_t r = ipk_recv(e.rx, buf, sizeof(buf), -1);
	watchdog_stop(dog);
	expect_cancelled(what, r, &k, t0);
	cr_assert_eq(th_wait(pid, WAIT), 0);
	/* Still readable: every wait ends at once. */
	t0 = th_now_ms();
	r = ipk_recv(e.rx, buf, sizeof(buf), 5000);
	cr_assert_eq(r, -ECANCELED, "%s, not drained: %zd", what, r);
	cr_assert_lt(th_now_ms() - t0, 500, "%s: not at once", what);
	/* Drained: the channel works as before. */
	cr_assert_eq(th_get(k.fd[0], 0), '!');
	r = ipk_recv(e.rx, buf, sizeof(buf), 100);
	cr_assert_eq(r, -ETIMEDOUT, "%s, drained: %zd (%s)", what, r,
	             ipk_strerror((int)r));
	cr_assert_eq(ipk_send(e.tx, "again", 5, WAIT), 0, "%s", what);
	r = ipk_recv(e.rx, buf, sizeof(buf), WAIT);
	cr_assert_eq(r, 5, "%s after the cancel: %zd (%s)", what, r,
	             ipk_strerror((int)r));
	cr_assert_eq(memcmp(buf, "again", 5), 0);
	cr_assert_eq(ipk_set_cancel(e.rx, -1), 0);
	ends_close(&e);
	canceller_close(&k);
	cr_assert_eq(th_fd_count(), base, "%s: descriptors leaked", what);
}

Test(cancel, recv_pipe)
{
	recv_case("pipe", open_pipe);
}

Test(cancel, recv_fifo)
{
	recv_case("fifo", open_fifo);
}

Test(cancel, recv_unix)
{
	recv_case("unix", open_unix);
}

Test(cancel, recv_tcp)
{
	recv_case("tcp", open_tcp);
}

Test(cancel, recv_udp)
{
	recv_case("udp", open_udp);
}

Test(cancel, recv_unixgram)
{
	recv_case("unixgram", open_unixgram);
}

Test(cancel, recv_mq)
{
	recv_case("mq", open_mq);
}

Test(cancel, recv_sysvmsg)
{
	recv_case("sysvmsg", open_sysvmsg);
}

Test(cancel, recv_shm)
{
	recv_case("shm", open_shm);
}

Test(cancel, recv_sysvshm)
{
	recv_case("sysvshm", open_sysvshm);
}

/* The byte comes from a thread of this process. */
static void *
cancel_thread(void *arg)
{
	cancel_later(arg);
	return NULL;
}

Test(cancel, recv_unix_by_a_thread)
{
	struct ends e = {0};
	struct canceller k;
	open_unix(&e);
	canceller_make(&k);
	cr_assert_eq(ipk_set_cancel(e.rx, k.fd[0]), 0);
	*k.at = 0;
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, cancel_thread, &k), 0);
	char buf[8];
	long long t0 = th_now_ms();
	ssize_t r = ipk_recv(e.rx, buf, sizeof(buf), -1);
	pthread_join(t, NULL);
	expect_cancelled("unix (thread)", r, &k, t0);
	ends_close(&e);
	canceller_close(&k);
}

Test(cancel, invalid_descriptor)
{
	ipk_chan *rd, *wr;
	cr_assert_eq(ipk_pair("pipe:", &rd, &wr), 0);
	cr_assert_eq(ipk_set_cancel(rd, -2), -EINVAL);
	cr_assert_eq(ipk_set_cancel(NULL, -5), -EINVAL);
	cr_assert_eq(ipk_set_cancel(rd, -1), 0);
	ipk_close(rd);
	ipk_close(wr);
}

/* The process default reaches the wait inside ipk_dial. */
Test(cancel, dial_waiting_for_a_listener)
{
	struct canceller k;
	canceller_make(&k);
	cr_assert_eq(ipk_set_cancel(NULL, k.fd[0]), 0);
	pid_t pid = canceller_start(&k);
	char u[300];
	snprintf(u, sizeof(u), "unix:%s?timeout=-1", fresh("nonexistent"));
	ipk_chan *c = NULL;
	long long t0 = th_now_ms();
	int rc = ipk_dial(u, &c);
	expect_cancelled("dial", rc, &k, t0);
	cr_assert_null(c);
	cr_assert_eq(th_wait(pid, WAIT), 0);
	/* Channels made now take the default: their waits end at once. */
	ipk_chan *rd, *wr;
	cr_assert_eq(ipk_pair("pipe:", &rd, &wr), 0);
	char buf[4];
	cr_assert_eq(ipk_recv(rd, buf, sizeof(buf), 5000), -ECANCELED);
	cr_assert_eq(ipk_set_cancel(NULL, -1), 0);
	cr_assert_eq(th_get(k.fd[0], 0), '!');
	cr_assert_eq(ipk_send(wr, "ok", 2, 1000), 0);
	cr_assert_eq(ipk_recv(rd, buf, sizeof(buf), 1000), 2);
	ipk_close(rd);
	ipk_close(wr);
	canceller_close(&k);
}

/* The listener's cancel descriptor ends a blocked accept too. */
Test(cancel, accept_unix)
{
	struct canceller k;
	canceller_make(&k);
	ipk_chan *l = listen_ok(qh_fmt("unix:%s", fresh("cacc")));
	cr_assert_eq(ipk_set_cancel(l, k.fd[0]), 0);
	pid_t pid = canceller_start(&k);
	ipk_chan *c = NULL;
	long long t0 = th_now_ms();
	int rc = ipk_accept(l, &c, -1);
	expect_cancelled("accept", rc, &k, t0);
	cr_assert_eq(th_wait(pid, WAIT), 0);
	ipk_close(l);
	canceller_close(&k);
}

/* A send blocked on a full pipe: -ECANCELED, nothing torn, usable after. */
Test(cancel, send_on_a_full_pipe)
{
	int base = th_fd_count();
	struct canceller k;
	canceller_make(&k);
	ipk_chan *rd, *wr;
	cr_assert_eq(ipk_pair("pipe:", &rd, &wr), 0);
	cr_assert_geq(fcntl(ipk_fd(wr), F_SETPIPE_SZ, 4096), 4096);
	char buf[1020];
	int n = 0, rc;
	memset(buf, 'f', sizeof(buf));
	while ((rc = ipk_send(wr, buf, sizeof(buf), 0)) == 0)
		n++;
	cr_assert_eq(rc, -EAGAIN, "filling: %s", ipk_strerror(rc));
	cr_assert_eq(ipk_set_cancel(wr, k.fd[0]), 0);
	pid_t pid = canceller_start(&k);
	long long t0 = th_now_ms();
	rc = ipk_send(wr, buf, sizeof(buf), -1);
	expect_cancelled("send", rc, &k, t0);
	cr_assert_eq(th_wait(pid, WAIT), 0);
	cr_assert_eq(th_get(k.fd[0], 0), '!');
	for (int i = 0; i < n; i++)
		cr_assert_eq(ipk_recv(rd, buf, sizeof(buf), 1000), 1020,
		             "message %d of %d", i, n);
	cr_assert_eq(ipk_recv(rd, buf, sizeof(buf), 0), -EAGAIN,
	             "the cancelled send left something");
	cr_assert_eq(ipk_send(wr, "ok", 2, 1000), 0);
	cr_assert_eq(ipk_recv(rd, buf, sizeof(buf), 1000), 2);
	ipk_close(rd);
	ipk_close(wr);
	canceller_close(&k);
	cr_assert_eq(th_fd_count(), base, "descriptors leaked");
}

/* A send blocked on a full queue: -ECANCELED, and usable after. */
static void
send_full_case(const char *what, void (*open)(struct ends *), size_t len)
{
	struct ends e = {0};
	struct canceller k;
	open(&e);
	canceller_make(&k);
	char buf[8192];
	memset(buf, 'q', sizeof(buf));
	int n = 0, rc;
	while ((rc = ipk_send(e.tx, buf, len, 0)) == 0 && n < 100000)
		n++;
	cr_assert_eq(rc, -EAGAIN, "%s filling: %s", what, ipk_strerror(rc));
	cr_assert_eq(ipk_set_cancel(e.tx, k.fd[0]), 0);
	pid_t dog = watchdog();
	pid_t pid = canceller_start(&k);
	long long t0 = th_now_ms();
	rc = ipk_send(e.tx, buf, len, -1);
	watchdog_stop(dog);
	expect_cancelled(what, rc, &k, t0);
	cr_assert_eq(th_wait(pid, WAIT), 0);
	cr_assert_eq(th_get(k.fd[0], 0), '!');
	for (int i = 0; i < n; i++)
		cr_assert_eq(ipk_recv(e.rx, buf, sizeof(buf), 1000),
		             (ssize_t)len, "%s: message %d of %d", what, i, n);
	cr_assert_eq(ipk_recv(e.rx, buf, sizeof(buf), 0), -EAGAIN,
	             "%s: the cancelled send left something", what);
	cr_assert_eq(ipk_send(e.tx, "ok", 2, 1000), 0);
	cr_assert_eq(ipk_recv(e.rx, buf, sizeof(buf), 1000), 2);
	ends_close(&e);
	canceller_close(&k);
}

Test(cancel, send_on_a_full_mq)
{
	send_full_case("mq", open_mq, 64);
}

Test(cancel, send_on_a_full_sysvmsg_queue)
{
	send_full_case("sysvmsg", open_sysvmsg, 8000);
}

/* ipk_accept gives the connection its listener's cancel descriptor. */
Test(cancel, accepted_connection_takes_the_listeners)
{
	struct canceller k;
	canceller_make(&k);
	char name[256];
	ipk_chan *l = listen_ok("tcp://127.0.0.1:0"), *c = NULL;
	cr_assert_eq(ipk_name(l, name, sizeof(name)), 0);
	cr_assert_eq(ipk_set_cancel(l, k.fd[0]), 0);
	ipk_chan *d = dial_ok(name);
	cr_assert_eq(ipk_accept(l, &c, WAIT), 0);
	pid_t pid = canceller_start(&k);
	char buf[8];
	long long t0 = th_now_ms();
	ssize_t r = ipk_recv(c, buf, sizeof(buf), -1);
	expect_cancelled("accepted recv", r, &k, t0);
	cr_assert_eq(th_wait(pid, WAIT), 0);
	/* The dialer was made before any default: not cancelled. */
	cr_assert_eq(ipk_recv(d, buf, sizeof(buf), 100), -ETIMEDOUT);
	ipk_close(c);
	ipk_close(d);
	ipk_close(l);
	canceller_close(&k);
}
