/*
 * shm_test.c - shm:/name against RELIABILITY.md SHM-01, 02, 04-08 as
 * they apply to a lock-free single-producer / single-consumer ring: a
 * dead peer is -EPIPE, a new dialer starts clean, a hostile or cut-down
 * segment never leads to an access out of bounds.  The MPSC and
 * robust-mutex parts of SHM-01/03/08 do not apply: the ring has one
 * producer per direction and no lock.  Peers are forked processes.
 */
#include "helpers.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAIT 10000

struct peer {
	char url[256];
	char name[128];
	int sync[2]; /* child -> parent */
	int n;
};

static void
peer_init(struct peer *p, const char *tag, const char *query)
{
	static int seq;
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "/ipk-test-%d-%d-%s", getpid(),
	         seq++, tag);
	snprintf(p->url, sizeof(p->url), "shm:%s%s", p->name, query);
	char dev[160];
	snprintf(dev, sizeof(dev), "/dev/shm%s", p->name);
	th_defer_remove(dev);
	cr_assert_eq(pipe(p->sync), 0);
}

static bool
shm_exists(const struct peer *p)
{
	char dev[160];
	snprintf(dev, sizeof(dev), "/dev/shm%s", p->name);
	return access(dev, F_OK) == 0;
}

static int
child_listen_and_wait(void *arg)
{
	struct peer *p = arg;
	ipk_chan *l;
	if (ipk_listen(p->url, &l) < 0)
		return 1;
	th_put(p->sync[1], 'r');
	for (;;)
		pause();
}

static pid_t
spawn_listener(struct peer *p)
{
	pid_t pid = th_spawn(child_listen_and_wait, p);
	th_defer_kill(pid);
	cr_assert_eq(th_get(p->sync[0], WAIT), 'r', "listener did not start");
	return pid;
}

/* SHM-02 (dialer side): a listener killed while we wait is -EPIPE. */
Test(shm, listener_killed_while_dialer_waits, .fini = th_cleanup)
{
	struct peer p;
	peer_init(&p, "lkill", "");
	pid_t pid = spawn_listener(&p);
	ipk_chan *d;
	cr_assert_eq(ipk_dial(p.url, &d), 0);
	kill(pid, SIGKILL);
	th_wait(pid, WAIT);
	long long t0 = th_now_ms();
	char buf[16];
	cr_expect_eq(ipk_recv(d, buf, sizeof(buf), -1), -EPIPE);
	cr_expect_lt(th_now_ms() - t0, 1000 * th_mult());
	ipk_close(d);
	/* The dead listener's segment is taken over by the next one. */
	ipk_chan *l;
	cr_expect(shm_exists(&p), "kill -9 leaves the segment");
	cr_expect_eq(ipk_listen(p.url, &l), 0);
	ipk_close(l);
	cr_expect(!shm_exists(&p), "the listener left its segment");
}

/* SHM-02 (producer side): the consumer dies while we wait for room. */
Test(shm, consumer_killed_while_producer_blocked, .fini = th_cleanup)
{
	struct peer p;
	peer_init(&p, "ckill", "?size=4096");
	pid_t pid = spawn_listener(&p);
	ipk_chan *d;
	cr_assert_eq(ipk_dial(p.url, &d), 0);
	char buf[1000] = {0};
	int rc, sent = 0;
	while ((rc = ipk_send(d, buf, sizeof(buf), 0)) == 0)
		sent++;
	cr_expect_eq(rc, -EAGAIN, "full ring: %s", ipk_strerror(rc));
	cr_expect_gt(sent, 0);
	kill(pid, SIGKILL);
	long long t0 = th_now_ms();
	cr_expect_eq(ipk_send(d, buf, sizeof(buf), -1), -EPIPE);
	cr_expect_lt(th_now_ms() - t0, 1000 * th_mult());
	th_wait(pid, WAIT);
	ipk_close(d);
}

static int
child_send_then_linger(void *arg)
{
	struct peer *p = arg;
	ipk_chan *d;
	if (ipk_dial(p->url, &d) < 0)
		return 1;
	for (int i = 0; i < p->n; i++)
		if (ipk_send(d, &i, sizeof(i), WAIT) < 0)
			return 2;
	th_put(p->sync[1], 's');
	for (;;)
		pause();
}

/*
 * A dialer that dies: the listener receives all it committed, then waits
 * for the next dialer (no -EPIPE); what the listener had sent toward the
 * dead one is dropped and counted, and the next dialer starts clean.
 */
