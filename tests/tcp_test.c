/*
 * tcp_test.c - tcp:// against RELIABILITY.md TCP-01 to TCP-06: half-close,
 * reset peers without SIGPIPE, rebinding through TIME_WAIT, stalled
 * frames (slowloris), running out of descriptors in accept, and the
 * loopback default.  Listeners take port 0; dialers read the real port.
 */
#include "helpers.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define WAIT 10000

static int
port_of(ipk_chan *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	cr_assert_eq(getsockname(ipk_fd(l), (struct sockaddr *)&ss, &len), 0);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Listen on url (port 0) and write the dial URL for it into out. */
static ipk_chan *
listen_any(const char *host, const char *query, char *out, size_t size)
{
	char u[128];
	ipk_chan *l;
	snprintf(u, sizeof(u), "tcp://%s:0%s", host, query);
	cr_assert_eq(ipk_listen(u, &l), 0, "%s", u);
	snprintf(out, size, "tcp://%s:%d%s", host, port_of(l), query);
	return l;
}

static int
client_request_then_shutdown(void *arg)
{
	ipk_chan *ch;
	char buf[64];
	if (ipk_dial(arg, &ch) < 0)
		return 1;
	if (ipk_send(ch, "req1", 4, WAIT) || ipk_send(ch, "req2", 4, WAIT))
		return 2;
	if (ipk_shutdown(ch) < 0)
		return 3;
	if (ipk_send(ch, "late", 4, WAIT) != -EPIPE)
		return 4; /* no sends after a half-close */
	ssize_t n = ipk_recv(ch, buf, sizeof(buf), WAIT);
	if (n != 5 || memcmp(buf, "reply", 5) != 0)
		return 5;
	return ipk_recv(ch, buf, sizeof(buf), WAIT) == -EPIPE ? 0 : 6;
}

Test(tcp01, half_close_then_reply)
{
	char u[128];
	ipk_chan *l = listen_any("127.0.0.1", "", u, sizeof(u)), *c;
	pid_t pid = th_spawn(client_request_then_shutdown, u);
	cr_assert_eq(ipk_accept(l, &c, WAIT), 0);
	char buf[64];
	cr_expect_eq(ipk_recv(c, buf, sizeof(buf), WAIT), 4);
	cr_expect_eq(ipk_recv(c, buf, sizeof(buf), WAIT), 4);
	cr_expect_eq(ipk_recv(c, buf, sizeof(buf), WAIT), -EPIPE);
	cr_expect_eq(ipk_send(c, "reply", 5, WAIT), 0, "cannot answer");
	cr_expect_eq(ipk_shutdown(c), 0);
	cr_expect_eq(th_wait(pid, WAIT), 0, "client saw a bad close");
	ipk_close(c);
	ipk_close(l);
}

Test(tcp02, reset_peer_is_epipe_without_sigpipe)
{
	signal(SIGPIPE, SIG_DFL); /* a SIGPIPE would kill this test */
	char u[128];
	ipk_chan *l = listen_any("127.0.0.1", "", u, sizeof(u)), *c, *d;
	cr_assert_eq(ipk_dial(u, &d), 0);
	cr_assert_eq(ipk_accept(l, &c, WAIT), 0);
	cr_assert_eq(ipk_send(d, "unread", 6, WAIT), 0);
	usleep(50000);
	ipk_close(c); /* unread data: the kernel answers with RST */
	usleep(50000);
	char buf[16];
	cr_expect_eq(ipk_recv(d, buf, sizeof(buf), WAIT), -EPIPE);
	int rc = 0;
	for (int i = 0; i < 3 && rc == 0; i++)
		rc = ipk_send(d, "x", 1, WAIT);
	cr_expect_eq(rc, -EPIPE);
	ipk_close(d);
	ipk_close(l);
}

static int
sockopt(ipk_chan *ch, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);
	getsockopt(ipk_fd(ch), SOL_SOCKET, name, &v, &len);
	return v;
}

