/*
 * bench.c - measures round-trip latency and one-way throughput between
 * two processes.  The child echoes pings ('p'), counts one-way messages
 * ('t') and answers the count at the end mark ('e'); 'q' ends it.
 */
#include "bench.h"
#include "urltmpl.h"

#include <ipckit.h>

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_WAIT 10000 /* ms: no step of a run may take longer */
#define BENCH_BATCH 64

double
bench_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void
bench_percentiles(double *v, int n, struct bench_result *r)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp);
	r->p50_us = v[n / 2];
	r->p99_us = v[(int)(n * 0.99)];
}

/* A template of targets.h with this process's path, key and port. */
static void
bench_url(const char *tmpl, char *out, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/ipk-bench-%d", (int)getpid());
	url_template(tmpl, out, size, path, 0x1b000000 + (getpid() & 0xffffff),
	             20000 + (int)(getpid() % 30000));
}

static void
bench_serve(ipk_chan *in, ipk_chan *out, size_t size)
{
	size_t cap = (size < 64 ? 64 : size) + 16;
	char *buf = malloc(cap);
	long count = 0;
	ssize_t n;
	while (buf && (n = ipk_recv(in, buf, cap, BENCH_WAIT)) > 0) {
		if (buf[0] == 'p' && ipk_send(out, buf, (size_t)n, BENCH_WAIT))
			break;
		if (buf[0] == 't')
			count++;
		if (buf[0] == 'e') {
			memcpy(buf + 1, &count, sizeof(count));
			count = 0;
			if (ipk_send(out, buf, (size_t)n, BENCH_WAIT))
				break;
		}
		if (buf[0] == 'q')
			break;
	}
	free(buf);
}

static int
bench_ping(ipk_chan *fw, ipk_chan *br, char *buf, size_t size)
{
	buf[0] = 'p';
	int rc = ipk_send(fw, buf, size, BENCH_WAIT);
	if (rc == 0)
		rc = (int)ipk_recv(br, buf, size, BENCH_WAIT);
	return rc < 0 ? rc : 0;
}

/*
 * The end mark and its answer, the count.  A datagram may drop either, so
 * the mark is repeated with a new sequence byte and old answers skipped.
 */
static int
bench_end_mark(ipk_chan *fw, ipk_chan *br, long *got)
{
	static unsigned char seq;
	char end[16 + sizeof(long)] = {'e'};
	int rc = -ETIMEDOUT;
	for (int try = 0; try < 5 && rc == -ETIMEDOUT; try++) {
		unsigned char want = ++seq;
		end[0] = 'e';
		end[15] = (char)want;
		rc = ipk_send(fw, end, sizeof(end), BENCH_WAIT);
		while (rc == 0) {
			ssize_t n =
			        ipk_recv(br, end, sizeof(end), BENCH_WAIT / 5);
			if (n < 0)
				rc = (int)n;
			else if ((unsigned char)end[15] == want)
				break;
		}
	}
	memcpy(got, end + 1, sizeof(*got));
	return rc;
}

/* One-way throughput: count messages then the end mark and its answer. */
static int
bench_stream(ipk_chan *fw, ipk_chan *br, char *buf,
             const struct bench_params *p, bool batch, double *rate,
             double *loss)
{
	struct iovec iov[BENCH_BATCH];
	for (int i = 0; i < BENCH_BATCH; i++)
		iov[i] = (struct iovec){buf, p->size};
	buf[0] = 't';
	double t0 = bench_now_us();
	for (int sent = 0; sent < p->count;) {
		int k = p->count - sent < BENCH_BATCH ? p->count - sent
		                                      : BENCH_BATCH;
		int rc = batch ? ipk_send_batch(fw, iov, (size_t)k, BENCH_WAIT)
		               : ipk_send(fw, buf, p->size, BENCH_WAIT);
		if (rc < 0)
			return rc;
		sent += batch ? rc : 1;
	}
	long got;
	int rc = bench_end_mark(fw, br, &got);
	if (rc < 0)
		return rc;
	*rate = got / ((bench_now_us() - t0) / 1e6);
	/* Only datagrams may drop; they are counted, not an error. */
	double lost = (double)(p->count - got) / p->count;
	if (lost > *loss)
		*loss = lost;
	return got <= p->count ? 0 : -EPROTO;
}