Test(shm, dialer_dies_listener_serves_the_next, .fini = th_cleanup)
{
	struct peer p;
	peer_init(&p, "next", "");
	p.n = 3;
	ipk_chan *l;
	cr_assert_eq(ipk_listen(p.url, &l), 0);
	char buf[16];
	cr_expect_eq(ipk_send(l, "x", 1, 0), -EPIPE, "nobody attached yet");
	pid_t pid = th_spawn(child_send_then_linger, &p);
	th_defer_kill(pid);
	cr_assert_eq(th_get(p.sync[0], WAIT), 's');
	cr_expect_eq(ipk_send(l, "lost1", 5, WAIT), 0);
	cr_expect_eq(ipk_send(l, "lost2", 5, WAIT), 0);
	kill(pid, SIGKILL);
	th_wait(pid, WAIT);
	for (int i = 0; i < 3; i++) {
		int v = -1;
		cr_expect_eq(ipk_recv(l, &v, sizeof(v), WAIT), 4);
		cr_expect_eq(v, i);
	}
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), 200), -ETIMEDOUT);
	ipk_chan *d;
	cr_assert_eq(ipk_dial(p.url, &d), 0);
	cr_expect_eq(ipk_drops(l), 2, "the dead dialer's messages counted");
	cr_expect_eq(ipk_recv(d, buf, sizeof(buf), 0), -EAGAIN, "clean ring");
	cr_expect_eq(ipk_send(l, "new", 3, WAIT), 0);
	cr_expect_eq(ipk_recv(d, buf, sizeof(buf), WAIT), 3);
	cr_expect_eq(ipk_send(d, "hi", 2, WAIT), 0);
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), WAIT), 2);
	ipk_close(d);
	ipk_close(l);
}

Test(shm, second_live_dialer_is_busy, .fini = th_cleanup)
{
	struct peer p;
	peer_init(&p, "busy", "");
	p.n = 0;
	ipk_chan *l, *d;
	cr_assert_eq(ipk_listen(p.url, &l), 0);
	pid_t pid = th_spawn(child_send_then_linger, &p);
	th_defer_kill(pid);
	cr_assert_eq(th_get(p.sync[0], WAIT), 's');
	cr_expect_eq(ipk_dial(p.url, &d), -EBUSY);
	kill(pid, SIGKILL);
	th_wait(pid, WAIT);
	cr_expect_eq(ipk_dial(p.url, &d), 0, "free again once it died");
	ipk_close(d);
	ipk_close(l);
}

/* A message of seq s: its length and bytes follow from s. */
static size_t
msg_len(uint32_t s)
{
	return 4 + (s * 2654435761u >> 20) % 3000;
}

static void
msg_make(unsigned char *b, uint32_t s)
{
	memcpy(b, &s, 4);
	th_fill(b + 4, msg_len(s) - 4, s);
}

static int
child_send_forever(void *arg)
{
	struct peer *p = arg;
	ipk_chan *d;
	if (ipk_dial(p->url, &d) < 0)
		return 1;
	th_put(p->sync[1], 'd');
	unsigned char b[4096];
	for (uint32_t s = 0;; s++) {
		msg_make(b, s);
		if (ipk_send(d, b, msg_len(s), WAIT) < 0)
			return 2;
	}
}

/* Receive what a killed producer committed: whole, in order, from 0. */
static int
drain_checked(ipk_chan *l, unsigned char *b, size_t cap)
{
	uint32_t want = 0;
	ssize_t n;
	while ((n = ipk_recv(l, b, cap, 0)) >= 0) {
		uint32_t s;
		memcpy(&s, b, 4);
		if (s != want || (size_t)n != msg_len(s) ||
		    !th_check(b + 4, (size_t)n - 4, s))
			return -1;
		want++;
	}
	return n == -EAGAIN ? (int)want : -2;
}

/* SHM-01: a producer killed at random instants never tears a message. */
Test(shm, producer_killed_at_random_points, .fini = th_cleanup, .timeout = 120)
{
	struct peer p;
	peer_init(&p, "kill9", "?size=65536");
	ipk_chan *l;
	cr_assert_eq(ipk_listen(p.url, &l), 0);
	unsigned char *b = malloc(65536);
	int rounds = th_asan() ? 200 : 1000;
	srand(42);
	for (int i = 0; i < rounds; i++) {
		pid_t pid = th_spawn(child_send_forever, &p);
		cr_assert_eq(th_get(p.sync[0], WAIT), 'd', "round %d", i);
		usleep((useconds_t)(rand() % 2000));
		kill(pid, SIGKILL);
		th_wait(pid, WAIT);
		int got = drain_checked(l, b, 65536);
		cr_assert_geq(got, 0, "round %d: torn or out of order (%d)", i,
		              got);
	}
	free(b);
	ipk_close(l);
}

