/*
 * unix_test.c - the Unix socket transports against RELIABILITY.md UDS-01
 * to UDS-06: stale vs live sockets, path lengths, the SO_PEERCRED policy
 * with an intruder running as nobody, descriptor passing hygiene, whole
 * datagrams, and abstract names.
 */
#include "helpers.h"
#include "raw_peer.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAIT 10000

static char url[512];

static const char *
mkurl(const char *scheme, const char *path, const char *query)
{
	snprintf(url, sizeof(url), "%s:%s%s", scheme, path, query);
	return url;
}

/* A child that dials, sends "hello" and expects "world" back. */
static int
client_hello(void *arg)
{
	ipk_chan *ch;
	char buf[16];
	if (ipk_dial(arg, &ch) < 0)
		return 1;
	if (ipk_send(ch, "hello", 5, WAIT) < 0)
		return 2;
	ssize_t n = ipk_recv(ch, buf, sizeof(buf), WAIT);
	ipk_close(ch);
	return n == 5 && memcmp(buf, "world", 5) == 0 ? 0 : 3;
}

/* Accept one client of l and run the hello exchange with it. */
static void
serve_hello(ipk_chan *l)
{
	ipk_chan *c;
	char buf[16];
	cr_assert_eq(ipk_accept(l, &c, WAIT), 0);
	cr_assert_eq(ipk_recv(c, buf, sizeof(buf), WAIT), 5);
	cr_assert_eq(ipk_send(c, "world", 5, WAIT), 0);
	ipk_close(c);
}

static int
child_listen_forever(void *arg)
{
	ipk_chan *l;
	if (ipk_listen(arg, &l) < 0)
		return 1;
	for (;;)
		pause();
}

Test(uds01, stale_socket_is_taken_over)
{
	const char *p = th_path("stale");
	char u[300];
	snprintf(u, sizeof(u), "unix:%s", p);
	pid_t pid = th_spawn(child_listen_forever, u);
	for (int i = 0; i < 500 && access(p, F_OK) != 0; i++)
		usleep(2000);
	cr_assert_eq(access(p, F_OK), 0, "child did not bind");
	kill(pid, SIGKILL);
	th_wait(pid, WAIT);
	cr_assert_eq(access(p, F_OK), 0, "kill -9 leaves the file behind");
	ipk_chan *l;
	cr_assert_eq(ipk_listen(u, &l), 0, "stale socket not taken over");
	pid = th_spawn(client_hello, u);
	serve_hello(l);
	cr_expect_eq(th_wait(pid, WAIT), 0);
	ipk_close(l);
	cr_expect_neq(access(p, F_OK), 0, "close left the socket file");
}

Test(uds01, live_listener_is_never_removed)
{
	const char *u = mkurl("unix", th_path("live"), "");
	ipk_chan *a, *b;
	cr_assert_eq(ipk_listen(u, &a), 0);
	cr_expect_eq(ipk_listen(u, &b), -EADDRINUSE);
	pid_t pid = th_spawn(client_hello, (void *)u);
	serve_hello(a);
	cr_expect_eq(th_wait(pid, WAIT), 0, "A stopped serving");
	ipk_close(a);
}

