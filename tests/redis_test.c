/*
 * redis_test.c - "redis://host:port/stream" against a real redis-server
 * that each test starts on a free loopback port with its own directory
 * (and stops, even when an assertion fails): the message rules of the
 * contract suite, URL refusals, a consumer group sharing work, a consumer
 * killed while holding a message, a server killed and restarted on its
 * AOF, passwords kept out of names, bad servers, and redis-cli interop.
 */
#include "helpers.h"
#include "redis_server.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT 10000

/* appendfsync everysec may postpone the AOF write past the reply while
 * an earlier fsync runs (seen here: an acknowledged XADD lost to a
 * SIGKILL of the server); always writes and syncs before replying. */
#define RS_DURABLE "--appendonly yes --appendfsync always"

static void
rs_fini(void)
{
	th_cleanup();
}

TestSuite(redis, .fini = rs_fini, .timeout = 120);

/* A port whose cluster bus port (+10000) is free too. */
static int
rs_cluster_port(void)
{
	for (;;) {
		int p = rs_free_port();
		if (p < 55000 && th_sh("! ss -Htln 'sport = :%d' | grep -q .",
		                       p + 10000) == 0)
			return p;
	}
}

static ipk_chan *
rs_open(const char *url, bool listen)
{
	ipk_chan *ch;
	int rc = listen ? ipk_listen(url, &ch) : ipk_dial(url, &ch);
	cr_assert_eq(rc, 0, "%s %s: %s", listen ? "listen" : "dial", url,
	             ipk_strerror(rc));
	return ch;
}

#define rs_listen(url) rs_open(url, true)
#define rs_dial(url) rs_open(url, false)

/* The refusals that need no server. */
Test(redis, url_rules)
{
	char why[256];
	static const char *const bad[] = {
	        "redis://127.0.0.1:6379/0",  "redis://127.0.0.1:6379/",
	        "redis://127.0.0.1:6379",    "redis://127.0.0.1:99999/s",
	        "redis://:6379/s",           "redis://h:6379/s?db=x",
	        "redis://h:6379/s?claim=-1", "redis://h:6379/s?maxlen=0",
	        "redis://h:6379/s?group=",   "redis://h:6379/s?nosuch=1",
	        "redis://u:p%zz@h:6379/s",   "redis://[::1/s",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(ipk_url_check(bad[i], why, sizeof(why)), -EINVAL,
		             "%s", bad[i]);
		cr_expect(why[0], "%s: no reason given", bad[i]);
	}
	ipk_url_check("redis://127.0.0.1:6379/42", why, sizeof(why));
	cr_expect(strstr(why, "?db="), "all-digit path: %s", why);
	cr_expect_eq(
	        ipk_url_check("redis://u:s3cret@h:1/s?bad=1", why, sizeof(why)),
	        -EINVAL);
	cr_expect_null(strstr(why, "s3cret"), "why names the password: %s",
	               why);
	cr_expect_eq(ipk_url_check("redis://u:p%40ss@[::1]:6380/a/b?db=2&"
	                           "group=g&consumer=c&claim=0&maxlen=10&"
	                           "reconnect&timeout=100",
	                           why, sizeof(why)),
	             0, "%s", why);
	ipk_chan *ch;
	cr_expect_eq(ipk_listen("rediss://127.0.0.1:6379/s", &ch),
	             -EPROTONOSUPPORT, "TLS is refused");
}

static int
send_sizes(void *arg)
{
	const char *url = arg;
	ipk_chan *ch;
	if (ipk_dial(url, &ch) < 0)
		return 1;
	static const size_t sizes[] = {0, 1, 100, 65536, 1048576};
	char *buf = malloc(1048577);
	for (size_t i = 0; buf && i < 5; i++) {
		th_fill(buf, sizes[i], (unsigned)i);
		if (ipk_send(ch, buf, sizes[i], WAIT) != 0)
			return 2;
	}
	if (!buf || ipk_send(ch, buf, 1048577, WAIT) != -EMSGSIZE)
		return 3;
	th_fill(buf, 100, 9);
	if (ipk_send(ch, buf, 100, WAIT) || ipk_send(ch, "second", 6, WAIT))
		return 4;
	free(buf);
	ipk_close(ch);
	return 0;
}

