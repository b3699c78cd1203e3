/*
 * relaypair.c - the pairs of a relay and the one poll that serves them
 * all.  Each direction of a pair holds at most one message: it takes
 * the next from its source only when the last has gone, so a slow
 * destination leaves the rest waiting in the source mechanism.
 */
#include "relay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct rpair *
pair_new(struct relay *r, struct rend *a, struct rend *b)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct rpair **p = realloc(r->p, cap * sizeof(*p));
		if (!p)
			return NULL;
		r->p = p;
		r->cap = cap;
	}
	struct rpair *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->a = a;
	p->b = b;
	p->ab = (struct rdir){.src = a, .dst = b, .on = true, .idx = 0};
	p->ba = (struct rdir){.src = b, .dst = a, .on = r->duplex, .idx = 1};
	r->p[r->n++] = p;
	return p;
}

void
pair_free(struct relay *r, struct rpair *p)
{
	r->c.drops += p->ab.full + p->ba.full;
	free(p->ab.buf);
	free(p->ba.buf);
	if (!p->a->shared)
		end_free(p->a);
	if (!p->b->shared)
		end_free(p->b);
	free(p);
}

void
pair_reap(struct relay *r)
{
	for (size_t i = r->n; i-- > 0;) {
		if (!r->p[i]->dead)
			continue;
		pair_free(r, r->p[i]);
		r->p[i] = r->p[--r->n];
	}
}

/* End e failed with err: bring it back later, or end its pair. */
static void
pair_lose(struct relay *r, struct rpair *p, struct rend *e, int err)
{
	if (e->restore == RESTORE_FATAL) {
		relay_report(e->side, "failed", err);
		r->err = err;
		return;
	}
	if (e->restore == RESTORE_NONE) {
		if (err != -EPIPE)
			relay_report(e->side, "a connection ended", err);
		p->dead = true;
		return;
	}
	end_down(r, e, err);
}

static bool
pair_over(const struct rpair *p)
{
	return (!p->ab.on || p->ab.done) && (!p->ba.on || p->ba.done);
}

/* The source ended and its last message went: pass the half-close on. */
static void
dir_finish(struct relay *r, struct rpair *p, struct rdir *d)
{
	struct rend *e = d->dst;
	if (!e->shared && e->up) {
		int rc = end_flush(e);
		if (rc == -EAGAIN)
			return; /* once the tail has gone */
		if (rc == 0)
			rc = end_shutdown(e);
		if (rc < 0 && rc != -EPIPE)
			relay_report(e->side, "half-close", rc);
	}
	d->done = true;
	if (pair_over(p))
		p->dead = true;
	(void)r;
}

/* The source said EOF (-EPIPE). */
static void
dir_eof(struct relay *r, struct rpair *p, struct rdir *d)
{
	struct rend *e = d->src;
	struct rdir *back = d == &p->ab ? &p->ba : &p->ab;
	if (e->restore == RESTORE_FATAL) {
		e->may_read = false; /* fifo:?raw: its writers left; more may */
		return;
	}
	if (e->side->stdio || e->restore == RESTORE_NONE ||
	    (back->on && back->done)) {
		d->eof = true;
		return;
	}
	end_down(r, e, -EPIPE); /* redial, or the next connection */
}

static void
dir_get_failed(struct relay *r, struct rpair *p, struct rdir *d, int err)
{
	struct rend *e = d->src;
	if (err == -EPIPE) {
		dir_eof(r, p, d);
		return;
	}
	bool partial = err == -ECONNRESET || err == -EMSGSIZE;
	if (partial)
		r->c.drops++; /* a message cut, or too big to take */
	if (e->restore == RESTORE_FATAL && partial &&
	    cli_scheme_in(e->side->url, "fifo")) {
		relay_report(e->side, "lost a message", err);
		return; /* the fifo listener goes on with the next writer */
	}
	pair_lose(r, p, e, err);
}

/* Sending failed: drop what can never go, else lose the end. */
static bool
dir_put_failed(struct relay *r, struct rpair *p, struct rdir *d, int err)
{
	if (err == -EMSGSIZE) {
		relay_report(d->dst->side, "a message too big was dropped",
		             err);
		r->c.drops++;
		d->full = false;
		return true;
	}
	pair_lose(r, p, d->dst, err);
	return false;
}