static int
bench_drive(ipk_chan *fw, ipk_chan *br, const struct bench_params *p,
            struct bench_result *r)
{
	char *buf = calloc(1, p->size < 32 ? 32 : p->size);
	double *lat = calloc((size_t)p->rtts, sizeof(double));
	int rc = buf && lat ? 0 : -ENOMEM;
	for (int i = 0; rc == 0 && i < 200; i++)
		rc = bench_ping(fw, br, buf, p->size);
	for (int i = 0; rc == 0 && i < p->rtts; i++) {
		double t0 = bench_now_us();
		rc = bench_ping(fw, br, buf, p->size);
		lat[i] = bench_now_us() - t0;
	}
	if (rc == 0)
		bench_percentiles(lat, p->rtts, r);
	if (rc == 0)
		rc = bench_stream(fw, br, buf, p, false, &r->msgs, &r->loss);
	if (rc == 0)
		rc = bench_stream(fw, br, buf, p, true, &r->batch_msgs,
		                  &r->loss);
	if (buf) {
		buf[0] = 'q';
		ipk_send(fw, buf, 1, BENCH_WAIT);
	}
	free(buf);
	free(lat);
	return rc;
}

static int
bench_reap(pid_t pid)
{
	for (int i = 0; i < 2000; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return 0;
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return 0;
}

/* Child side of a listener transport: listen, tell the parent, serve. */
static void
bench_child(const struct bench_target *t, const char *fwd, const char *back,
            int ready, size_t size)
{
	ipk_chan *l, *conn = NULL, *bw = NULL;
	char ok = ipk_listen(fwd, &l) == 0;
	if (write(ready, &ok, 1) != 1 || !ok)
		_exit(1);
	if (t->accept && ipk_accept(l, &conn, BENCH_WAIT) < 0)
		_exit(1);
	if (t->back && ipk_dial(back, &bw) < 0)
		_exit(1);
	ipk_chan *in = conn ? conn : l;
	bench_serve(in, bw ? bw : in, size);
	ipk_close(bw);
	ipk_close(conn);
	ipk_close(l);
	_exit(0);
}

static int
bench_listeners(const struct bench_target *t, const struct bench_params *p,
                struct bench_result *r)
{
	char fwd[256], back[256];
	bench_url(t->fwd, fwd, sizeof(fwd));
	bench_url(t->back ? t->back : "", back, sizeof(back));
	ipk_chan *br = NULL, *fw = NULL;
	int rc = t->back ? ipk_listen(back, &br) : 0, sync[2];
	if (rc < 0 || pipe2(sync, O_CLOEXEC) < 0)
		return rc < 0 ? rc : -errno;
	pid_t pid = fork();
	if (pid == 0)
		bench_child(t, fwd, back, sync[1], p->size);
	close(sync[1]);
	char ok = 0;
	if (pid < 0 || read(sync[0], &ok, 1) != 1 || !ok)
		rc = -EPROTO;
	close(sync[0]);
	if (rc == 0)
		rc = ipk_dial(fwd, &fw);
	if (rc == 0)
		rc = bench_drive(fw, br ? br : fw, p, r);
	ipk_close(fw);
	if (pid > 0)
		bench_reap(pid);
	ipk_close(br);
	return rc;
}

static int
bench_pairs(const struct bench_target *t, const struct bench_params *p,
            struct bench_result *r)
{
	ipk_chan *fr, *fw, *br, *bw;
	int rc = ipk_pair(t->fwd, &fr, &fw);
	if (rc < 0)
		return rc;
	rc = ipk_pair(t->back, &br, &bw);
	if (rc < 0) {
		ipk_close(fr);
		ipk_close(fw);
		return rc;
	}
	pid_t pid = fork();
	if (pid == 0) {
		ipk_close(fw);
		ipk_close(br);
		bench_serve(fr, bw, p->size);
		_exit(0);
	}
	ipk_close(fr);
	ipk_close(bw);
	rc = pid < 0 ? -errno : bench_drive(fw, br, p, r);
	ipk_close(fw);
	ipk_close(br);
	if (pid > 0)
		bench_reap(pid);
	return rc;
}

void
bench_target(const struct bench_target *t, const struct bench_params *p,
             struct bench_result *r)
{
	memset(r, 0, sizeof(*r));
	r->err = t->pair ? bench_pairs(t, p, r) : bench_listeners(t, p, r);
}