/* The contract suite's rules: whole messages 0 B to the maximum in order,
 * the maximum + 1 refused, a small buffer keeps the message, timeouts. */
Test(redis, message_rules)
{
	struct rs s;
	rs_start(&s, NULL);
	const char *url = rs_url(&s, "rules", "?max=1048576");
	ipk_chan *rx = rs_listen(url);
	pid_t peer = th_spawn(send_sizes, (void *)url);
	th_defer_kill(peer);
	static const size_t sizes[] = {0, 1, 100, 65536, 1048576};
	char *buf = malloc(1048576 + 16);
	for (size_t i = 0; i < 5; i++) {
		ssize_t n = ipk_recv(rx, buf, 1048576 + 16, WAIT);
		cr_expect_eq(n, (ssize_t)sizes[i], "size %zu gave %zd (%s)",
		             sizes[i], n, ipk_strerror((int)n));
		cr_expect(n < 0 || th_check(buf, sizes[i], (unsigned)i));
	}
	struct ipk_msg m = {.buf = buf, .len = 10};
	cr_expect_eq(ipk_recvmsg(rx, &m, WAIT), -EMSGSIZE);
	cr_expect_eq(m.len, 100, "the size a buffer needs");
	cr_expect_eq(ipk_recv(rx, buf, 200, WAIT), 100, "held, then given");
	cr_expect(th_check(buf, 100, 9));
	cr_expect_eq(ipk_recv(rx, buf, 200, WAIT), 6);
	cr_expect_eq(th_wait(peer, WAIT * th_mult()), 0, "sender failed");
	long long t0 = th_now_ms();
	cr_expect_eq(ipk_recv(rx, buf, 200, 200), -ETIMEDOUT);
	long long dt = th_now_ms() - t0;
	cr_expect(dt >= 195 && dt < 5000, "waited %lld ms", dt);
	cr_expect_eq(ipk_recv(rx, buf, 200, 0), -EAGAIN);
	free(buf);
	ipk_close(rx);
	cr_expect_eq(th_sh("test \"$(redis-cli -p %d XPENDING rules ipckit |"
	                   " head -1)\" = 0",
	                   s.port),
	             0, "close acknowledged the last message");
}

Test(redis, dial_waits_for_a_group)
{
	struct rs s;
	rs_start(&s, NULL);
	ipk_chan *ch;
	long long t0 = th_now_ms();
	cr_expect_eq(ipk_dial(rs_url(&s, "none", "?timeout=300"), &ch),
	             -ENOENT);
	cr_expect_geq(th_now_ms() - t0, 295);
	ipk_chan *l = rs_listen(rs_url(&s, "late", "?group=g"));
	ipk_chan *d = rs_dial(rs_url(&s, "late", "?timeout=300"));
	cr_expect_eq(ipk_dial(rs_url(&s, "late", "?group=h&timeout=100"), &ch),
	             -ENOENT, "a named group must exist");
	ipk_close(d);
	ipk_close(l);
	int port = s.port;
	rs_kill(&s, SIGKILL);
	char url[128];
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/x?timeout=200", port);
	cr_expect_eq(ipk_dial(url, &ch), -ECONNREFUSED);
}

struct share {
	int n;             /* messages */
	_Atomic int done;  /* the producer has sent them all */
	_Atomic int got[]; /* deliveries per sequence number */
};

struct worker {
	const char *url;
	struct share *sh;
	_Atomic int *holding; /* the sequence being handled, or -1 */
	bool stall;           /* stop after 50 messages, holding one */
};

static int
consume(void *arg)
{
	struct worker *w = arg;
	ipk_chan *ch;
	if (ipk_listen(w->url, &ch) < 0)
		return 1;
	int seq, got = 0;
	for (;;) {
		ssize_t n = ipk_recv(ch, &seq, sizeof(seq), 1000);
		if (n == -ETIMEDOUT && w->sh->done)
			break;
		if (n == -ETIMEDOUT)
			continue;
		if (n != sizeof(seq) || seq < 0 || seq >= w->sh->n)
			return 2;
		if (w->holding)
			*w->holding = seq;
		w->sh->got[seq]++;
		if (w->stall && ++got == 50)
			pause(); /* killed here, holding seq */
	}
	ipk_close(ch);
	return 0;
}