Test(uds01, file_or_symlink_is_refused_and_kept)
{
	const char *file = th_path("file");
	const char *link = th_path("link");
	cr_assert_eq(th_sh("echo keep > %s && ln -s %s %s", file, file, link),
	             0);
	ipk_chan *l;
	char u[300];
	snprintf(u, sizeof(u), "unix:%s", file);
	cr_expect_eq(ipk_listen(u, &l), -EEXIST);
	snprintf(u, sizeof(u), "unix:%s", link);
	cr_expect_eq(ipk_listen(u, &l), -EEXIST);
	struct stat st;
	cr_expect(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
	cr_expect(stat(file, &st) == 0 && S_ISREG(st.st_mode) &&
	          st.st_size == 5);
	unlink(link);
	unlink(file);
}

Test(uds02, path_length_limits_without_truncation)
{
	char path[200];
	int n = snprintf(path, sizeof(path), "%s-", th_path("len"));
	memset(path + n, 'x', sizeof(path) - (size_t)n);
	path[107] = '\0'; /* 107 bytes + NUL fill sun_path exactly */
	ipk_chan *l;
	char u[300];
	snprintf(u, sizeof(u), "unix:%s", path);
	cr_expect_eq(ipk_listen(u, &l), 0, "107 bytes must work");
	ipk_close(l);
	char longer[200];
	memcpy(longer, path, 107);
	strcpy(longer + 107, "y");
	snprintf(u, sizeof(u), "unix:%s", longer);
	cr_expect_eq(ipk_listen(u, &l), -ENAMETOOLONG);
	cr_expect_eq(ipk_dial(u, &l), -ENAMETOOLONG);
	cr_expect_neq(access(path, F_OK), 0, "a truncated name appeared");
}

Test(uds02, abstract_name_has_its_exact_length)
{
	char name[64], u[128];
	snprintf(name, sizeof(name), "ipk-test-abs-%d", (int)getpid());
	snprintf(u, sizeof(u), "unix:@%s", name);
	ipk_chan *l;
	cr_assert_eq(ipk_listen(u, &l), 0);
	/* /proc/net/unix shows "@name" and nothing after it (no NUL pad). */
	cr_expect_eq(th_sh("grep -q ' @%s$' /proc/net/unix", name), 0);
	pid_t pid = th_spawn(client_hello, u);
	serve_hello(l);
	cr_expect_eq(th_wait(pid, WAIT), 0);
	ipk_close(l);
}

/* An intruder (nobody) that connects, optionally from a bound name with
 * ";uid=0;" in it, and exits 0 if the server hung up on it. */
static int
intruder(const char *target, bool abstract)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
	         "python3 -c \"\n"
	         "import socket, sys, os\n"
	         "s = socket.socket(socket.AF_UNIX)\n"
	         "s.bind(chr(0) + \\\"x;uid=0;pid=1;\\\" + str(os.getpid()))\n"
	         "try:\n"
	         "    s.connect(%s\\\"%s\\\")\n"
	         "except PermissionError:\n"
	         "    sys.exit(13)\n"
	         "s.settimeout(5)\n"
	         "try:\n"
	         "    sys.exit(0 if s.recv(10) == b\\\"\\\" else 1)\n"
	         "except ConnectionResetError:\n"
	         "    sys.exit(0)\n"
	         "\"",
	         abstract ? "chr(0) + " : "", target);
	return th_run_as_nobody(cmd);
}

static int
child_intruder(void *arg)
{
	return intruder(arg, false);
}

