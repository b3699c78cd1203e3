/*
 * semlife_test.c - semaphores whose holders die, sets removed or still
 * being made: RELIABILITY.md SEM-01 (SEM_UNDO gives back), SEM-02 (the
 * sem_otime race), SEM-03 (?lock: -EOWNERDEAD); EIDRM under a waiter;
 * interop with Python's sysv_ipc and with ipcmk.  Peers are forked.
 */
#include "sem_helpers.h"

TestSuite(semlife, .init = setup, .fini = teardown, .timeout = 60);

/* The holder: open url, P, tell the parent, then wait to be killed. */
static int
holder(void *arg)
{
	int *fds = arg;
	ipk_sem *s;
	int rc = ipk_sem_open((const char *)(fds + 2), &s);
	if (rc == 0)
		rc = ipk_sem_wait(s, 5000);
	th_put(fds[1], rc == 0 ? 'y' : 'n');
	pause();
	return 0;
}

/* A child holding url; returns its pid once it holds it. */
static pid_t
hold(const char *url)
{
	static int buf[2 + 160];
	cr_assert_eq(pipe(buf), 0);
	snprintf((char *)(buf + 2), sizeof(buf) - 2 * sizeof(int), "%s", url);
	pid_t pid = th_spawn(holder, buf);
	th_defer_kill(pid);
	cr_assert_eq(th_get(buf[0], 5000), 'y', "child took %s", url);
	close(buf[0]);
	close(buf[1]);
	return pid;
}

