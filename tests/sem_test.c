/*
 * sem_test.c - "sem:/name" and "sysvsem:KEY": P/V, exclusive create,
 * modes, intruders as nobody, timeouts, EINTR storms and cancel, and
 * RELIABILITY.md SEM-04 (value and name limits, squatters).  Deaths,
 * races and interop are in semlife_test.c.
 */
#include "sem_helpers.h"

TestSuite(sem, .init = setup, .fini = teardown, .timeout = 60);

static void
basic_pv(const char *create_url, const char *open_url)
{
	ipk_sem *c, *o;
	int rc = ipk_sem_create(create_url, 2, &c);
	cr_assert_eq(rc, 0, "%s: %s", create_url, ipk_strerror(rc));
	cr_assert_eq(ipk_sem_open(open_url, &o), 0);
	cr_expect_eq(ipk_sem_value(o), 2);
	cr_expect_eq(ipk_sem_wait(o, 1000), 0);
	cr_expect_eq(ipk_sem_trywait(c), 0);
	cr_expect_eq(ipk_sem_trywait(o), -EAGAIN, "at 0 trywait fails");
	cr_expect_eq(ipk_sem_wait(o, 0), -EAGAIN);
	cr_expect_eq(ipk_sem_post(c), 0);
	cr_expect_eq(ipk_sem_value(o), 1);
	ipk_sem_close(o);
	cr_expect_eq(ipk_sem_value(c), 1, "an opener's close removes nothing");
	ipk_sem_close(c);
}

Test(sem, posix_pv)
{
	basic_pv(purl(0, ""), purl(0, ""));
	cr_expect(posix_gone(0), "the creator's close removes it");
}

Test(sem, sysv_pv_set_member)
{
	basic_pv(surl(0, "?nsems=3&index=1"), surl(0, "?index=1"));
	cr_expect(sysv_gone(0));
	ipk_sem *s;
	cr_assert_eq(ipk_sem_create(surl(1, "?nsems=3&index=2"), 4, &s), 0);
	int id = semget(key(1), 0, 0);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(semctl(id, i, GETVAL), 4, "every member set");
	cr_expect_neq(sysv_stat(1).sem_otime, 0, "creator marked it ready");
	ipk_sem_close(s);
}

Test(sem, keep_and_unlink)
{
	ipk_sem *s, *o;
	cr_assert_eq(ipk_sem_create(purl(0, "?keep"), 0, &s), 0);
	ipk_sem_close(s);
	cr_assert_eq(ipk_sem_open(purl(0, ""), &o), 0, "?keep left it");
	cr_expect_eq(ipk_sem_unlink(o), 0);
	ipk_sem_close(o);
	cr_expect(posix_gone(0));
	cr_assert_eq(ipk_sem_create(surl(0, ""), 0, &s), 0);
	cr_expect_eq(ipk_sem_unlink(s), 0);
	cr_expect(sysv_gone(0));
	ipk_sem_close(s);
}

Test(sem, exclusive_create)
{
	ipk_sem *a, *b;
	const char *urls[] = {purl(0, ""), surl(0, ""), purl(1, "?lock")};
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(ipk_sem_create(urls[i], 1, &a), 0, "%s", urls[i]);
		cr_expect_eq(ipk_sem_create(urls[i], 1, &b), -EEXIST, "%s",
		             urls[i]);
		ipk_sem_close(a);
	}
	cr_expect_eq(ipk_sem_open(purl(0, ""), &a), -ENOENT);
	cr_expect_eq(ipk_sem_open(surl(0, ""), &a), -ENOENT);
}

/* SEM-04 (names) and the option rules. */
Test(sem, sem04_urls_and_limits)
{
	ipk_sem *s;
	char name[300] = "sem:/";
	memset(name + 5, 'n', 252);
	cr_expect_eq(ipk_sem_create(name, 0, &s), -ENAMETOOLONG, "252");
	name[5 + 251] = '\0';
	cr_expect_eq(ipk_sem_create(name, 0, &s), 0, "251 chars fit");
	ipk_sem_unlink(s);
	ipk_sem_close(s);
	const char *bad[] = {"sem:/a/b",
	                     "sem:noslash",
	                     "sem:/",
	                     purl(0, "?bogus"),
	                     purl(0, "?share"),
	                     purl(0, "?undo"),
	                     purl(0, "?inherit"),
	                     surl(0, "?lock"),
	                     surl(0, "?nsems=2&index=2"),
	                     surl(0, "?mode=0999"),
	                     "sysvsem:12x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(ipk_sem_create(bad[i], 0, &s), -EINVAL, "%s",
		             bad[i]);
	cr_expect_eq(ipk_sem_create("nosuch:/x", 0, &s), -EPROTONOSUPPORT);
	cr_expect_eq(ipk_sem_create(purl(0, "?lock"), 2, &s), -EINVAL,
	             "a ?lock is 0 or 1");
	cr_expect_eq(ipk_sem_create(surl(0, ""), 32768, &s), -EINVAL);
	cr_expect_eq(
	        ipk_sem_create(purl(0, ""), (unsigned)SEM_VALUE_MAX + 1, &s),
	        -EINVAL);
}

