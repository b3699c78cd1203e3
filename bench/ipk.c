/*
 * ipk.c - the ipckit rows: the coordinator listens (or makes the pipe
 * pairs) before the fork; the server accepts or uses the listener, the
 * driver dials; both then run loop.c through ipk_send, ipk_recv,
 * ipk_send_batch and the zero-copy calls with the row's timeout.  Every channel
 * is detached from the command's cancel descriptor: the rows measure the
 * library as a program uses it by default (a cancel descriptor makes sysvmsg
 * poll).
 */
#include "run.h"
#include "urltmpl.h"

#include <ipckit.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IPK_ACCEPT_MS 10000

struct ipk_setup {
	const struct bench_target *t;
	int timeout;
	char fwd[256], back[256];
	ipk_chan *l, *b;         /* listeners, made by the coordinator */
	ipk_chan *pr[2], *pw[2]; /* pipe pairs: [0] forward, [1] back */
};

struct ipk_end {
	ipk_chan *in, *out;
	int timeout;
};

static int
ik_send(void *ctx, const void *buf, size_t len)
{
	struct ipk_end *e = ctx;
	return ipk_send(e->out, buf, len, e->timeout);
}

static ssize_t
ik_recv(void *ctx, void *buf, size_t cap, int ms)
{
	struct ipk_end *e = ctx;
	return ipk_recv(e->in, buf, cap, ms);
}

static int
ik_batch(void *ctx, const struct iovec *iov, int n)
{
	struct ipk_end *e = ctx;
	return ipk_send_batch(e->out, iov, (size_t)n, e->timeout);
}

static int
ik_reserve(void *ctx, size_t len, void **ptr)
{
	struct ipk_end *e = ctx;
	return ipk_reserve(e->out, len, ptr, e->timeout);
}

static int
ik_commit(void *ctx, size_t len)
{
	struct ipk_end *e = ctx;
	return ipk_commit(e->out, len);
}

static int
ik_peek(void *ctx, const void **ptr, size_t *len, int ms)
{
	struct ipk_end *e = ctx;
	return ipk_peek(e->in, ptr, len, ms);
}

static int
ik_release(void *ctx)
{
	struct ipk_end *e = ctx;
	return ipk_release(e->in);
}

/* The zero-copy calls work on every URL; a case runs them only where
 * its raw baseline has them too (the shm rows). */
static const struct bench_ops ik_ops = {
        ik_send, ik_recv, ik_batch, ik_reserve, ik_commit, ik_peek, ik_release};

/* A template of targets.h with a fresh path and key of this process. */
static void
ik_url(const char *tmpl, const struct bench_target *t, size_t size, int seq,
       char *out, size_t n)
{
	char path[64];
	int pid = (int)getpid();
	snprintf(path, sizeof(path), "/tmp/ipk-bench-%d-%d", pid, seq);
	long key = 0x1b000000L + ((long)(pid & 0xfff) << 12) + (seq & 0xfff);
	url_template(tmpl ? tmpl : "", out, n, path, key, 0);
	size_t o = strlen(out);
	char sep = strchr(out, '?') ? '&' : '?';
	if (t->sized == 1 && tmpl)
		snprintf(out + o, n - o, "%cdepth=10&msgsize=%zu", sep, size);
	if (t->sized == 2 && tmpl)
		snprintf(out + o, n - o, "%csize=%zu", sep,
		         bench_ring_bytes(size));
}

/* Detach the channels from the process's cancel descriptor. */
static void
ik_plain(ipk_chan *a, ipk_chan *b)
{
	if (a)
		ipk_set_cancel(a, -1);
	if (b)
		ipk_set_cancel(b, -1);
}

static int
ik_prepare(struct ipk_setup *s)
{
	const struct bench_target *t = s->t;
	if (t->pair) {
		int rc = ipk_pair(s->fwd, &s->pr[0], &s->pw[0]);
		return rc < 0 ? rc : ipk_pair(s->back, &s->pr[1], &s->pw[1]);
	}
	int rc = ipk_listen(s->fwd, &s->l);
	if (rc == 0)
		ipk_name(s->l, s->fwd, sizeof(s->fwd)); /* the port chosen */
	if (rc == 0 && t->back)
		rc = ipk_listen(s->back, &s->b);
	return rc;
}

static int
ik_open(void *setup, int role, struct bench_link *l)
{
	struct ipk_setup *s = setup;
	const struct bench_target *t = s->t;
	struct ipk_end *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	int rc = 0;
	e->timeout = s->timeout;
	if (t->pair) {
		e->out = s->pw[role];
		e->in = s->pr[1 - role];
	} else if (role == 1) {
		e->in = s->l;
		if (t->accept)
			rc = ipk_accept(s->l, &e->in, IPK_ACCEPT_MS);
		e->out = e->in;
		if (rc == 0 && t->back)
			rc = ipk_dial(s->back, &e->out);
	} else {
		rc = ipk_dial(s->fwd, &e->out);
		e->in = t->back ? s->b : e->out;
	}
	ik_plain(e->in, e->out);
	*l = (struct bench_link){&ik_ops, e, s->timeout, t->raw == &raw_udp};
	return rc;
}

int
bench_ipk_run(const struct bench_target *t, const struct bench_case *c,
              struct bench_run *r)
{
	static int seq;
	struct ipk_setup s = {.t = t, .timeout = c->timeout};
	seq++;
	ik_url(t->fwd, t, c->size, seq, s.fwd, sizeof(s.fwd));
	ik_url(t->back, t, c->size, seq, s.back, sizeof(s.back));
	memset(r, 0, sizeof(*r));
	int rc = ik_prepare(&s);
	ik_plain(s.l, s.b);
	for (int i = 0; i < 2; i++)
		ik_plain(s.pr[i], s.pw[i]);
	if (rc == 0)
		rc = bench_fork_pair(ik_open, &s, c, r);
	r->err = rc;
	ipk_close(s.l);
	ipk_close(s.b);
	for (int i = 0; i < 2; i++) {
		ipk_close(s.pr[i]);
		ipk_close(s.pw[i]);
	}
	return rc;
}