Test(uds03, socket_is_owner_only_and_nobody_gets_eacces)
{
	const char *p = th_path("perm");
	char u[300];
	snprintf(u, sizeof(u), "unix:%s", p);
	mode_t old = umask(0);
	ipk_chan *l;
	cr_assert_eq(ipk_listen(u, &l), 0);
	umask(old);
	struct stat st;
	cr_assert_eq(stat(p, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
	cr_expect_eq(intruder(p, false), 13, "nobody was not refused");
	ipk_close(l);
}

Test(uds03, credential_policy_rejects_other_uid)
{
	const char *p = th_path("cred");
	char u[300];
	snprintf(u, sizeof(u), "unix:%s", p);
	ipk_chan *l, *c;
	cr_assert_eq(ipk_listen(u, &l), 0);
	cr_assert_eq(chmod(p, 0777), 0); /* so nobody can connect at all */
	pid_t pid = th_spawn(child_intruder, (void *)p);
	cr_expect_eq(ipk_accept(l, &c, 1500), -ETIMEDOUT,
	             "the intruder was accepted");
	cr_expect_eq(th_wait(pid, WAIT), 0, "intruder was not hung up on");
	pid = th_spawn(client_hello, u);
	serve_hello(l);
	cr_expect_eq(th_wait(pid, WAIT), 0);
	ipk_close(l);
}

Test(uds03, allow_any_widens_the_policy)
{
	const char *p = th_path("any");
	char u[300];
	snprintf(u, sizeof(u), "unix:%s?allow=any", p);
	ipk_chan *l, *c;
	cr_assert_eq(ipk_listen(u, &l), 0);
	cr_assert_eq(chmod(p, 0777), 0);
	pid_t pid = th_spawn(child_intruder, (void *)p);
	cr_expect_eq(ipk_accept(l, &c, WAIT), 0);
	struct ipk_peer peer;
	char buf[4];
	struct ipk_msg m = {.buf = buf, .len = sizeof(buf), .peer = &peer};
	cr_expect_eq(ipk_recvmsg(c, &m, 0), -EAGAIN);
	cr_expect_eq(ipk_send(c, "", 0, WAIT), 0);
	ipk_close(c);
	th_wait(pid, WAIT);
	ipk_close(l);
}

/* --- UDS-04: descriptor passing, on unix: and unixpacket: --- */

struct fdjob {
	const char *url;
	int nfds;     /* descriptors per message */
	int messages; /* how many such messages */
};

static int
child_send_fds(void *arg)
{
	const struct fdjob *j = arg;
	ipk_chan *ch;
	if (ipk_dial(j->url, &ch) < 0)
		return 1;
	int p[2];
	if (pipe(p) < 0)
		return 2;
	int *fds = malloc(sizeof(int) * (size_t)j->nfds);
	for (int i = 0; i < j->nfds; i++)
		fds[i] = i % 2 ? p[1] : p[0];
	if (write(p[1], "ok", 2) != 2)
		return 3;
	ipk_send(ch, "before", 6, WAIT);
	for (int i = 0; i < j->messages; i++) {
		struct ipk_msg m = {.buf = "fds",
		                    .len = 3,
		                    .fds = fds,
		                    .nfds = (size_t)j->nfds};
		if (ipk_sendmsg(ch, &m, WAIT) < 0)
			return 4;
	}
	ipk_send(ch, "after", 5, WAIT);
	char b[4];
	ipk_recv(ch, b, sizeof(b), WAIT); /* until the receiver is done */
	ipk_close(ch);
	return 0;
}

static ipk_chan *
accept_or_self(ipk_chan *l)
{
	ipk_chan *c;
	cr_assert_eq(ipk_accept(l, &c, WAIT), 0);
	return c;
}

static void
fd_hygiene(const char *scheme)
{
	const char *u = mkurl(scheme, th_path("fds"), "");
	struct fdjob j = {u, 3, 2};
	ipk_chan *l;
	cr_assert_eq(ipk_listen(u, &l), 0);
	pid_t pid = th_spawn(child_send_fds, &j);
	ipk_chan *c = accept_or_self(l);
	int base = th_fd_count();
	char buf[16];
	/* (b) a plain receive: the "before" message carried none. */
	cr_expect_eq(ipk_recv(c, buf, sizeof(buf), WAIT), 6);
	/* (a) room for 1 of 3: -EMSGSIZE, needs 3, the message stays. */
	int fds[8];
	struct ipk_msg m = {
	        .buf = buf, .len = sizeof(buf), .fds = fds, .nfds = 1};
	cr_expect_eq(ipk_recvmsg(c, &m, WAIT), -EMSGSIZE, "%s", scheme);
	cr_expect_eq(m.nfds, 3);
	/* (c) room enough: 3 close-on-exec descriptors that work. */
	m = (struct ipk_msg){
	        .buf = buf, .len = sizeof(buf), .fds = fds, .nfds = 8};
	cr_expect_eq(ipk_recvmsg(c, &m, WAIT), 3);
	cr_assert_eq(m.nfds, 3);
	for (size_t i = 0; i < m.nfds; i++)
		cr_expect(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
	cr_expect_eq(read(fds[0], buf, 2), 2, "the passed pipe works");
	for (size_t i = 0; i < m.nfds; i++)
		close(fds[i]);
	cr_expect_eq(th_fd_count(), base, "%s: descriptors leaked", scheme);
	/* (b) the second message, received without room: all closed. */
	cr_expect_eq(ipk_recv(c, buf, sizeof(buf), WAIT), 3);
	cr_expect_eq(th_fd_count(), base, "%s: unasked fds leaked", scheme);
	cr_expect_eq(ipk_recv(c, buf, sizeof(buf), WAIT), 5);
	ipk_send(c, "x", 1, WAIT);
	cr_expect_eq(th_wait(pid, WAIT), 0);
	ipk_close(c);
	ipk_close(l);
}

Test(uds04, fd_passing_hygiene_unix)
{
	fd_hygiene("unix");
}

Test(uds04, fd_passing_hygiene_unixpacket)
{
	fd_hygiene("unixpacket");
}

Test(uds04, more_than_scm_max_is_einval)
{
	ipk_chan *a, *b;
	cr_assert_eq(ipk_pair("unix:", &a, &b), 0);
	int fds[254];
	for (int i = 0; i < 254; i++)
		fds[i] = 0;
	struct ipk_msg m = {.buf = "x", .len = 1, .fds = fds, .nfds = 254};
	cr_expect_eq(ipk_sendmsg(b, &m, WAIT), -EINVAL);
	m.nfds = 253;
	cr_expect_eq(ipk_sendmsg(b, &m, WAIT), 0);
	int got[253];
	struct ipk_msg r = {
	        .buf = (char[4]){0}, .len = 4, .fds = got, .nfds = 253};
	cr_expect_eq(ipk_recvmsg(a, &r, WAIT), 1);
	cr_expect_eq(r.nfds, 253);
	for (size_t i = 0; i < r.nfds; i++)
		close(got[i]);
	ipk_close(a);
	ipk_close(b);
}

/* Receiver limited to 256 descriptors keeps everything it gets. */
static int
child_flooded(void *arg)
{
	struct rlimit rl = {256, 256};
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1;
	ipk_chan *l, *c;
	if (ipk_listen(arg, &l) < 0 || ipk_accept(l, &c, WAIT) < 0)
		return 2;
	static int fds[IPK_DEFAULT_MAX / 65536][200];
	char buf[16];
	int emfile = 0, kept = 0, rest = 0;
	for (int i = 0; i < 50; i++) {
		struct ipk_msg m = {.buf = buf,
		                    .len = sizeof(buf),
		                    .fds = fds[i],
		                    .nfds = 200};
		ssize_t n = ipk_recvmsg(c, &m, WAIT);
		if (n == -EMFILE)
			emfile++;
		else if (n == 3)
			kept += (int)m.nfds;
		else if (n == 6 || n == 5)
			rest++;
		if (th_fd_count() > 256)
			return 3;
	}
	if (!emfile)
		return 4;
	/* Still works once descriptors are freed. */
	for (int fd = 3; fd < 256; fd++)
		if (fd != ipk_fd(c))
			close(fd);
	ssize_t n = ipk_recv(c, buf, sizeof(buf), WAIT);
	(void)kept;
	(void)rest;
	return n > 0 ? 0 : 5;
}

Test(uds04, flood_of_fds_under_rlimit, .fini = th_cleanup)
{
	const char *path = th_path("flood");
	th_defer_remove(path); /* the receiver child exits without closing */
	const char *u = mkurl("unixpacket", path, "");
	pid_t rx = th_spawn(child_flooded, (void *)u);
	struct fdjob j = {u, 200, 50};
	pid_t tx = th_spawn(child_send_fds, &j);
	cr_expect_eq(th_wait(rx, 30000), 0, "receiver failed");
	kill(tx, SIGKILL);
	th_wait(tx, WAIT);
}

Test(uds04, fds_belong_to_their_frame_on_a_stream)
{
	ipk_chan *a, *b;
	cr_assert_eq(ipk_pair("unix:", &a, &b), 0);
	int p[2];
	cr_assert_eq(pipe(p), 0);
	struct ipk_msg with = {.buf = "two", .len = 3, .fds = p, .nfds = 2};
	cr_assert_eq(ipk_send(b, "one", 3, WAIT), 0);
	cr_assert_eq(ipk_sendmsg(b, &with, WAIT), 0);
	cr_assert_eq(ipk_send(b, "three", 5, WAIT), 0);
	close(p[0]);
	close(p[1]);
	char buf[8];
	int fds[4];
	for (int i = 0; i < 3; i++) {
		struct ipk_msg m = {
		        .buf = buf, .len = sizeof(buf), .fds = fds, .nfds = 4};
		ssize_t n = ipk_recvmsg(a, &m, WAIT);
		cr_expect_eq(m.nfds, i == 1 ? 2u : 0u, "message %d", i);
		cr_expect_eq(n, i == 2 ? 5 : 3);
		for (size_t k = 0; k < m.nfds; k++)
			close(fds[k]);
	}
	ipk_close(a);
	ipk_close(b);
}

Test(unix, stalled_frame_ends_a_blocking_recv)
{
	ipk_chan *a, *b;
	cr_assert_eq(ipk_pair("unix:?frame=300", &a, &b), 0);
	cr_assert_eq(write(ipk_fd(b), "\0\0", 2), 2); /* half a header */
	char buf[8];
	long long t0 = th_now_ms();
	cr_expect_eq(ipk_recv(a, buf, sizeof(buf), -1), -ECONNRESET);
	long long dt = th_now_ms() - t0;
	cr_expect(dt >= 290 && dt < 1500, "took %lld ms", dt);
	cr_expect_eq(ipk_recv(a, buf, sizeof(buf), 0), -ECONNRESET, "sticky");
	ipk_close(a);
	ipk_close(b);
}

Test(uds03, bare_name_lives_in_the_private_runtime_dir)
{
	char name[64], u[96], dir[256], path[400];
	snprintf(name, sizeof(name), "ipk-test-name-%d", (int)getpid());
	snprintf(u, sizeof(u), "unix:%s", name);
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && xdg[0] == '/')
		snprintf(dir, sizeof(dir), "%s/ipckit", xdg);
	else
		snprintf(dir, sizeof(dir), "/tmp/ipckit-%u",
		         (unsigned)geteuid());
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ipk_chan *l;
	cr_assert_eq(ipk_listen(u, &l), 0);
	struct stat st;
	cr_expect(lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	          (st.st_mode & 0777) == 0700);
	cr_expect(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	          (st.st_mode & 0777) == 0600);
	pid_t pid = th_spawn(client_hello, u);
	serve_hello(l);
	cr_expect_eq(th_wait(pid, WAIT), 0);
	ipk_close(l);
	cr_expect_neq(access(path, F_OK), 0, "%s left behind", path);
}

Test(unix, seqpacket_pair_keeps_boundaries_and_sees_eof)
{
	ipk_chan *a, *b;
	cr_assert_eq(ipk_pair("unixpacket:", &a, &b), 0);
	cr_assert_eq(ipk_send(b, "", 0, WAIT), 0);
	cr_assert_eq(ipk_send(b, "abc", 3, WAIT), 0);
	char buf[8];
	cr_expect_eq(ipk_recv(a, buf, sizeof(buf), WAIT), 0, "empty message");
	cr_expect_eq(ipk_recv(a, buf, sizeof(buf), WAIT), 3);
	cr_expect_eq(ipk_shutdown(b), 0);
	cr_expect_eq(ipk_recv(a, buf, sizeof(buf), WAIT), -EPIPE);
	cr_expect_eq(ipk_send(a, "back", 4, WAIT), 0, "half-closed only");
	cr_expect_eq(ipk_recv(b, buf, sizeof(buf), WAIT), 4);
	ipk_close(a);
	ipk_close(b);
}

/*
 * ipk_recv reads a seqpacket without room for credentials and tells an
 * empty message from EOF by MSG_CTRUNC: an empty one with a descriptor
 * nobody asked for, one read with its sender, one into a NULL buffer.
 */
Test(unix, seqpacket_empty_message_is_not_eof)
{
	ipk_chan *a, *b;
	cr_assert_eq(ipk_pair("unixpacket:", &a, &b), 0);
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	struct ipk_msg out = {.buf = "", .len = 0, .fds = &fd, .nfds = 1};
	cr_assert_eq(ipk_sendmsg(b, &out, WAIT), 0);
	cr_assert_eq(ipk_send(b, "", 0, WAIT), 0);
	cr_assert_eq(ipk_send(b, NULL, 0, WAIT), 0);
	int before = th_fd_count();
	char buf[8];
	cr_expect_eq(ipk_recv(a, buf, sizeof(buf), WAIT), 0, "with a fd");
	cr_expect_eq(th_fd_count(), before, "the unasked descriptor stays");
	struct ipk_peer p;
	struct ipk_msg m = {.buf = buf, .len = sizeof(buf), .peer = &p};
	cr_expect_eq(ipk_recvmsg(a, &m, WAIT), 0);
	cr_expect_eq(p.pid, getpid(), "the sender of an empty message");
	cr_expect_eq(ipk_recv(a, NULL, 0, WAIT), 0, "into NULL");
	cr_expect_eq(ipk_recv(a, buf, sizeof(buf), 0), -EAGAIN);
	ipk_close(b);
	cr_expect_eq(ipk_recv(a, buf, sizeof(buf), WAIT), -EPIPE);
	close(fd);
	ipk_close(a);
}

/* --- UDS-05: whole messages on seqpacket and datagram sockets --- */

static void
big_message_stays(const char *scheme)
{
	const char *u = mkurl(scheme, th_path("big"), "");
	ipk_chan *l, *d, *c = NULL;
	cr_assert_eq(ipk_listen(u, &l), 0);
	cr_assert_eq(ipk_dial(u, &d), 0);
	if (strcmp(scheme, "unixpacket") == 0)
		cr_assert_eq(ipk_accept(l, &c, WAIT), 0);
	ipk_chan *rx = c ? c : l;
	char big[1000], small[10];
	th_fill(big, sizeof(big), 4);
	cr_assert_eq(ipk_send(d, big, sizeof(big), WAIT), 0);
	struct ipk_msg m = {.buf = small, .len = sizeof(small)};
	cr_expect_eq(ipk_recvmsg(rx, &m, WAIT), -EMSGSIZE, "%s", scheme);
	cr_expect_eq(m.len, 1000);
	memset(big, 0, sizeof(big));
	cr_expect_eq(ipk_recv(rx, big, sizeof(big), WAIT), 1000);
	cr_expect(th_check(big, sizeof(big), 4));
	ipk_close(d);
	ipk_close(c);
	ipk_close(l);
}

Test(uds05, short_buffer_is_emsgsize_unixpacket)
{
	big_message_stays("unixpacket");
}

Test(uds05, short_buffer_is_emsgsize_unixgram)
{
	big_message_stays("unixgram");
}

Test(uds05, full_datagram_receiver_blocks_without_loss)
{
	const char *u = mkurl("unixgram", th_path("full"), "");
	ipk_chan *l, *d;
	cr_assert_eq(ipk_listen(u, &l), 0);
	cr_assert_eq(ipk_dial(u, &d), 0);
	char buf[1000] = {0};
	int sent = 0, rc;
	while ((rc = ipk_send(d, buf, sizeof(buf), 0)) == 0)
		sent++;
	cr_expect_eq(rc, -EAGAIN);
	cr_expect_eq(ipk_send(d, buf, sizeof(buf), 100), -ETIMEDOUT);
	int got = 0;
	while (ipk_recv(l, buf, sizeof(buf), 0) == 1000)
		got++;
	cr_expect_eq(got, sent, "sent %d, got %d", sent, got);
	ipk_close(d);
	ipk_close(l);
}

Test(uds05, datagram_above_sndbuf_is_emsgsize)
{
	const char *u = mkurl("unixgram", th_path("huge"), "?max=4194304");
	ipk_chan *l, *d;
	cr_assert_eq(ipk_listen(u, &l), 0);
	cr_assert_eq(ipk_dial(u, &d), 0);
	char *buf = calloc(1, 1 << 20);
	cr_expect_eq(ipk_send(d, buf, 1 << 20, WAIT), -EMSGSIZE);
	free(buf);
	ipk_close(d);
	ipk_close(l);
}

Test(uds05, datagram_sender_credentials_and_reply)
{
	const char *u = mkurl("unixgram", th_path("cred"), "");
	ipk_chan *l, *d;
	cr_assert_eq(ipk_listen(u, &l), 0);
	cr_assert_eq(ipk_dial(u, &d), 0);
	cr_assert_eq(ipk_send(d, "q", 1, WAIT), 0);
	char buf[4];
	struct ipk_peer p;
	struct ipk_msg m = {.buf = buf, .len = sizeof(buf), .peer = &p};
	cr_expect_eq(ipk_recvmsg(l, &m, WAIT), 1);
	cr_expect_eq(p.pid, getpid());
	cr_expect_eq(p.uid, geteuid());
	cr_expect_eq(ipk_send(l, "a", 1, WAIT), 0, "reply to last sender");
	cr_expect_eq(ipk_recv(d, buf, sizeof(buf), WAIT), 1);
	ipk_close(d);
	ipk_close(l);
}

/* --- UDS-06: abstract names --- */

static int
child_intruder_abstract(void *arg)
{
	return intruder(arg, true);
}

Test(uds06, abstract_other_uid_rejected_other_netns_refused)
{
	char name[64], u[128];
	snprintf(name, sizeof(name), "ipk-test-abs6-%d", (int)getpid());
	snprintf(u, sizeof(u), "unix:@%s", name);
	ipk_chan *l, *c;
	cr_assert_eq(ipk_listen(u, &l), 0);
	pid_t pid = th_spawn(child_intruder_abstract, name);
	cr_expect_eq(ipk_accept(l, &c, 1500), -ETIMEDOUT, "intruder accepted");
	cr_expect_eq(th_wait(pid, WAIT), 0, "intruder was not hung up on");
	cr_expect_eq(th_sh("unshare --net python3 -c \"import socket; "
	                   "s = socket.socket(socket.AF_UNIX); "
	                   "s.connect(chr(0) + '%s')\" 2>&1 | grep -q Refused",
	                   name),
	             0, "another netns could reach the abstract name");
	ipk_close(l);
}

/* UDS-06: "unix:@" alone listens on a fresh random name, told by ipk_name. */
Test(uds06, random_abstract_name_by_default)
{
	ipk_chan *a, *b, *d, *c;
	char na[128], nb[128];
	cr_assert_eq(ipk_listen("unix:@", &a), 0);
	cr_assert_eq(ipk_listen("unix:@", &b), 0);
	cr_assert_eq(ipk_name(a, na, sizeof(na)), 0);
	cr_assert_eq(ipk_name(b, nb, sizeof(nb)), 0);
	cr_expect_eq(strncmp(na, "unix:@ipckit-", 13), 0, "%s", na);
	cr_expect_eq(strlen(na), strlen("unix:@ipckit-") + 32, "%s", na);
	cr_expect_str_neq(na, nb);
	cr_assert_eq(ipk_dial(na, &d), 0, "%s", na);
	cr_assert_eq(ipk_accept(a, &c, WAIT), 0);
	char buf[8];
	cr_expect_eq(ipk_send(d, "hi", 2, WAIT), 0);
	cr_expect_eq(ipk_recv(c, buf, sizeof(buf), WAIT), 2);
	ipk_chan *none;
	cr_expect_eq(ipk_dial("unix:@?timeout=0", &none), -EINVAL,
	             "a dialer needs a name");
	char tiny[8];
	cr_expect_eq(ipk_name(a, tiny, sizeof(tiny)), -ENAMETOOLONG);
	ipk_close(c);
	ipk_close(d);
	ipk_close(a);
	ipk_close(b);
}

/* A 0-byte message into a NULL buffer of cap 0, on a pair and a connection. */
static void
zero_into_null(ipk_chan *rx, ipk_chan *tx)
{
	cr_assert_eq(ipk_send(tx, "", 0, WAIT), 0);
	cr_assert_eq(ipk_send(tx, "x", 1, WAIT), 0);
	cr_assert_eq(ipk_send(tx, NULL, 0, WAIT), 0);
	cr_expect_eq(ipk_recv(rx, NULL, 0, WAIT), 0);
	cr_expect_eq(ipk_recv(rx, NULL, 0, WAIT), -EMSGSIZE, "1 byte, cap 0");
	char buf[4];
	cr_expect_eq(ipk_recv(rx, buf, sizeof(buf), WAIT), 1);
	cr_expect_eq(ipk_recv(rx, NULL, 0, WAIT), 0, "sent from NULL");
	int fds[2];
	struct ipk_msg m = {.fds = fds, .nfds = 2};
	cr_assert_eq(ipk_send(tx, "", 0, WAIT), 0);
	cr_expect_eq(ipk_recvmsg(rx, &m, WAIT), 0);
	cr_expect_eq(m.nfds, 0);
}

Test(unix, zero_length_into_null_buffer)
{
	ipk_chan *a, *b;
	cr_assert_eq(ipk_pair("unix:", &a, &b), 0);
	zero_into_null(a, b);
	ipk_close(a);
	ipk_close(b);
	const char *u = mkurl("unix", th_path("zero"), "");
	ipk_chan *l, *d, *c;
	cr_assert_eq(ipk_listen(u, &l), 0);
	cr_assert_eq(ipk_dial(u, &d), 0);
	cr_assert_eq(ipk_accept(l, &c, WAIT), 0);
	zero_into_null(c, d);
	zero_into_null(d, c);
	ipk_close(c);
	ipk_close(d);
	ipk_close(l);
}

/* --- ?mode= on the socket file is exact whatever the umask --- */

static mode_t
sock_mode(const char *scheme, const char *query, mode_t mask)
{
	const char *p = th_path("mode");
	char u[300];
	snprintf(u, sizeof(u), "%s:%s%s", scheme, p, query);
	mode_t old = umask(mask);
	ipk_chan *l = NULL;
	int rc = ipk_listen(u, &l);
	umask(old);
	cr_assert_eq(rc, 0, "%s: %s", u, ipk_strerror(rc));
	struct stat st;
	cr_assert_eq(lstat(p, &st), 0, "%s: %s", p, strerror(errno));
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(umask(old), old, "the library changed the umask");
	ipk_close(l);
	return st.st_mode & 07777;
}

static void
mode_exact(const char *scheme)
{
	static const mode_t masks[] = {022, 077, 0};
	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		mode_t m = sock_mode(scheme, "?mode=0660", masks[i]);
		cr_expect_eq(m, 0660, "%s ?mode=0660 umask %03o: %04o", scheme,
		             masks[i], m);
		m = sock_mode(scheme, "", masks[i]);
		cr_expect_eq(m, 0600, "%s default, umask %03o: %04o", scheme,
		             masks[i], m);
		m = sock_mode(scheme, "?mode=0640", masks[i]);
		cr_expect_eq(m, 0640, "%s ?mode=0640 umask %03o: %04o", scheme,
		             masks[i], m);
	}
}

Test(uds03, mode_option_exact_whatever_the_umask_unix)
{
	mode_exact("unix");
}

Test(uds03, mode_option_exact_whatever_the_umask_unixpacket)
{
	mode_exact("unixpacket");
}

Test(uds03, mode_option_exact_whatever_the_umask_unixgram)
{
	mode_exact("unixgram");
}

/*
 * A datagram longer than ?max= (from a plain socket: ipckit's senders
 * refuse it) and the buffer is discarded whole, reported once with its
 * length and counted in ipk_stats().discarded; the next one is whole.
 * One shorter than ?max= but longer than the buffer stays.
 */
Test(uds05, datagram_above_max_is_discarded_and_counted)
{
	const char *u = mkurl("unixgram", th_path("over"), "?max=100");
	ipk_chan *l;
	cr_assert_eq(ipk_listen(u, &l), 0);
	char name[128];
	cr_assert_eq(ipk_name(l, name, sizeof(name)), 0);
	int fd = raw_connect(name);
	cr_assert_geq(fd, 0, "%s: %s", name, strerror(-fd));
	char big[200], buf[50];
	th_fill(big, sizeof(big), 7);
	cr_assert_eq(send(fd, big, 200, 0), 200);
	cr_assert_eq(send(fd, big, 80, 0), 80);
	struct ipk_msg m = {.buf = buf, .len = sizeof(buf)};
	cr_expect_eq(ipk_recvmsg(l, &m, WAIT), -EMSGSIZE);
	cr_expect_eq(m.len, 200);
	struct ipk_stats st;
	cr_assert_eq(ipk_stats(l, &st), 0);
	cr_expect_eq(st.discarded, 200);
	m = (struct ipk_msg){.buf = buf, .len = sizeof(buf)};
	cr_expect_eq(ipk_recvmsg(l, &m, WAIT), -EMSGSIZE, "80 > 50: stays");
	cr_expect_eq(m.len, 80);
	char whole[100];
	cr_expect_eq(ipk_recv(l, whole, sizeof(whole), WAIT), 80);
	cr_expect(th_check(whole, 80, 7), "the held message changed");
	close(fd);
	ipk_close(l);
}

/*
 * ipk_send_batch with no messages is a flush: a big message that a
 * deadline left part-written (ipk_send said 0: it counts as sent) is
 * finished by it, -EAGAIN while nobody reads, 0 once it is all out.
 */
#define FLUSH_BIG (8u << 20)

static int
flush_reader(void *arg)
{
	ipk_chan *r = arg;
	char *buf = malloc(FLUSH_BIG);
	ssize_t n = buf ? ipk_recv(r, buf, FLUSH_BIG, WAIT) : -ENOMEM;
	int ok = n == (ssize_t)FLUSH_BIG && th_check(buf, FLUSH_BIG, 3);
	free(buf);
	return ok ? 0 : 1;
}

Test(uds05, send_batch_of_nothing_flushes)
{
	ipk_chan *r, *w;
	cr_assert_eq(ipk_pair("unix:", &r, &w), 0);
	char *big = malloc(FLUSH_BIG);
	cr_assert_not_null(big);
	th_fill(big, FLUSH_BIG, 3);
	cr_assert_eq(ipk_send(w, big, FLUSH_BIG, 50), 0, "part of it went");
	free(big); /* the channel keeps the tail */
	cr_expect_eq(ipk_send_batch(w, NULL, 0, 0), -EAGAIN, "nobody reads");
	pid_t pid = th_spawn(flush_reader, r);
	cr_expect_eq(ipk_send_batch(w, NULL, 0, WAIT), 0);
	cr_expect_eq(th_wait(pid, WAIT), 0, "the message arrived whole");
	ipk_close(w);
	ipk_close(r);
}