static int
child_corrupt(void *arg)
{
	struct peer *p = arg;
	int fd = shm_open(p->name, O_RDWR, 0);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return 1;
	unsigned char *m = mmap(NULL, (size_t)st.st_size,
	                        PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return 2;
	th_put(p->sync[1], 'c');
	for (unsigned i = 1;; i++) {
		size_t at = (i * 2654435761u) % (size_t)st.st_size;
		uint64_t v = (uint64_t)i * 0x9e3779b97f4a7c15ull;
		memcpy(m + (at & ~(size_t)7), &v, sizeof(v));
		if (i % 64 == 0)
			sched_yield();
	}
}

/* SHM-04: a hostile process scribbles over the whole segment. */
Test(shm, hostile_writer_never_breaks_bounds, .fini = th_cleanup, .timeout = 60)
{
	struct peer p;
	peer_init(&p, "hostile", "?size=16384");
	ipk_chan *l;
	cr_assert_eq(ipk_listen(p.url, &l), 0);
	pid_t w = th_spawn(child_send_forever, &p);
	th_defer_kill(w);
	cr_assert_eq(th_get(p.sync[0], WAIT), 'd');
	pid_t h = th_spawn(child_corrupt, &p);
	th_defer_kill(h);
	cr_assert_eq(th_get(p.sync[0], WAIT), 'c');
	unsigned char *b = malloc(65536);
	long long end = th_now_ms() + 1000;
	int bad = 0;
	while (th_now_ms() < end) {
		ssize_t n = ipk_recv(l, b, 65536, 10);
		if (n >= 0 || n == -ETIMEDOUT || n == -EMSGSIZE)
			continue;
		cr_expect(n == -EBADMSG, "got %s", ipk_strerror((int)n));
		bad++;
		break;
	}
	kill(h, SIGKILL);
	kill(w, SIGKILL);
	th_wait(h, WAIT);
	th_wait(w, WAIT);
	free(b);
	ipk_close(l);
	cr_log_info("corruption seen as -EBADMSG: %d", bad);
}

/* SHM-05: a segment cut short (or not ours in shape) is refused. */
Test(shm, truncated_or_foreign_segment_refused, .fini = th_cleanup)
{
	struct peer p;
	peer_init(&p, "trunc", "?timeout=300");
	ipk_chan *l, *d;
	cr_assert_eq(ipk_listen(p.url, &l), 0);
	int fd = shm_open(p.name, O_RDWR, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 8192), 0);
	cr_expect_eq(ipk_dial(p.url, &d), -EPROTO);
	unsigned char junk[64];
	memset(junk, 0x5a, sizeof(junk));
	cr_assert_eq(pwrite(fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	cr_expect_eq(ipk_dial(p.url, &d), -EPROTO);
	close(fd);
	ipk_close(l);
}

/* SHM-06: squatters and intruders. */
Test(shm, squatters_and_intruders, .fini = th_cleanup)
{
	struct peer p;
	peer_init(&p, "squat", "?timeout=200");
	char dev[160], cmd[400];
	snprintf(dev, sizeof(dev), "/dev/shm%s", p.name);
	cr_assert_eq(symlink("/tmp/ipk-test-squat-target", dev), 0);
	ipk_chan *l, *d;
	cr_expect_eq(ipk_listen(p.url, &l), -EEXIST, "a symlink is not ours");
	cr_expect_neq(access("/tmp/ipk-test-squat-target", F_OK), 0);
	unlink(dev);
	snprintf(cmd, sizeof(cmd), "touch %s && chmod 0666 %s", dev, dev);
	cr_assert_eq(th_run_as_nobody(cmd), 0);
	cr_expect_eq(ipk_listen(p.url, &l), -EPERM, "foreign segment");
	cr_expect_eq(ipk_dial(p.url, &d), -EPERM);
	unlink(dev);
	mode_t old = umask(0);
	cr_assert_eq(ipk_listen(p.url, &l), 0);
	umask(old);
	struct stat st;
	cr_assert_eq(stat(dev, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
	snprintf(cmd, sizeof(cmd), "cat %s >/dev/null 2>&1", dev);
	cr_expect_neq(th_run_as_nobody(cmd), 0, "nobody read the segment");
	ipk_close(l);
}

static int
child_sequence(void *arg)
{
	struct peer *p = arg;
	ipk_chan *d;
	if (ipk_dial(p->url, &d) < 0)
		return 1;
	srand(7);
	for (uint32_t s = 0; s < (uint32_t)p->n; s++) {
		if (rand() % 4096 == 0)
			sched_yield();
		if (ipk_send(d, &s, sizeof(s), WAIT) < 0)
			return 2;
	}
	ipk_close(d);
	return 0;
}

/* SHM-08: many sequence-numbered messages, random yields on both sides. */
Test(shm, sequence_without_gaps, .fini = th_cleanup, .timeout = 120)
{
	struct peer p;
	peer_init(&p, "seq", "?size=65536");
	p.n = th_asan() ? 1000000 : 10000000;
	ipk_chan *l;
	cr_assert_eq(ipk_listen(p.url, &l), 0);
	pid_t pid = th_spawn(child_sequence, &p);
	th_defer_kill(pid);
	srand(11);
	for (uint32_t s = 0; s < (uint32_t)p.n; s++) {
		uint32_t v;
		if (rand() % 4096 == 0)
			sched_yield();
		ssize_t n = ipk_recv(l, &v, sizeof(v), WAIT);
		cr_assert_eq(n, 4, "at %u: %s", s, ipk_strerror((int)n));
		cr_assert_eq(v, s, "gap or reorder at %u (got %u)", s, v);
	}
	cr_expect_eq(th_wait(pid, WAIT), 0);
	ipk_close(l);
}

/* ---- sysvshm: ------------------------------------------------------ */

static key_t keys[16];
static int nkeys;

/* A key of this test process; sysv_fini removes what is left at it. */
static key_t
fresh_key(void)
{
	key_t k = (key_t)(0x1d000000 + (getpid() & 0xfffff) * 16 + nkeys);
	keys[nkeys++ % 16] = k;
	return k;
}

/* Even when an assertion failed before the listener's close. */
static void
sysv_fini(void)
{
	for (int i = 0; i < nkeys && i < 16; i++) {
		int shm = shmget(keys[i], 0, 0), sem = semget(keys[i], 0, 0);
		if (shm >= 0)
			shmctl(shm, IPC_RMID, NULL);
		if (sem >= 0)
			semctl(sem, 0, IPC_RMID);
	}
	th_cleanup();
}

static bool
ipcs_has(const char *what, key_t key, const char *perms)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd),
	         "ipcs %s | awk '$1 == \"0x%08x\" && $4 == \"%s\"' | grep -q .",
	         what, (unsigned)key, perms);
	return th_sh("%s", cmd) == 0;
}

/* The notes' objects, as ipcs shows them: 0600, ours, gone on close. */
Test(sysvshm, ipcs_sees_private_objects_then_none, .fini = sysv_fini)
{
	key_t key = fresh_key();
	char url[64];
	snprintf(url, sizeof(url), "sysvshm:0x%x", (unsigned)key);
	mode_t old = umask(0);
	ipk_chan *l;
	cr_assert_eq(ipk_listen(url, &l), 0);
	umask(old);
	cr_expect(ipcs_has("-m", key, "600"), "segment not 0600 in ipcs -m");
	cr_expect(ipcs_has("-s", key, "600"), "set not 0600 in ipcs -s");
	ipk_close(l);
	cr_expect(!ipcs_has("-m", key, "600"), "segment left");
	cr_expect(!ipcs_has("-s", key, "600"), "set left");
}

Test(sysvshm, listener_killed_dialer_gets_epipe, .fini = sysv_fini)
{
	struct peer p;
	memset(&p, 0, sizeof(p));
	key_t key = fresh_key();
	snprintf(p.url, sizeof(p.url), "sysvshm:0x%x", (unsigned)key);
	cr_assert_eq(pipe(p.sync), 0);
	pid_t pid = spawn_listener(&p);
	ipk_chan *d, *l;
	cr_assert_eq(ipk_dial(p.url, &d), 0);
	cr_expect_eq(ipk_dial(p.url, &l), -EBUSY, "a second dialer");
	kill(pid, SIGKILL);
	th_wait(pid, WAIT);
	long long t0 = th_now_ms();
	char buf[8];
	cr_expect_eq(ipk_recv(d, buf, sizeof(buf), -1), -EPIPE);
	cr_expect_lt(th_now_ms() - t0, 1000 * th_mult());
	ipk_close(d);
	cr_expect_eq(ipk_listen(p.url, &l), 0, "stale objects taken over");
	ipk_close(l);
	cr_expect(!ipcs_has("-m", key, "600") && !ipcs_has("-s", key, "600"));
}

/* ipcmk's objects are not ours in mode: refused, and left alone. */
Test(sysvshm, ipcmk_segment_refused, .fini = th_cleanup)
{
	FILE *f = popen("ipcmk -M 4096 -p 0666", "r");
	cr_assert(f);
	int id = -1;
	cr_assert_eq(fscanf(f, "Shared memory id: %d", &id), 1);
	pclose(f);
	struct shmid_ds sd;
	cr_assert_eq(shmctl(id, IPC_STAT, &sd), 0);
	char url[80];
	snprintf(url, sizeof(url), "sysvshm:0x%x?timeout=200",
	         (unsigned)sd.shm_perm.__key);
	ipk_chan *c;
	cr_expect_eq(ipk_listen(url, &c), -EPERM, "0666 segment taken");
	cr_expect_eq(ipk_dial(url, &c), -EPERM, "0666 segment used");
	cr_expect_eq(shmctl(id, IPC_STAT, &sd), 0, "ipcmk's segment removed");
	shmctl(id, IPC_RMID, NULL);
}

/* ipk_fd: readable exactly while a message waits, beside other fds. */
static void
check_pollfd(const char *url)
{
	ipk_chan *l, *d;
	cr_assert_eq(ipk_listen(url, &l), 0, "%s", url);
	cr_assert_eq(ipk_dial(url, &d), 0, "%s", url);
	int fd = ipk_fd(l);
	cr_assert_geq(fd, 0, "%s: %s", url, ipk_strerror(fd));
	cr_expect_eq(ipk_fd(l), fd, "the same descriptor each time");
	struct pollfd p = {.fd = fd, .events = POLLIN};
	cr_expect_eq(poll(&p, 1, 0), 0, "%s: readable while empty", url);
	cr_assert_eq(ipk_send(d, "one", 3, WAIT), 0);
	cr_assert_eq(ipk_send(d, "two", 3, WAIT), 0);
	cr_expect_eq(poll(&p, 1, WAIT), 1, "%s: not readable", url);
	char buf[8];
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), 0), 3);
	cr_expect_eq(poll(&p, 1, 0), 1, "%s: one still waits", url);
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), 0), 3);
	cr_expect_eq(poll(&p, 1, 0), 0, "%s: readable once drained", url);
	/* The dialer's side too, asked for after its message came. */
	cr_assert_eq(ipk_send(l, "back", 4, WAIT), 0);
	struct pollfd q = {.fd = ipk_fd(d), .events = POLLIN};
	cr_expect_eq(poll(&q, 1, 0), 1, "%s: dialer's not readable", url);
	cr_expect_eq(ipk_recv(d, buf, sizeof(buf), 0), 4);
	cr_expect_eq(poll(&q, 1, 0), 0);
	ipk_close(d);
	ipk_close(l);
}