static void
produce(const char *url, struct share *sh)
{
	ipk_chan *tx = rs_dial(url);
	struct iovec iov[100];
	int seqs[100];
	for (int i = 0; i < sh->n; i += 100) {
		for (int k = 0; k < 100; k++) {
			seqs[k] = i + k;
			iov[k] = (struct iovec){&seqs[k], sizeof(int)};
		}
		cr_assert_eq(ipk_send_batch(tx, iov, 100, WAIT), 100);
	}
	ipk_close(tx);
	sh->done = 1;
}

static struct share *
share_new(int n)
{
	struct share *sh = th_shared(sizeof(*sh) + n * sizeof(sh->got[0]));
	sh->n = n;
	return sh;
}

/* Three consumers of one group: each message delivered exactly once. */
Test(redis, group_shares_the_work)
{
	struct rs s;
	rs_start(&s, NULL);
	struct share *sh = share_new(100000 / th_mult());
	struct worker w[3];
	pid_t pid[3];
	char urls[3][128];
	for (int i = 0; i < 3; i++) {
		snprintf(urls[i], sizeof(urls[i]), "%s%d",
		         rs_url(&s, "work", "?group=g&consumer=c"), i);
		w[i] = (struct worker){.url = urls[i], .sh = sh};
		th_defer_kill(pid[i] = th_spawn(consume, &w[i]));
	}
	ipk_chan *l = rs_listen(rs_url(&s, "work", "?group=g")); /* no loss */
	produce(rs_url(&s, "work", "?group=g"), sh);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(th_wait(pid[i], 60000 * th_mult()), 0,
		             "consumer %d failed", i);
	int once = 0, twice = 0;
	for (int i = 0; i < sh->n; i++)
		once += sh->got[i] == 1, twice += sh->got[i] > 1;
	cr_expect_eq(once, sh->n, "%d of %d once, %d more than once", once,
	             sh->n, twice);
	ipk_close(l);
}

/* A consumer killed while handling a message: after ?claim= another one
 * gets it; only that message is delivered twice. */
Test(redis, killed_consumer_redelivered)
{
	struct rs s;
	rs_start(&s, NULL);
	struct share *sh = share_new(400);
	_Atomic int *holding = th_shared(sizeof(*holding));
	*holding = -1;
	const char *q = "?group=g&claim=300&consumer=";
	char ua[128], ub[128];
	snprintf(ua, sizeof(ua), "%sa", rs_url(&s, "kill", q));
	snprintf(ub, sizeof(ub), "%sb", rs_url(&s, "kill", q));
	struct worker a = {
	        .url = ua, .sh = sh, .holding = holding, .stall = true};
	ipk_chan *l = rs_listen(rs_url(&s, "kill", "?group=g"));
	pid_t pa = th_spawn(consume, &a);
	th_defer_kill(pa);
	produce(rs_url(&s, "kill", "?group=g"), sh);
	long long end = th_now_ms() + WAIT * th_mult();
	for (;;) { /* a stops at its 50th message, holding it */
		int total = 0;
		for (int i = 0; i < sh->n; i++)
			total += sh->got[i];
		if (total >= 50)
			break;
		cr_assert(th_now_ms() < end, "consumer a got %d", total);
		usleep(10000);
	}
	kill(pa, SIGKILL);
	waitpid(pa, NULL, 0);
	int held = *holding;
	struct worker b = {.url = ub, .sh = sh};
	pid_t pb = th_spawn(consume, &b);
	th_defer_kill(pb);
	cr_expect_eq(th_wait(pb, 60000 * th_mult()), 0, "consumer b failed");
	for (int i = 0; i < sh->n; i++)
		cr_expect_eq(sh->got[i], i == held ? 2 : 1,
		             "seq %d delivered %d times (held %d)", i,
		             sh->got[i], held);
	ipk_close(l);
}

/* SIGKILL of redis-server with appendonly (fsync always): every
 * acknowledged XADD and the group's state come back from the AOF. */