static void
kill9(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* SEM-01: a SysV lock taken with SEM_UNDO comes back when its holder dies. */
Test(semlife, sem01_undo_gives_back)
{
	ipk_sem *s;
	cr_assert_eq(ipk_sem_create(surl(0, "?undo"), 1, &s), 0);
	pid_t pid = hold(surl(0, "?undo"));
	cr_expect_eq(ipk_sem_value(s), 0);
	kill9(pid);
	cr_expect_eq(ipk_sem_value(s), 1, "the kernel undid the P");
	long long t0 = th_now_ms();
	cr_expect_eq(ipk_sem_wait(s, 100), 0);
	cr_expect_lt(th_now_ms() - t0, 100 * th_mult(),
	             "SEM-01: within 100 ms");
	ipk_sem_close(s);
}

/* Without ?undo (signalling) and on POSIX, a dead holder's P stays. */
Test(semlife, no_undo_value_stays_taken)
{
	const char *urls[] = {surl(0, ""), purl(0, "")};
	for (int i = 0; i < 2; i++) {
		ipk_sem *s;
		cr_assert_eq(ipk_sem_create(urls[i], 1, &s), 0);
		kill9(hold(urls[i]));
		cr_expect_eq(ipk_sem_value(s), 0, "%s", urls[i]);
		cr_expect_eq(ipk_sem_wait(s, 100), -ETIMEDOUT, "%s", urls[i]);
		ipk_sem_close(s);
	}
}

/* SEM-03: ?lock - the next waiter learns of the death and inherits. */
Test(semlife, sem03_lock_owner_dead)
{
	ipk_sem *c, *h, *h2;
	cr_assert_eq(ipk_sem_create(purl(0, "?lock"), 1, &c), 0);
	cr_assert_eq(ipk_sem_open(purl(0, "?lock"), &h), 0);
	cr_assert_eq(ipk_sem_open(purl(0, "?lock"), &h2), 0);
	pid_t pid = hold(purl(0, "?lock"));
	cr_expect_eq(ipk_sem_wait(h, 200), -ETIMEDOUT, "a live holder");
	cr_expect_eq(ipk_sem_post(h), -EPERM, "only the holder gives back");
	kill9(pid);
	long long t0 = th_now_ms();
	cr_expect_eq(ipk_sem_wait(h, 5000), -EOWNERDEAD);
	cr_expect_lt(th_now_ms() - t0, 300 * th_mult(),
	             "found within a few slices");
	cr_expect_eq(ipk_sem_wait(h, 0), -EDEADLK, "h holds it now");
	cr_expect_eq(ipk_sem_trywait(h2), -EAGAIN, "and nobody else");
	cr_expect_eq(ipk_sem_post(h), 0, "recovered: given back");
	cr_expect_eq(ipk_sem_value(h), 1);
	cr_expect_eq(ipk_sem_wait(h2, 1000), 0, "a plain take after");
	cr_expect_eq(ipk_sem_post(h2), 0);
	ipk_sem_close(h);
	ipk_sem_close(h2);
	ipk_sem_close(c);
	cr_expect(posix_gone(0), "the lock file goes with it");
}

static int
lock_then_post(void *arg)
{
	ipk_sem *s;
	if (ipk_sem_open(arg, &s) < 0 || ipk_sem_wait(s, 5000) < 0)
		return 1;
	usleep(150000);
	return ipk_sem_post(s) < 0 ? 2 : 0;
}

Test(semlife, lock_handover_is_not_a_death)
{
	ipk_sem *c;
	cr_assert_eq(ipk_sem_create(purl(0, "?lock"), 1, &c), 0);
	cr_assert_eq(ipk_sem_wait(c, 0), 0);
	pid_t pid = th_spawn(lock_then_post, (void *)purl(0, "?lock"));
	usleep(50000);
	cr_expect_eq(ipk_sem_post(c), 0);
	usleep(50000);
	cr_expect_eq(ipk_sem_wait(c, 5000), 0, "given back by a live holder");
	cr_expect_eq(th_wait(pid, 5000), 0);
	cr_expect_eq(ipk_sem_post(c), 0);
	ipk_sem_close(c);
}

static int
waiter_idrm(void *arg)
{
	ipk_sem *s;
	if (ipk_sem_open(arg, &s) < 0)
		return 1;
	return ipk_sem_wait(s, -1) == -EIDRM ? 0 : 2;
}

Test(semlife, sysv_rmid_under_waiter)
{
	ipk_sem *s;
	cr_assert_eq(ipk_sem_create(surl(0, "?keep"), 0, &s), 0);
	pid_t pid = th_spawn(waiter_idrm, (void *)surl(0, ""));
	th_defer_kill(pid);
	usleep(200000);
	cr_assert_eq(th_sh("ipcrm -S %d", (int)key(0)), 0);
	cr_expect_eq(th_wait(pid, 2000), 0, "the waiter got -EIDRM");
	cr_expect_eq(ipk_sem_wait(s, 0), -EIDRM);
	ipk_sem_close(s);
}

/* What an opener saw: rc, value, and how long the open took. */
struct seen {
	int rc, value;
	long long ms;
};

static int
opener(void *arg)
{
	struct seen *r = arg;
	long long t0 = th_now_ms();
	ipk_sem *s;
	r->rc = ipk_sem_open((const char *)(r + 1), &s);
	r->ms = th_now_ms() - t0;
	r->value = r->rc == 0 ? ipk_sem_value(s) : -1;
	return 0;
}

static struct seen *
open_in_child(const char *url, pid_t *pid)
{
	struct seen *r = th_shared(sizeof(*r) + 600);
	snprintf((char *)(r + 1), 600, "%s", url);
	*pid = th_spawn(opener, r);
	th_defer_kill(*pid);
	return r;
}

/* SEM-02, one round slowed down: the creator sleeps between semget and
 * its SETVAL + first semop; the opener waits for sem_otime. */
Test(semlife, sem02_otime_race)
{
	int id = semget(key(0), 1, IPC_CREAT | IPC_EXCL | 0600);
	cr_assert_geq(id, 0);
	pid_t pid;
	struct seen *r = open_in_child(surl(0, ""), &pid);
	usleep(300000);
	cr_assert_eq(semctl(id, 0, SETVAL, 5), 0);
	struct sembuf mark[2] = {{0, 1, 0}, {0, -1, 0}};
	cr_assert_eq(semop(id, mark, 2), 0);
	cr_assert_eq(th_wait(pid, 5000), 0);
	cr_expect_eq(r->rc, 0);
	cr_expect_eq(r->value, 5, "never the value before initialisation");
	cr_expect_geq(r->ms, 250, "it waited for the creator");
}

/* A set never marked (made by a tool that skips the semop). */
Test(semlife, unmarked_set_needs_share)
{
	int id = semget(key(0), 1, IPC_CREAT | IPC_EXCL | 0600);
	cr_assert_geq(id, 0);
	cr_assert_eq(semctl(id, 0, SETVAL, 3), 0);
	ipk_sem *s;
	long long t0 = th_now_ms();
	cr_expect_eq(ipk_sem_open(surl(0, ""), &s), -ETIMEDOUT);
	cr_expect_geq(th_now_ms() - t0, 900, "bounded wait for sem_otime");
	cr_assert_eq(ipk_sem_open(surl(0, "?share"), &s), 0);
	cr_expect_eq(ipk_sem_value(s), 3);
	ipk_sem_close(s);
}

/* SEM-02: 8 processes open-or-create the same 30 sets (one race each),
 * take each, count under it; exactly one creator per set, and nobody
 * gets a set whose creator has not marked it (sem_otime still 0). */
#define RACE_SETS 30

struct race {
	int counts[RACE_SETS];
	int creators[RACE_SETS];
	int unready; /* "used before init" */
};

static int
race_one(struct race *g, int r)
{
	ipk_sem *s;
	int rc = ipk_sem_create(surl(r, "?keep&undo"), 1, &s);
	if (rc == 0)
		__atomic_fetch_add(&g->creators[r], 1, __ATOMIC_SEQ_CST);
	if (rc == -EEXIST)
		rc = ipk_sem_open(surl(r, "?undo"), &s);
	if (rc < 0)
		return 1;
	struct semid_ds ds;
	if (semctl(semget(key(r), 0, 0), 0, IPC_STAT, &ds) < 0 ||
	    ds.sem_otime == 0)
		__atomic_fetch_add(&g->unready, 1, __ATOMIC_SEQ_CST);
	if (ipk_sem_wait(s, 10000) < 0)
		return 2;
	int v = g->counts[r];
	sched_yield();
	g->counts[r] = v + 1;
	rc = ipk_sem_post(s);
	ipk_sem_close(s);
	return rc < 0 ? 3 : 0;
}

static int
racer(void *arg)
{
	for (int r = 0; r < RACE_SETS; r++) {
		int rc = race_one(arg, r);
		if (rc)
			return rc;
	}
	return 0;
}

Test(semlife, sem02_open_or_create_race)
{
	struct race *g = th_shared(sizeof(*g));
	pid_t pids[8];
	for (int i = 0; i < 8; i++)
		th_defer_kill(pids[i] = th_spawn(racer, g));
	for (int i = 0; i < 8; i++)
		cr_expect_eq(th_wait(pids[i], 30000 * th_mult()), 0, "racer %d",
		             i);
	for (int r = 0; r < RACE_SETS; r++) {
		cr_expect_eq(g->creators[r], 1, "set %d: one creator", r);
		cr_expect_eq(g->counts[r], 8, "set %d: one P at a time", r);
		cr_expect_eq(semctl(semget(key(r), 0, 0), 0, GETVAL), 1);
	}
	cr_expect_eq(g->unready, 0, "nobody used a set before its init");
}

/* Interop: Python's sysv_ipc does P/V on our set, and we on its. */
Test(semlife, interop_python_sysv_ipc)
{
	if (th_sh(PY " -c 'import sysv_ipc'") != 0)
		cr_skip_test("python3-sysv-ipc is not installed");
	ipk_sem *s;
	cr_assert_eq(ipk_sem_create(surl(0, ""), 0, &s), 0);
	cr_assert_eq(th_sh(PY " -c 'import sysv_ipc; "
	                      "sysv_ipc.Semaphore(%d).release()'",
	                   (int)key(0)),
	             0);
	cr_expect_eq(ipk_sem_wait(s, 2000), 0, "Python's V reached us");
	cr_expect_eq(ipk_sem_post(s), 0);
	cr_expect_eq(th_sh(PY " -c 'import sysv_ipc; "
	                      "sysv_ipc.Semaphore(%d).acquire(2)'",
	                   (int)key(0)),
	             0, "our V reached Python");
	ipk_sem_close(s);
	/* A set Python makes, marked as semget(2) says (V then P). */
	cr_assert_eq(th_sh(PY " -c 'import sysv_ipc; s = sysv_ipc.Semaphore("
	                      "%d, sysv_ipc.IPC_CREX, 0o600, 2); "
	                      "s.release(); s.acquire()'",
	                   (int)key(1)),
	             0);
	cr_assert_eq(ipk_sem_open(surl(1, ""), &s), 0);
	cr_expect_eq(ipk_sem_wait(s, 0), 0);
	cr_expect_eq(th_sh(PY " -c 'import sysv_ipc, sys; sys.exit("
	                      "sysv_ipc.Semaphore(%d).value)'",
	                   (int)key(1)),
	             1, "Python sees our P");
	ipk_sem_close(s);
	cr_expect_not(sysv_gone(1), "an opener never removes");
}

/* Interop: a set made by ipcmk -S (mode 0644, never marked). */
Test(semlife, interop_ipcmk)
{
	FILE *f = popen("ipcmk -S 1", "r");
	int id = -1;
	cr_assert(f);
	cr_assert_eq(fscanf(f, "Semaphore id: %d", &id), 1);
	pclose(f);
	struct semid_ds ds;
	cr_assert_eq(semctl(id, 0, IPC_STAT, &ds), 0);
	char url[64];
	snprintf(url, sizeof(url), "sysvsem:%d", (int)ds.sem_perm.__key);
	ipk_sem *s;
	cr_expect_eq(ipk_sem_open(url, &s), -EPERM, "mode 0644 is refused");
	strcat(url, "?share");
	cr_assert_eq(ipk_sem_open(url, &s), 0, "used with ?share");
	cr_expect_eq(ipk_sem_post(s), 0);
	cr_expect_eq(semctl(id, 0, GETVAL), 1);
	ipk_sem_close(s);
	cr_expect_eq(semctl(id, 0, IPC_RMID), 0, "still there for ipcrm");
}
