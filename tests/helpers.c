/*
 * helpers.c - shared test utilities (see helpers.h).
 */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *
th_path(const char *tag)
{
	static char buf[8][256];
	static int n;
	char *b = buf[n % 8];
	snprintf(b, sizeof(buf[0]), "/tmp/ipk-test-%d-%d-%s", (int)getpid(), n,
	         tag);
	n++;
	return b;
}

int
th_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the DIR's own descriptor */
}

pid_t
th_spawn(int (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

long long
th_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
th_wait(pid_t pid, int timeout_ms)
{
	long long end = th_now_ms() + timeout_ms;
	int st;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r < 0)
			return -1;
		if (th_now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		usleep(1000);
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

int
th_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(NULL);
	int st = system(cmd);
	if (st < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

int
th_run_as_nobody(const char *cmd)
{
	return th_sh("setpriv --reuid=65534 --regid=65534 --clear-groups "
	             "sh -c '%s'",
	             cmd);
}

void
th_fill(void *buf, size_t len, unsigned seed)
{
	unsigned char *p = buf;
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(seed * 31 + i * 7 + (i >> 8));
}

bool
th_check(const void *buf, size_t len, unsigned seed)
{
	const unsigned char *p = buf;
	for (size_t i = 0; i < len; i++)
		if (p[i] != (unsigned char)(seed * 31 + i * 7 + (i >> 8)))
			return false;
	return true;
}

#define TH_DEFER_MAX 64

static struct {
	pid_t pid;
	char path[256];
} th_deferred[TH_DEFER_MAX];
static int th_ndeferred;

void
th_defer_kill(pid_t pid)
{
	if (pid > 0 && th_ndeferred < TH_DEFER_MAX)
		th_deferred[th_ndeferred++].pid = pid;
}

void
th_defer_remove(const char *path)
{
	if (th_ndeferred < TH_DEFER_MAX) {
		snprintf(th_deferred[th_ndeferred].path,
		         sizeof(th_deferred[0].path), "%s", path);
		th_deferred[th_ndeferred++].pid = 0;
	}
}

static int
th_remove_one(const char *path, const struct stat *st, int flag,
              struct FTW *ftw)
{
	(void)st, (void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void
th_cleanup(void)
{
	/* Children first: they may hold what the paths name. */
	for (int i = th_ndeferred - 1; i >= 0; i--) {
		pid_t pid = th_deferred[i].pid;
		if (pid > 0 && waitpid(pid, NULL, WNOHANG) == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
	}
	for (int i = th_ndeferred - 1; i >= 0; i--)
		if (th_deferred[i].pid == 0 && th_deferred[i].path[0])
			nftw(th_deferred[i].path, th_remove_one, 16,
			     FTW_DEPTH | FTW_PHYS);
	th_ndeferred = 0;
}

bool
th_asan(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	return true;
#else
	return false;
#endif
#else
	return false;
#endif
}

int
th_mult(void)
{
	const char *m = getenv("IPK_TEST_MULT");
	if (m && atoi(m) > 0)
		return atoi(m);
	return th_asan() ? 5 : 1;
}

int
th_wait_stopped(pid_t pid, int timeout_ms)
{
	long long end = th_now_ms() + timeout_ms;
	int st;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG | WUNTRACED);
		if (r == pid)
			return WIFSTOPPED(st) ? 0 : -1;
		if (r < 0 || th_now_ms() > end)
			return -1;
		usleep(1000);
	}
}

int
th_put(int fd, char c)
{
	ssize_t r;
	do
		r = write(fd, &c, 1);
	while (r < 0 && errno == EINTR);
	return r == 1 ? 0 : -1;
}

int
th_get(int fd, int timeout_ms)
{
	long long end = th_now_ms() + timeout_ms;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long long left = end - th_now_ms();
		/* Poll at least once: timeout 0 is "if it is there now". */
		int n = poll(&p, 1, left > 0 ? (int)left : 0);
		if (n < 0 && errno == EINTR && left > 0)
			continue;
		if (n <= 0)
			return -1;
		unsigned char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		return r == 1 ? c : -1;
	}
}

void *
th_shared(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}
