/*
 * proc.c - the two processes of a run.  The coordinator forks a server
 * and a driver, pins them to different CPUs (the same one when only one
 * is allowed), reads the driver's result from a pipe under a watchdog,
 * and reaps both; a run that hangs is killed and reported as a timeout.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void
bench_cpus(int *a, int *b)
{
	cpu_set_t set;
	*a = *b = -1;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return;
	for (int i = 0; i < CPU_SETSIZE && *b < 0; i++) {
		if (!CPU_ISSET(i, &set))
			continue;
		if (*a < 0)
			*a = i;
		else
			*b = i;
	}
	if (*b < 0)
		*b = *a;
}

static void
proc_pin(int cpu)
{
	cpu_set_t set;
	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* Child of role 0 (driver, result to out) or 1 (server); never returns. */
static void
proc_child(bench_open_fn open, void *setup, int role, int cpu,
           const struct bench_case *c, int out)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	proc_pin(cpu);
	struct bench_link l;
	struct bench_run r;
	memset(&r, 0, sizeof(r));
	r.err = open(setup, role, &l);
	if (role == 1) {
		close(out);
		if (r.err == 0)
			bench_serve(&l, c->size);
		_exit(r.err ? 1 : 0);
	}
	if (r.err == 0)
		r.err = bench_drive(&l, c, &r);
	_exit(write(out, &r, sizeof(r)) == sizeof(r) ? 0 : 1);
}

static void
proc_reap(pid_t pid, int ms)
{
	if (pid <= 0)
		return;
	for (int i = 0; i < ms; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* How long a run may take before it counts as hung. */
static int
proc_watchdog_ms(const struct bench_case *c)
{
	if (c->phase_ms <= 0)
		return 600000;
	return 10000 + c->phase_ms * 16 + c->gap_ms * 12;
}

static int
proc_collect(int fd, int ms, struct bench_run *r)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n = poll(&p, 1, ms);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	if (read(fd, r, sizeof(*r)) != (ssize_t)sizeof(*r))
		return -EPIPE;
	return r->err;
}

int
bench_fork_pair(bench_open_fn open, void *setup, const struct bench_case *c,
                struct bench_run *r)
{
	int res[2], a, b;
	memset(r, 0, sizeof(*r));
	if (pipe2(res, O_CLOEXEC) < 0)
		return r->err = -errno;
	bench_cpus(&a, &b);
	fflush(NULL);
	pid_t srv = fork();
	if (srv == 0)
		proc_child(open, setup, 1, b, c, res[1]);
	pid_t drv = srv < 0 ? -1 : fork();
	if (drv == 0)
		proc_child(open, setup, 0, a, c, res[1]);
	close(res[1]);
	r->err = drv < 0 ? -EAGAIN
	                 : proc_collect(res[0], proc_watchdog_ms(c), r);
	close(res[0]);
	proc_reap(drv, r->err == -ETIMEDOUT ? 0 : 2000);
	proc_reap(srv, r->err == -ETIMEDOUT ? 0 : 1000);
	return r->err;
}