Test(tcp03, rebind_through_time_wait_and_no_duplicate)
{
	char u[128];
	ipk_chan *l = listen_any("127.0.0.1", "", u, sizeof(u)), *c, *d, *l2;
	cr_expect_eq(sockopt(l, SO_REUSEADDR), 1);
	cr_expect_eq(sockopt(l, SO_REUSEPORT), 0);
	cr_expect_eq(ipk_listen(u, &l2), -EADDRINUSE, "second listener");
	cr_assert_eq(ipk_dial(u, &d), 0);
	cr_assert_eq(ipk_accept(l, &c, WAIT), 0);
	ipk_close(c); /* the server closes first: its side goes TIME_WAIT */
	char buf[4];
	cr_expect_eq(ipk_recv(d, buf, sizeof(buf), WAIT), -EPIPE);
	ipk_close(d);
	ipk_close(l);
	cr_expect_eq(th_sh("ss -tan | grep -q TIME-WAIT"), 0, "no TIME_WAIT");
	cr_expect_eq(ipk_listen(u, &l), 0, "restart failed on TIME_WAIT");
	ipk_close(l);
}

static int
client_legit(void *arg)
{
	ipk_chan *ch;
	char buf[16];
	if (ipk_dial(arg, &ch) < 0)
		return 1;
	if (ipk_send(ch, "legit", 5, WAIT) < 0)
		return 2;
	return ipk_recv(ch, buf, sizeof(buf), 1000) == 2 ? 0 : 3;
}

static int
raw_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_port = htons((uint16_t)port),
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

#define STALLERS 50

/* A poll loop over the listener and its connections, as a server is. */
struct server {
	ipk_chan *l;
	ipk_chan *conn[STALLERS + 8];
	int n, dropped;
	long long served_at;
};

static void
server_step(struct server *s)
{
	ipk_chan *c;
	while (s->n < STALLERS + 8 && ipk_accept(s->l, &c, 0) == 0)
		s->conn[s->n++] = c;
	for (int i = 0; i < s->n; i++) {
		char buf[16];
		if (!s->conn[i])
			continue;
		ssize_t r = ipk_recv(s->conn[i], buf, sizeof(buf), 0);
		if (r == 5 && memcmp(buf, "legit", 5) == 0) {
			s->served_at = th_now_ms();
			ipk_send(s->conn[i], "ok", 2, WAIT);
		} else if (r < 0 && r != -EAGAIN) {
			ipk_close(s->conn[i]);
			s->conn[i] = NULL;
			s->dropped++;
		}
	}
}

Test(tcp04, stalled_frames_are_dropped_others_served)
{
	char u[128];
	struct server s = {0};
	s.l = listen_any("127.0.0.1", "?frame=500", u, sizeof(u));
	int port = port_of(s.l), raw[STALLERS];
	for (int i = 0; i < STALLERS; i++) {
		raw[i] = raw_connect(port);
		int k = 1 + i % 3; /* 1 to 3 bytes of a 4-byte header */
		cr_assert_eq(write(raw[i], "\0\0\0", (size_t)k), k);
	}
	long long t0 = th_now_ms();
	pid_t pid = th_spawn(client_legit, u);
	while (th_now_ms() - t0 < 2000) {
		server_step(&s);
		usleep(20000);
	}
	cr_expect(s.served_at && s.served_at - t0 < 1000,
	          "the legit client waited %lld ms", s.served_at - t0);
	cr_expect_eq(th_wait(pid, WAIT), 0);
	cr_expect_eq(s.dropped, STALLERS + 1, "dropped %d", s.dropped);
	for (int i = 0; i < STALLERS; i++) {
		char b;
		cr_expect_eq(read(raw[i], &b, 1), 0, "staller %d not closed",
		             i);
		close(raw[i]);
	}
	for (int i = 0; i < s.n; i++)
		ipk_close(s.conn[i]);
	ipk_close(s.l);
}