Test(shm, pollfd_readable_while_a_message_waits, .fini = sysv_fini)
{
	char url[96];
	snprintf(url, sizeof(url), "shm:/ipk-test-%d-bell", getpid());
	check_pollfd(url);
	char bell[128];
	snprintf(bell, sizeof(bell), "/dev/shm/ipk-test-%d-bell.bell.1",
	         getpid());
	cr_expect_neq(access(bell, F_OK), 0, "doorbell FIFO left");
	snprintf(url, sizeof(url), "sysvshm:0x%x?wait=sleep",
	         (unsigned)fresh_key());
	check_pollfd(url);
}

/* A private pair: the child dials the ids that ipk_name says. */
static int
private_child(void *arg)
{
	const char *name = arg;
	ipk_chan *d;
	if (ipk_dial(name, &d) != 0)
		return 10;
	char buf[16];
	int rc = ipk_send(d, "ping", 4, WAIT) == 0 &&
	                         ipk_recv(d, buf, sizeof(buf), WAIT) == 4 &&
	                         memcmp(buf, "pong", 4) == 0
	                 ? 0
	                 : 11;
	ipk_close(d);
	return rc;
}

Test(sysvshm, ipc_private_dialled_by_ids, .fini = th_cleanup)
{
	ipk_chan *l, *c;
	cr_assert_eq(ipk_listen("sysvshm:IPC_PRIVATE", &l), 0);
	char name[128];
	cr_assert_eq(ipk_name(l, name, sizeof(name)), 0);
	int shmid = -1, semid = -1;
	cr_assert_eq(sscanf(name, "sysvshm:IPC_PRIVATE?shmid=%d&semid=%d",
	                    &shmid, &semid),
	             2, "ipk_name gave %s", name);
	struct shmid_ds sd;
	cr_assert_eq(shmctl(shmid, IPC_STAT, &sd), 0);
	cr_expect_eq(sd.shm_perm.__key, IPC_PRIVATE);
	cr_expect_eq(sd.shm_perm.mode & 0777, 0600);
	pid_t pid = th_spawn(private_child, name);
	char buf[16];
	cr_expect_eq(ipk_recv(l, buf, sizeof(buf), WAIT), 4);
	cr_expect_eq(ipk_send(l, "pong", 4, WAIT), 0);
	cr_expect_eq(th_wait(pid, WAIT), 0);
	cr_expect_eq(ipk_dial("sysvshm:IPC_PRIVATE", &c), -EINVAL,
	             "a private pair cannot be found by key");
	cr_expect_eq(ipk_listen("sysvshm:IPC_PRIVATE?shmid=1&semid=1", &c),
	             -EINVAL);
	cr_expect_eq(ipk_dial("sysvshm:0x1234?shmid=1&semid=1", &c), -EINVAL);
	char only[96];
	snprintf(only, sizeof(only), "sysvshm:IPC_PRIVATE?shmid=%d", shmid);
	cr_expect_eq(ipk_dial(only, &c), -EINVAL, "both ids or none");
	ipk_close(l);
	cr_expect_neq(shmctl(shmid, IPC_STAT, &sd), 0, "segment left");
	cr_expect_lt(semctl(semid, 0, GETVAL), 0, "set left");
}