/* Move what can move now in one direction; true if anything did. */
static bool
dir_step(struct relay *r, struct rpair *p, struct rdir *d)
{
	bool moved = false;
	struct rend *dst = d->dst;
	if (dst->up && dst->tail && !dst->blocked && !d->full) {
		int rc = end_flush(dst);
		if (rc < 0 && rc != -EAGAIN)
			return dir_put_failed(r, p, d, rc);
	}
	for (int i = 0; i < RELAY_BURST && !p->dead && !r->err; i++) {
		int rc;
		if (d->full) {
			if (!dst->up || dst->blocked)
				break;
			if ((rc = end_put(d)) == 0)
				break;
			if (rc < 0 && !dir_put_failed(r, p, d, rc))
				break;
			if (rc > 0) {
				r->c.msgs[d->idx]++;
				r->c.bytes[d->idx] += (long long)d->size;
				d->full = false;
			}
			moved = true;
			continue;
		}
		/* Take nothing while the destination is down. */
		if (d->eof || !d->src->up || !dst->up)
			break;
		if ((rc = end_get(d)) == 0)
			break;
		if (rc < 0) {
			dir_get_failed(r, p, d, rc);
			break;
		}
		moved = true;
	}
	if (d->eof && !d->full && !d->done && !p->dead)
		dir_finish(r, p, d);
	return moved;
}

bool
pair_serve(struct relay *r, struct rpair *p)
{
	bool moved = dir_step(r, p, &p->ab);
	if (p->ba.on && !p->dead && !r->err)
		moved |= dir_step(r, p, &p->ba);
	return moved;
}

static struct rend *
conn_end(struct rside *s, ipk_chan *c, enum rrestore restore)
{
	struct rend *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->side = s;
	e->ch = c;
	e->up = c != NULL;
	e->may_read = true;
	e->restore = restore;
	e->backoff = RELAY_BACKOFF_MIN;
	return e;
}

/* A pair for connection c: into the shared end, or its own dial. */
static int
pair_conn(struct relay *r, ipk_chan *c)
{
	struct rend *a = conn_end(&r->from, c, RESTORE_NONE), *b = r->shared;
	if (!a) {
		ipk_close(c);
		return -ENOMEM;
	}
	int rc = 0;
	if (r->topo == TOPO_PAIRS) {
		b = conn_end(&r->to, NULL, RESTORE_NONE);
		rc = b ? end_open(r, b) : -ENOMEM;
		if (rc < 0)
			relay_report(&r->to, "no connection for a peer", rc);
	}
	if (rc == 0 && pair_new(r, a, b))
		return 0;
	if (b != r->shared)
		end_free(b);
	end_free(a);
	return rc < 0 ? rc : -ENOMEM;
}

/* The connection end a TOPO_ONE pair waits for. */
static struct rend *
one_waiting(struct relay *r, const struct rside *s)
{
	if (r->n == 0)
		return NULL;
	struct rend *e = r->p[0]->a->side == s ? r->p[0]->a : r->p[0]->b;
	return e->up ? NULL : e;
}

int
pair_accept(struct relay *r, struct rside *s)
{
	ipk_chan *c;
	int rc;
	for (;;) {
		struct rend *e = r->topo == TOPO_ONE ? one_waiting(r, s) : NULL;
		if (r->topo == TOPO_ONE && !e)
			return 0;
		if ((rc = ipk_accept(s->l, &c, 0)) < 0)
			break;
		r->c.conns++;
		if (!e) {
			pair_conn(r, c);
			continue;
		}
		e->ch = c;
		e->up = e->may_read = true;
		e->blocked = e->tail = false;
	}
	return rc == -EAGAIN || rc == -ETIMEDOUT ? 0 : rc;
}

/* Whether e has a direction that would read it now; *src whether
 * any direction reads it at all. */
static bool
end_wants_read(const struct rpair *p, const struct rend *e, bool *src)
{
	const struct rdir *d[2] = {&p->ab, &p->ba};
	bool want = false;
	*src = false;
	for (int i = 0; i < 2; i++) {
		if (!d[i]->on || d[i]->src != e)
			continue;
		*src = true;
		want |= !d[i]->full && !d[i]->eof && d[i]->dst->up;
	}
	return want;
}

static int
poll_add(struct relay *r, int fd, short events, struct rend *e)
{
	if (r->npf == r->pfcap) {
		size_t cap = r->pfcap ? r->pfcap * 2 : 32;
		struct pollfd *pf = realloc(r->pf, cap * sizeof(*pf));
		if (!pf)
			return -ENOMEM;
		r->pf = pf;
		struct rend **pe = realloc(r->pend, cap * sizeof(*pe));
		if (!pe)
			return -ENOMEM;
		r->pend = pe;
		r->pfcap = cap;
	}
	r->pf[r->npf] = (struct pollfd){.fd = fd, .events = events};
	r->pend[r->npf++] = e;
	return 0;
}