Test(tcp04, connections_beyond_maxconn_are_closed_at_once)
{
	char u[128];
	ipk_chan *l = listen_any("127.0.0.1", "?maxconn=4", u, sizeof(u));
	int port = port_of(l), raw[6];
	ipk_chan *held[4], *c;
	for (int i = 0; i < 4; i++) {
		raw[i] = raw_connect(port);
		cr_assert_eq(ipk_accept(l, &held[i], WAIT), 0);
	}
	raw[4] = raw_connect(port);
	cr_expect_eq(ipk_accept(l, &c, 300), -ETIMEDOUT, "a 5th was kept");
	struct pollfd pf = {.fd = raw[4], .events = POLLIN};
	char b;
	cr_expect(poll(&pf, 1, 1000) == 1 && read(raw[4], &b, 1) == 0,
	          "the 5th connection was not closed");
	ipk_close(held[0]);
	raw[5] = raw_connect(port);
	cr_expect_eq(ipk_accept(l, &held[0], WAIT), 0, "no room after a close");
	ipk_close(l); /* accepted channels outlive their listener */
	for (int i = 0; i < 4; i++)
		ipk_close(held[i]);
	for (int i = 0; i < 6; i++)
		close(raw[i]);
}

/* Without ?frame=, a stalled header is dropped after the default 10 s. */
Test(tcp04, default_frame_limit_is_10s)
{
	char u[128];
	ipk_chan *l = listen_any("127.0.0.1", "", u, sizeof(u)), *c;
	int fd = raw_connect(port_of(l));
	cr_assert_eq(write(fd, "\0\0\0", 3), 3);
	cr_assert_eq(ipk_accept(l, &c, WAIT), 0);
	char buf[16];
	long long t0 = th_now_ms();
	ssize_t r = ipk_recv(c, buf, sizeof(buf), 30000);
	long long dt = th_now_ms() - t0;
	cr_expect_eq(r, -ECONNRESET, "%zd (%s) after %lld ms", r,
	             ipk_strerror((int)r), dt);
	cr_expect(dt >= 9000 && dt < 15000 * th_mult(), "dropped after %lld ms",
	          dt);
	close(fd);
	ipk_close(c);
	ipk_close(l);
}

static double
cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* A listener with 64 descriptors: sheds, stays cool, then recovers. */
static int
child_emfile_server(void *arg)
{
	int *pipefd = arg;
	struct rlimit rl = {64, 64};
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1;
	ipk_chan *l, *held[64];
	int n = 0, emfile = 0;
	if (ipk_listen("tcp://127.0.0.1:0", &l) < 0)
		return 2;
	int port = port_of(l);
	if (write(pipefd[1], &port, sizeof(port)) != sizeof(port))
		return 3;
	double cpu0 = cpu_seconds();
	long long t0 = th_now_ms();
	while (th_now_ms() - t0 < 2000) {
		ipk_chan *c;
		int rc = ipk_accept(l, &c, 100);
		if (rc == 0 && n < 64)
			held[n++] = c;
		emfile += rc == -EMFILE;
	}
	double cpu = cpu_seconds() - cpu0;
	while (n)
		ipk_close(held[--n]);
	if (!emfile)
		return 4;
	if (cpu > 0.2)
		return 5;
	for (int tries = 0; tries < 400; tries++) { /* the late client */
		ipk_chan *c;
		char buf[8];
		if (ipk_accept(l, &c, WAIT) < 0)
			return 6;
		ssize_t r = ipk_recv(c, buf, sizeof(buf), 50);
		ipk_close(c);
		if (r == 4)
			return 0;
	}
	return 7;
}

Test(tcp05, emfile_in_accept_sheds_without_spinning)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = th_spawn(child_emfile_server, p);
	int port;
	cr_assert_eq(read(p[0], &port, sizeof(port)), sizeof(port));
	int raw[200];
	for (int i = 0; i < 200; i++)
		raw[i] = raw_connect(port);
	usleep(2500000);
	char u[64];
	snprintf(u, sizeof(u), "tcp://127.0.0.1:%d", port);
	ipk_chan *late;
	int rc = ipk_dial(u, &late);
	cr_expect_eq(rc, 0, "%s", ipk_strerror(rc));
	cr_expect_eq(ipk_send(late, "late", 4, WAIT), 0);
	int st = th_wait(pid, 20000);
	cr_expect_eq(st, 0, "server %d: 4 no EMFILE, 5 spun, 6/7 no recovery",
	             st);
	ipk_close(late);
	for (int i = 0; i < 200; i++)
		close(raw[i]);
}