/* SEM-04: V at the maximum is -EOVERFLOW, nothing is lost. */
Test(sem, sem04_overflow)
{
	ipk_sem *p, *v;
	cr_assert_eq(ipk_sem_create(purl(0, ""), SEM_VALUE_MAX, &p), 0);
	cr_expect_eq(ipk_sem_post(p), -EOVERFLOW);
	cr_expect_eq(ipk_sem_value(p), SEM_VALUE_MAX);
	cr_assert_eq(ipk_sem_create(surl(0, ""), 32767, &v), 0);
	cr_expect_eq(ipk_sem_post(v), -EOVERFLOW);
	cr_expect_eq(ipk_sem_value(v), 32767);
	ipk_sem_close(p);
	ipk_sem_close(v);
}

static void
modes_under(mode_t mask)
{
	mode_t old = umask(mask);
	ipk_sem *a, *b, *c;
	cr_assert_eq(ipk_sem_create(purl(0, "?lock"), 1, &a), 0);
	cr_assert_eq(ipk_sem_create(surl(0, ""), 1, &b), 0);
	cr_assert_eq(ipk_sem_create(purl(1, "?mode=0640"), 1, &c), 0);
	umask(old);
	struct stat st;
	cr_assert_eq(stat(shm_file(0, "sem."), &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0600, "umask %03o", (unsigned)mask);
	cr_assert_eq(stat(shm_file(0, "ipckit-semlock."), &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0600, "lock file");
	cr_assert_eq(stat(shm_file(1, "sem."), &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0640, "?mode= is exact");
	cr_expect_eq(sysv_stat(0).sem_perm.mode & 0777, 0600);
	cr_expect_eq(
	        th_sh("ipcs -s | grep -q '0x%08x .* 600 '", (unsigned)key(0)),
	        0, "ipcs -s shows mode 600");
	ipk_sem_close(a);
	ipk_sem_close(b);
	ipk_sem_close(c);
}

Test(sem, mode_whatever_the_umask)
{
	modes_under(0);
	modes_under(022);
	modes_under(0277);
}

/* In a child that became nobody: what ipk_sem_open(url) returns. */
static int
as_nobody(const char *url)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		ipk_sem *s;
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(99);
		_exit(-ipk_sem_open(url, &s));
	}
	return -th_wait(pid, 10000);
}

Test(sem, intruder_as_nobody)
{
	ipk_sem *a, *b, *c;
	cr_assert_eq(ipk_sem_create(purl(0, ""), 1, &a), 0);
	cr_assert_eq(ipk_sem_create(surl(0, ""), 1, &b), 0);
	cr_assert_eq(ipk_sem_create(purl(1, "?lock"), 1, &c), 0);
	int rcs[] = {as_nobody(purl(0, "")), as_nobody(surl(0, "")),
	             as_nobody(purl(0, "?share")), as_nobody(surl(0, "?share")),
	             as_nobody(purl(1, "?lock&share"))};
	for (int i = 0; i < 5; i++)
		cr_expect(rcs[i] == -EACCES || rcs[i] == -EPERM, "%d: %d", i,
		          rcs[i]);
	ipk_sem_close(a);
	ipk_sem_close(b);
	ipk_sem_close(c);
}

/* SEM-04: squatted sem.X and sets owned by nobody are refused. */
Test(sem, sem04_squatters_refused)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(99);
		umask(0);
		sem_t *p = sem_open(purl(0, "") + 4, O_CREAT | O_EXCL, 0666, 1);
		int id = semget(key(0), 1, IPC_CREAT | IPC_EXCL | 0666);
		_exit(p == SEM_FAILED || id < 0);
	}
	cr_assert_eq(th_wait(pid, 5000), 0, "nobody made the squats");
	ipk_sem *s;
	cr_expect_eq(ipk_sem_open(purl(0, ""), &s), -EPERM);
	cr_expect_eq(ipk_sem_open(surl(0, ""), &s), -EPERM);
	cr_expect_eq(ipk_sem_create(purl(0, ""), 1, &s), -EEXIST);
	cr_assert_eq(ipk_sem_open(purl(0, "?share"), &s), 0, "?share uses it");
	cr_expect_eq(ipk_sem_value(s), 1);
	ipk_sem_close(s);
	cr_expect_eq(access(shm_file(0, "sem."), F_OK), 0,
	             "an opener never removes");
}