/* Put e in the poll set for what it waits for; true if it needs a tick
 * (a mechanism without a descriptor for that wait).  A connection that
 * only receives is watched for its peer's close, so that it is dialled
 * again before a message goes into a socket nobody reads. */
static bool
poll_end(struct relay *r, const struct rpair *p, struct rend *e)
{
	if (!e->up)
		return false;
	bool src;
	bool in = end_wants_read(p, e, &src) && !e->may_read;
	bool out = e->blocked;
	e->watching = !src && e->side->conn && e->restore != RESTORE_NONE;
	int ifd = end_fd(e, false), ofd = out ? end_fd(e, true) : -1;
	bool tick = (in && ifd < 0) || (out && ofd < 0);
	short ev = (short)((in ? POLLIN : 0) | (e->watching ? POLLRDHUP : 0));
	if (ifd >= 0 && ifd == ofd)
		return poll_add(r, ifd, ev | POLLOUT, e) < 0 || tick;
	if (ifd >= 0 && ev && poll_add(r, ifd, ev, e) < 0)
		return true;
	if (ofd >= 0 && poll_add(r, ofd, POLLOUT, e) < 0)
		return true;
	return tick;
}

static bool
side_accepting(const struct relay *r, const struct rside *s)
{
	if (!s->l)
		return false;
	if (r->topo != TOPO_ONE)
		return true;
	return r->n > 0 &&
	       (r->p[0]->a->side == s ? !r->p[0]->a->up : !r->p[0]->b->up);
}

/* Every end's wait into r->pf; true when some need a tick. */
static bool
poll_build(struct relay *r)
{
	r->npf = 0;
	bool tick = false;
	poll_add(r, cli_cancel_fd(), POLLIN, NULL);
	struct rside *sides[2] = {&r->from, &r->to};
	for (int i = 0; i < 2; i++)
		if (side_accepting(r, sides[i]))
			poll_add(r, ipk_fd(sides[i]->l), POLLIN, NULL);
	for (size_t i = 0; i < r->n; i++) {
		struct rpair *p = r->p[i];
		if (r->shared && i == 0)
			tick |= poll_end(r, p, r->shared);
		if (!p->a->shared)
			tick |= poll_end(r, p, p->a);
		if (!p->b->shared)
			tick |= poll_end(r, p, p->b);
	}
	return tick;
}

/* After a tick, ends without descriptors are tried again. */
static void
poll_tick(struct relay *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct rend *e[2] = {r->p[i]->a, r->p[i]->b};
		for (int k = 0; k < 2; k++) {
			if (end_fd(e[k], false) < 0)
				e[k]->may_read = true;
			if (end_fd(e[k], true) < 0)
				e[k]->blocked = false;
		}
	}
}

/* One poll over every end: -ECANCELED on a signal, else 0 or -errno. */
int
relay_poll(struct relay *r, int timeout_ms, int tick_ms)
{
	bool tick = poll_build(r);
	int t = tick && (timeout_ms < 0 || tick_ms < timeout_ms) ? tick_ms
	                                                         : timeout_ms;
	int k = poll(r->pf, r->npf, t);
	if (k < 0)
		return errno == EINTR ? 0 : -errno;
	if (r->pf[0].revents)
		return -ECANCELED;
	for (size_t i = 1; i < r->npf; i++) {
		struct rend *e = r->pend[i];
		short ev = r->pf[i].revents;
		if (!ev)
			continue;
		if (e && (ev & (POLLIN | POLLHUP | POLLERR)))
			e->may_read = true;
		if (e && (ev & (POLLOUT | POLLHUP | POLLERR)))
			e->blocked = false;
		if (e && e->watching && e->up &&
		    (ev & (POLLRDHUP | POLLHUP | POLLERR)))
			end_down(r, e, -EPIPE);
	}
	if (tick)
		poll_tick(r);
	struct rside *sides[2] = {&r->from, &r->to};
	int rc = 0;
	for (size_t i = 1; i < r->npf && !rc; i++)
		for (int s = 0; s < 2 && !r->pend[i]; s++)
			if (sides[s]->l && r->pf[i].fd == ipk_fd(sides[s]->l) &&
			    r->pf[i].revents)
				rc = pair_accept(r, sides[s]);
	return rc;
}