Test(tcp06, default_address_is_loopback_and_v6_works)
{
	ipk_chan *l;
	cr_assert_eq(ipk_listen("tcp://:0", &l), 0);
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	cr_assert_eq(getsockname(ipk_fd(l), (struct sockaddr *)&sin, &len), 0);
	cr_expect_eq(sin.sin_family, AF_INET);
	cr_expect_eq(ntohl(sin.sin_addr.s_addr), INADDR_LOOPBACK);
	ipk_close(l);
	char u[128];
	l = listen_any("[::1]", "", u, sizeof(u));
	ipk_chan *d, *c;
	cr_assert_eq(ipk_dial(u, &d), 0, "%s", u);
	cr_assert_eq(ipk_accept(l, &c, WAIT), 0);
	struct ipk_peer p;
	char buf[4];
	struct ipk_msg m = {.buf = buf, .len = sizeof(buf), .peer = &p};
	cr_expect_eq(ipk_send(d, "v6", 2, WAIT), 0);
	cr_expect_eq(ipk_recvmsg(c, &m, WAIT), 2);
	cr_expect_eq(p.addr.ss_family, AF_INET6);
	ipk_close(c);
	ipk_close(d);
	ipk_close(l);
	cr_expect_eq(ipk_listen("tcp://localhost:0", &l), 0, "names resolve");
	ipk_close(l);
}

/* Port 0: ipk_name tells the port the kernel chose, and it can be dialled. */
Test(tcp06, port_zero_is_named)
{
	ipk_chan *l, *d, *c;
	char name[128];
	cr_assert_eq(ipk_listen("tcp://127.0.0.1:0", &l), 0);
	cr_assert_eq(ipk_name(l, name, sizeof(name)), 0);
	cr_expect_eq(strncmp(name, "tcp://127.0.0.1:", 16), 0, "%s", name);
	cr_expect_neq(strcmp(name, "tcp://127.0.0.1:0"), 0, "%s", name);
	cr_assert_eq(ipk_dial(name, &d), 0, "%s", name);
	cr_assert_eq(ipk_accept(l, &c, WAIT), 0);
	ipk_close(c);
	ipk_close(d);
	ipk_close(l);
	cr_assert_eq(ipk_listen("tcp://[::1]:0", &l), 0);
	cr_assert_eq(ipk_name(l, name, sizeof(name)), 0);
	cr_expect_eq(strncmp(name, "tcp://[::1]:", 12), 0, "%s", name);
	ipk_close(l);
}

Test(tcp, dial_timeout_and_refusal)
{
	ipk_chan *d;
	char u[128];
	ipk_chan *l = listen_any("127.0.0.1", "", u, sizeof(u));
	ipk_close(l); /* nothing listens there now */
	char q[160];
	snprintf(q, sizeof(q), "%s?timeout=300", u);
	long long t0 = th_now_ms();
	int rc = ipk_dial(q, &d);
	long long dt = th_now_ms() - t0;
	cr_expect_eq(rc, -ECONNREFUSED, "%s", ipk_strerror(rc));
	cr_expect(dt >= 250 && dt < 3000, "waited %lld ms", dt);
	cr_expect_eq(ipk_dial("tcp://127.0.0.1", &d), -EINVAL);
	cr_expect_eq(ipk_dial("tcp://no.such.host.invalid:1?timeout=0", &d),
	             -ENXIO);
}

/*
 * X-08 for connect: a listener whose accept queue is full drops SYNs, so
 * a dial there hears nothing; it must end with -ETIMEDOUT near its timeout.
 */
Test(tcp, dial_to_a_silent_listener_times_out)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	cr_assert_eq(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(s, 0), 0);
	cr_assert_eq(getsockname(s, (struct sockaddr *)&sin, &len), 0);
	int fill[4];
	for (int i = 0; i < 4; i++) { /* fill the queue; never accepted */
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fill[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	usleep(100000);
	char u[128];
	snprintf(u, sizeof(u), "tcp://127.0.0.1:%d?timeout=400",
	         ntohs(sin.sin_port));
	ipk_chan *d = NULL;
	long long t0 = th_now_ms();
	int rc = ipk_dial(u, &d);
	long long dt = th_now_ms() - t0;
	cr_expect_eq(rc, -ETIMEDOUT, "%s", ipk_strerror(rc));
	cr_expect(dt >= 350 && dt < 5000, "waited %lld ms", dt);
	ipk_close(d);
	for (int i = 0; i < 4; i++)
		close(fill[i]);
	close(s);
}
