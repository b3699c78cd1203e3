/*
 * raw.c - the baseline: the same exchange as bench.c over two bare
 * pipe(2)s with plain read/write, so every transport is shown as a ratio
 * to what the kernel alone costs on this machine, in this run.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int
raw_full(int fd, char *buf, size_t len, int writing)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = writing ? write(fd, buf + done, len - done)
		                    : read(fd, buf + done, len - done);
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* Child: echo rtts+200 pings, then swallow count messages, answer 1 byte. */
static void
raw_child(int in, int out, const struct bench_params *p)
{
	char *buf = malloc(p->size > 65536 ? p->size : 65536);
	for (int i = 0; buf && i < p->rtts + 200; i++)
		if (raw_full(in, buf, p->size, 0) ||
		    raw_full(out, buf, p->size, 1))
			_exit(1);
	size_t left = p->size * (size_t)p->count;
	while (buf && left > 0) {
		ssize_t n = read(in, buf, left < 65536 ? left : 65536);
		if (n <= 0)
			_exit(1);
		left -= (size_t)n;
	}
	_exit(buf && write(out, "k", 1) == 1 ? 0 : 1);
}

static int
raw_run(int out, int in, const struct bench_params *p, struct bench_result *r,
        double *lat, char *buf)
{
	for (int i = 0; i < p->rtts + 200; i++) {
		double t0 = bench_now_us();
		if (raw_full(out, buf, p->size, 1) ||
		    raw_full(in, buf, p->size, 0))
			return -1;
		if (i >= 200)
			lat[i - 200] = bench_now_us() - t0;
	}
	double t0 = bench_now_us();
	for (int i = 0; i < p->count; i++)
		if (raw_full(out, buf, p->size, 1))
			return -1;
	if (raw_full(in, buf, 1, 0))
		return -1;
	r->msgs = r->batch_msgs = p->count / ((bench_now_us() - t0) / 1e6);
	return 0;
}

void
bench_raw_pipe(const struct bench_params *p, struct bench_result *r)
{
	memset(r, 0, sizeof(*r));
	int to[2], from[2];
	if (pipe(to) < 0 || pipe(from) < 0) {
		r->err = -1;
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(to[1]);
		close(from[0]);
		raw_child(to[0], from[1], p);
	}
	close(to[0]);
	close(from[1]);
	double *lat = calloc((size_t)p->rtts, sizeof(*lat));
	char *buf = calloc(1, p->size);
	r->err = pid < 0 || !lat || !buf
	                 ? -1
	                 : raw_run(to[1], from[0], p, r, lat, buf);
	if (r->err == 0)
		bench_percentiles(lat, p->rtts, r);
	close(to[1]);
	close(from[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	free(lat);
	free(buf);
}