Test(redis, server_restart_keeps_messages)
{
	struct rs s;
	rs_start(&s, RS_DURABLE);
	struct share *sh = share_new(10000);
	const char *url = rs_url(&s, "durable", "?group=g&consumer=c");
	ipk_chan *l = rs_listen(url);
	produce(url, sh);
	int seq;
	cr_assert_eq(ipk_recv(l, &seq, sizeof(seq), WAIT), sizeof(seq));
	cr_expect_eq(seq, 0);
	ipk_close(l); /* acknowledges 0 */
	rs_kill(&s, SIGKILL);
	rs_run(&s);
	l = rs_listen(url);
	for (int i = 1; i < sh->n; i++) {
		ssize_t n = ipk_recv(l, &seq, sizeof(seq), WAIT);
		cr_assert_eq(n, sizeof(seq), "message %d: %s", i,
		             ipk_strerror((int)n));
		cr_assert_eq(seq, i);
	}
	cr_expect_eq(ipk_recv(l, &seq, sizeof(seq), 0), -EAGAIN);
	ipk_close(l);
}

/* requirepass: the password works from the URL or REDISCLI_AUTH, a wrong
 * one is -EACCES, and ipk_name never shows it. */
Test(redis, credentials_redacted)
{
	struct rs s;
	rs_start(&s, "--requirepass s3cret");
	char url[256], name[512];
	snprintf(url, sizeof(url), "redis://default:s3cret@127.0.0.1:%d/k",
	         s.port);
	ipk_chan *l = rs_listen(url);
	cr_assert_eq(ipk_name(l, name, sizeof(name)), 0);
	cr_expect_null(strstr(name, "s3cret"), "name: %s", name);
	cr_expect(strstr(name, "default:***@127.0.0.1"), "name: %s", name);
	ipk_close(l);
	ipk_chan *ch;
	snprintf(url, sizeof(url), "redis://:wrong@127.0.0.1:%d/k", s.port);
	cr_expect_eq(ipk_listen(url, &ch), -EACCES);
	cr_expect_eq(ipk_listen(rs_url(&s, "k", ""), &ch), -EACCES,
	             "no password");
	setenv("REDISCLI_AUTH", "s3cret", 1);
	l = rs_listen(rs_url(&s, "k", ""));
	unsetenv("REDISCLI_AUTH");
	cr_expect_eq(ipk_send(l, "x", 1, WAIT), 0);
	ipk_close(l);
}

/* A server that answers garbage (mode 0), or PONG to the first request
 * and half a reply to the second (mode 1); then it closes. */
struct fake {
	int fd, mode;
};

static int
fake_server(void *arg)
{
	const struct fake *f = arg;
	static const char *const say[2][2] = {
	        {"HTTP/1.0 400 Bad\r\n\r\n", NULL},
	        {"+PONG\r\n", "$100\r\nhalf a rep"}};
	char req[4096];
	for (;;) {
		int c = accept(f->fd, NULL, NULL);
		if (c < 0)
			return 1;
		for (int i = 0; i < 2 && say[f->mode][i]; i++)
			if (read(c, req, sizeof(req)) <= 0 ||
			    write(c, say[f->mode][i], strlen(say[f->mode][i])) <
			            0)
				break;
		usleep(100000);
		close(c);
	}
}

/* The fake server's URL. */
static const char *
fake_start(struct fake *f, int mode)
{
	static char url[128];
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	f->fd = socket(AF_INET, SOCK_STREAM, 0);
	f->mode = mode;
	cr_assert(bind(f->fd, (struct sockaddr *)&a, len) == 0 &&
	          listen(f->fd, 8) == 0 &&
	          getsockname(f->fd, (struct sockaddr *)&a, &len) == 0);
	th_defer_kill(th_spawn(fake_server, f));
	close(f->fd);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/s?timeout=2000",
	         ntohs(a.sin_port));
	return url;
}

Test(redis, bad_servers)
{
	struct fake f;
	ipk_chan *ch;
	long long t0 = th_now_ms();
	cr_expect_eq(ipk_listen(fake_start(&f, 0), &ch), -EPROTO, "not Redis");
	cr_expect_eq(ipk_listen(fake_start(&f, 1), &ch), -ECONNRESET,
	             "gone in mid-reply");
	cr_expect_lt(th_now_ms() - t0, 3000);

	struct rs s;
	rs_start(&s, NULL);
	cr_assert_eq(th_sh("redis-cli -p %d SET str v >/dev/null", s.port), 0);
	cr_expect_eq(ipk_listen(rs_url(&s, "str", ""), &ch), -EEXIST,
	             "a key of another type");
	ipk_chan *l = rs_listen(rs_url(&s, "st", ""));
	char buf[8];
	rs_kill(&s, SIGSTOP); /* a server that does not answer */
	t0 = th_now_ms();
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), 300), -ETIMEDOUT);
	long long dt = th_now_ms() - t0;
	cr_expect(dt >= 295 && dt < 3000, "waited %lld ms", dt);
	rs_kill(&s, SIGCONT);
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), 0), -EAGAIN,
	             "reconnected after a wait that ended");
	rs_kill(&s, SIGKILL);
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), WAIT), -EPIPE);
	cr_expect_eq(ipk_send(l, "x", 1, WAIT), -EPIPE, "sticky");
	ipk_close(l);
}