/* ipcmk's private objects (key 0, mode 0644) are not dialled. */
Test(sysvshm, ipcmk_private_ids_refused, .fini = th_cleanup)
{
	int shm = -1, sem = -1;
	FILE *f = popen("ipcmk -M 65536", "r");
	cr_assert(f);
	cr_assert_eq(fscanf(f, "Shared memory id: %d", &shm), 1);
	pclose(f);
	f = popen("ipcmk -S 6", "r");
	cr_assert(f);
	int got = fscanf(f, "Semaphore id: %d", &sem);
	pclose(f);
	char url[128];
	snprintf(url, sizeof(url),
	         "sysvshm:IPC_PRIVATE?shmid=%d&semid=%d&timeout=200", shm, sem);
	ipk_chan *c;
	if (got == 1)
		cr_expect_eq(ipk_dial(url, &c), -EPERM, "ipcmk's pair used");
	struct shmid_ds sd;
	cr_expect_eq(shmctl(shm, IPC_STAT, &sd), 0, "ipcmk's segment gone");
	shmctl(shm, IPC_RMID, NULL);
	if (sem >= 0)
		semctl(sem, 0, IPC_RMID);
	cr_assert_eq(got, 1);
}

/*
 * Copies of big messages at every relative offset of buffer and ring
 * (seg.c copies by 16-byte moves where memcpy is slow): each arrives
 * byte for byte.
 */
Test(shm, big_copies_at_every_offset, .fini = th_cleanup)
{
	struct peer p;
	peer_init(&p, "offsets", "?size=1048576");
	ipk_chan *l, *d;
	cr_assert_eq(ipk_listen(p.url, &l), 0);
	cr_assert_eq(ipk_dial(p.url, &d), 0);
	enum { LEN = 5000 + 64 };
	char *out = malloc(LEN + 128), *in = malloc(LEN + 128);
	cr_assert(out && in);
	for (unsigned k = 0; k < 3 * 128; k++) {
		size_t len = LEN - k % 61;
		char *src = out + k % 128, *dst = in + (k * 7) % 128;
		th_fill(src, len, k);
		cr_assert_eq(ipk_send(d, src, len, WAIT), 0);
		cr_assert_eq(ipk_recv(l, dst, len, WAIT), (ssize_t)len);
		cr_assert(th_check(dst, len, k), "message %u changed", k);
	}
	free(out);
	free(in);
	ipk_close(d);
	ipk_close(l);
}