static void
timeouts(const char *url)
{
	ipk_sem *c, *s;
	cr_assert_eq(ipk_sem_create(url, 0, &c), 0);
	cr_assert_eq(ipk_sem_open(url, &s), 0);
	long long t0 = th_now_ms();
	cr_expect_eq(ipk_sem_wait(s, 300), -ETIMEDOUT);
	long long took = th_now_ms() - t0;
	cr_expect(took >= 299 && took < 300 + 400 * th_mult(), "%s: %lld ms",
	          url, took);
	t0 = th_now_ms();
	cr_expect_eq(ipk_sem_wait(s, 0), -EAGAIN);
	cr_expect_lt(th_now_ms() - t0, 50 * th_mult(), "trywait does not wait");
	ipk_sem_close(s);
	ipk_sem_close(c);
}

Test(sem, timeouts)
{
	timeouts(purl(0, ""));
	timeouts(surl(0, ""));
	timeouts(purl(1, "?lock"));
}

static void
on_usr1(int sig)
{
	(void)sig;
}

/* A child that sends SIGUSR1 to pid every 200 us until killed. */
static pid_t
storm(pid_t target)
{
	pid_t pid = fork();
	if (pid == 0)
		for (;;) {
			kill(target, SIGUSR1);
			usleep(200);
		}
	th_defer_kill(pid);
	return pid;
}

static int
poster(void *arg)
{
	ipk_sem *s;
	if (ipk_sem_open(arg, &s) < 0)
		return 1;
	for (int i = 0; i < 200; i++) {
		if (ipk_sem_post(s) < 0)
			return 2;
		usleep(500);
	}
	ipk_sem_close(s);
	return 0;
}

static void
eintr_storm(const char *url, int sa_flags)
{
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = sa_flags};
	sigaction(SIGUSR1, &sa, NULL);
	ipk_sem *s;
	cr_assert_eq(ipk_sem_create(url, 0, &s), 0);
	pid_t st = storm(getpid());
	long long t0 = th_now_ms();
	cr_expect_eq(ipk_sem_wait(s, 300), -ETIMEDOUT, "%s", url);
	long long took = th_now_ms() - t0;
	cr_expect(took >= 299 && took < 300 + 500 * th_mult(),
	          "%s: deadline kept under signals: %lld ms", url, took);
	pid_t p = th_spawn(poster, (void *)url);
	int got = 0;
	while (got < 200 && ipk_sem_wait(s, 5000) == 0)
		got++;
	cr_expect_eq(got, 200, "%s: every V taken once", url);
	cr_expect_eq(th_wait(p, 10000), 0);
	cr_expect_eq(ipk_sem_trywait(s), -EAGAIN, "%s: no extra V", url);
	kill(st, SIGKILL);
	waitpid(st, NULL, 0);
	ipk_sem_close(s);
	signal(SIGUSR1, SIG_DFL);
}

Test(sem, eintr_storm)
{
	eintr_storm(purl(0, ""), 0);
	eintr_storm(purl(0, ""), SA_RESTART);
	eintr_storm(surl(0, ""), 0);
	eintr_storm(surl(0, ""), SA_RESTART);
}

/* The cancel descriptor (as a signal handler would make it readable)
 * ends a wait at its next EINTR; a P that need not block still works. */
static void
cancel_wait(const char *url)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	struct sigaction sa = {.sa_handler = on_usr1};
	sigaction(SIGUSR1, &sa, NULL);
	ipk_sem *c, *s; /* c holds a ?lock made at 0, s waits */
	cr_assert_eq(ipk_sem_create(url, 0, &c), 0);
	cr_assert_eq(ipk_sem_open(url, &s), 0);
	cr_assert_eq(ipk_set_cancel(NULL, p[0]), 0);
	pid_t w = fork();
	if (w == 0) {
		usleep(200000);
		_exit(write(p[1], "x", 1) != 1);
	}
	th_defer_kill(w);
	pid_t st = storm(getpid());
	long long t0 = th_now_ms();
	cr_expect_eq(ipk_sem_wait(s, 5000), -ECANCELED, "%s", url);
	long long took = th_now_ms() - t0;
	cr_expect(took >= 150 && took < 1000, "%s: %lld ms", url, took);
	kill(st, SIGKILL);
	waitpid(st, NULL, 0);
	cr_expect_eq(ipk_sem_wait(s, 5000), -ECANCELED, "still readable");
	cr_expect_eq(ipk_sem_post(c), 0);
	cr_expect_eq(ipk_sem_wait(s, 5000), 0, "no need to block");
	ipk_set_cancel(NULL, -1);
	ipk_sem_close(s);
	ipk_sem_close(c);
	signal(SIGUSR1, SIG_DFL);
}

Test(sem, cancel_after_eintr)
{
	cancel_wait(surl(0, ""));
	cancel_wait(purl(0, ""));
	cancel_wait(purl(1, "?lock"));
}