/* ?reconnect: the server restarted, the channel goes on. */
Test(redis, reconnect_after_restart)
{
	struct rs s;
	rs_start(&s, RS_DURABLE);
	ipk_chan *l = rs_listen(rs_url(&s, "re", "?reconnect"));
	cr_expect_eq(ipk_send(l, "a", 1, WAIT), 0);
	rs_kill(&s, SIGKILL);
	rs_run(&s);
	char buf[8];
	ssize_t n = ipk_recv(l, buf, sizeof(buf), WAIT);
	cr_expect_eq(n, 1, "%s", ipk_strerror((int)n));
	cr_expect_eq(ipk_send(l, "b", 1, WAIT), 0);
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), WAIT), 1);
	ipk_close(l);
}

static int
cancel_later(void *arg)
{
	usleep(200000);
	return write(*(int *)arg, "x", 1) == 1 ? 0 : 1;
}

Test(redis, cancel_ends_a_wait_forever)
{
	struct rs s;
	rs_start(&s, NULL);
	ipk_chan *l = rs_listen(rs_url(&s, "cancel", ""));
	int p[2];
	cr_assert_eq(pipe(p), 0);
	ipk_set_cancel(l, p[0]);
	th_defer_kill(th_spawn(cancel_later, &p[1]));
	char buf[8];
	long long t0 = th_now_ms();
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), -1), -ECANCELED);
	cr_expect_lt(th_now_ms() - t0, 3000);
	ipk_close(l);
	close(p[0]);
	close(p[1]);
}

/* What ipckit writes, redis-cli reads (field "m"), and back. */
Test(redis, interop_with_redis_cli)
{
	struct rs s;
	rs_start(&s, NULL);
	ipk_chan *l = rs_listen(rs_url(&s, "io", "?group=g"));
	cr_expect_eq(ipk_send(l, "from ipckit", 11, WAIT), 0);
	cr_expect_eq(th_sh("redis-cli -p %d XREADGROUP GROUP g cli COUNT 1 "
	                   "STREAMS io '>' | tr '\\n' ' ' | "
	                   "grep -q 'm from ipckit'",
	                   s.port),
	             0);
	cr_expect_eq(th_sh("redis-cli -p %d XADD io '*' m 'from cli' "
	                   ">/dev/null",
	                   s.port),
	             0);
	char buf[32];
	ssize_t n = ipk_recv(l, buf, sizeof(buf), WAIT);
	cr_expect(n == 8 && !memcmp(buf, "from cli", 8), "got %zd", n);
	ipk_close(l);
}

/* Three masters made a cluster by redis-cli; streams whose keys hash to
 * every shard, all dialled through the first node: MOVED followed. */
Test(redis, cluster_redirects_followed)
{
	struct rs s[3];
	char nodes[256] = "";
	for (int i = 0; i < 3; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		snprintf(s[i].dir, sizeof(s[i].dir), "%s", th_path("cluster"));
		cr_assert_eq(th_sh("mkdir -p %s", s[i].dir), 0);
		th_defer_remove(s[i].dir);
		snprintf(s[i].args, sizeof(s[i].args), "%s",
		         "--cluster-enabled yes --cluster-config-file "
		         "nodes.conf");
		s[i].port = rs_cluster_port();
		rs_run(&s[i]);
		size_t n = strlen(nodes);
		snprintf(nodes + n, sizeof(nodes) - n, " 127.0.0.1:%d",
		         s[i].port);
	}
	cr_assert_eq(th_sh("redis-cli --cluster create%s --cluster-yes "
	                   ">/dev/null 2>&1",
	                   nodes),
	             0, "redis-cli --cluster create%s", nodes);
	long long end = th_now_ms() + 20000LL * th_mult();
	for (int i = 0; i < 3; i++)
		while (th_sh("redis-cli -p %d CLUSTER INFO | grep -q "
		             "cluster_state:ok",
		             s[i].port) != 0) {
			cr_assert(th_now_ms() < end, "cluster not ok");
			usleep(50000);
		}
	int elsewhere = 0;
	for (int k = 0; k < 8; k++) {
		char key[16], buf[16];
		snprintf(key, sizeof(key), "orders%d", k);
		elsewhere += th_sh("redis-cli -p %d CLUSTER KEYSLOT %s | "
		                   "awk '{exit !($1 < 5461)}'",
		                   s[0].port, key) != 0;
		ipk_chan *l = rs_listen(rs_url(&s[0], key, "?group=g"));
		ipk_chan *d = rs_dial(rs_url(&s[0], key, "?group=g"));
		cr_expect_eq(ipk_send(d, key, strlen(key), WAIT), 0, "%s", key);
		ssize_t n = ipk_recv(l, buf, sizeof(buf), WAIT);
		cr_expect(n == (ssize_t)strlen(key) && !memcmp(buf, key, n),
		          "%s: got %zd (%s)", key, n, ipk_strerror((int)n));
		ipk_close(d);
		ipk_close(l);
	}
	cr_expect_geq(elsewhere, 2, "keys on other shards: %d", elsewhere);
	ipk_chan *ch;
	cr_expect_eq(ipk_listen(rs_url(&s[0], "k", "?db=1"), &ch), -EINVAL,
	             "?db= on a cluster");
}

/* Receives one message and is killed holding it. */
static int
take_one_and_hang(void *arg)
{
	ipk_chan *ch;
	char buf[16];
	if (ipk_listen(arg, &ch) < 0 ||
	    ipk_recv(ch, buf, sizeof(buf), WAIT) != 1)
		return 1;
	pause();
	return 0;
}

/* A consumer restarted under its name reads its own pending message
 * before new ones, even with ?claim=0 (nobody else takes it over). */
Test(redis, restarted_consumer_reads_own_pending_first)
{
	struct rs s;
	rs_start(&s, NULL);
	const char *url = rs_url(&s, "own", "?group=g&consumer=me&claim=0");
	ipk_chan *tx = rs_listen(url);
	cr_assert_eq(ipk_send(tx, "1", 1, WAIT), 0);
	cr_assert_eq(ipk_send(tx, "2", 1, WAIT), 0);
	pid_t pid = th_spawn(take_one_and_hang, (void *)url);
	th_defer_kill(pid);
	long long end = th_now_ms() + WAIT * th_mult();
	while (th_sh("test \"$(redis-cli -p %d XPENDING own g | head -1)\" = 1",
	             s.port) != 0) {
		cr_assert(th_now_ms() < end, "the child took nothing");
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ipk_chan *rx = rs_listen(url);
	char buf[4];
	cr_expect_eq(ipk_recv(rx, buf, sizeof(buf), WAIT), 1);
	cr_expect_eq(buf[0], '1', "its own pending message first");
	cr_expect_eq(ipk_recv(rx, buf, sizeof(buf), WAIT), 1);
	cr_expect_eq(buf[0], '2');
	cr_expect_eq(ipk_recv(rx, buf, sizeof(buf), 0), -EAGAIN);
	ipk_close(rx);
	ipk_close(tx);
}

/* ?maxlen= trims (approximately), ?db= selects the database. */
Test(redis, maxlen_and_db)
{
	struct rs s;
	rs_start(&s, NULL);
	ipk_chan *l = rs_listen(rs_url(&s, "trim", "?maxlen=10&db=3"));
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(ipk_send(l, "x", 1, WAIT), 0);
	cr_expect_eq(th_sh("n=$(redis-cli -p %d -n 3 XLEN trim); "
	                   "test \"$n\" -ge 10 -a \"$n\" -lt 1000",
	                   s.port),
	             0, "trimmed in database 3");
	cr_expect_eq(th_sh("test \"$(redis-cli -p %d -n 0 EXISTS trim)\" = 0",
	                   s.port),
	             0, "nothing in database 0");
	ipk_close(l);
}
