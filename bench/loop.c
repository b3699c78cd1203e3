/*
 * loop.c - the exchange that ipckit rows and raw rows both run, written
 * once so that only the transport differs.  A message starts with a
 * 16-byte header: type, sequence number, tag.  'p' is a ping (echoed),
 * 't' a one-way message (touched, sequence checked, counted), 'b' and 'e'
 * begin and end a phase (answered with the server's counts and CPU), 'z'
 * begins a zero-copy phase (the server then peeks each message and reads
 * a one-way one in place: its header and last byte), 'q' ends the server.
 */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define LOOP_WARMUP 200
#define LOOP_BATCH 64
#define LOOP_BATCH_BYTES (4u << 20) /* buffers of one batch at most */
#define LOOP_PACE_BURST 16
#define LOOP_CTL_MS 300 /* lossy: wait for a control answer, then resend */
#define LOOP_CTL_TRIES 10
#define LOOP_GAPS 10
#define LOOP_SEARCH 5 /* paced tries to get under BENCH_LOSS_OK */
#define LOOP_BISECT 2 /* then tries between the best and the lossy */

struct loop_hdr {
	uint32_t type, seq, tag, pad;
};

struct loop_report {
	uint32_t got, bad;
	double cpu_us, csw;
	uint32_t sum; /* of the bytes touched: goes back so it is computed */
};

struct loop_usage {
	double cpu_us, csw;
};

/* What a phase cost: the server's report, both CPUs, the time. */
struct loop_phase {
	struct loop_report rep;
	struct loop_usage u;
	double us;
};

/*
 * Message buffers start on a page, the same in every process and run.
 * From malloc, the server's landed wherever the coordinator's heap had
 * room at the fork: and on this AMD EPYC, glibc's memcpy (rep movsb)
 * of 4 KiB or more runs 15-20x slower when (dst - src) % 4096 is 8 to
 * 24, so a row's rate depended on where its buffers happened to fall.
 */
static void *
loop_alloc(size_t n)
{
	return aligned_alloc(4096, (n + 4095) & ~(size_t)4095);
}

static struct loop_usage
loop_usage(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	            ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
	return (struct loop_usage){us, (double)(ru.ru_nvcsw + ru.ru_nivcsw)};
}

static void
loop_set(char *buf, uint32_t type, uint32_t seq, uint32_t tag)
{
	struct loop_hdr h = {type, seq, tag, 0};
	memcpy(buf, &h, sizeof(h));
}

static struct loop_hdr
loop_get(const char *buf)
{
	struct loop_hdr h;
	memcpy(&h, buf, sizeof(h));
	return h;
}

/* ---- the server ---- */

struct serve_state {
	uint32_t want, got, bad, sum;
	struct loop_usage u0;
};

/* A one-way message's sequence number: the next one, or after a loss. */
static void
serve_seq(struct serve_state *st, uint32_t seq, bool lossy)
{
	if (seq == st->want || (lossy && seq > st->want))
		st->got++;
	else
		st->bad++;
	st->want = seq + 1;
}

/* Read one byte of every cache line, and check the sequence number. */
static void
serve_count(struct serve_state *st, const char *buf, size_t n, bool lossy)
{
	for (size_t i = 0; i < n; i += 64)
		st->sum += (unsigned char)buf[i];
	serve_seq(st, loop_get(buf).seq, lossy);
}

static int
serve_answer(const struct bench_link *l, const struct serve_state *st,
             char *buf, size_t n)
{
	struct loop_usage u = loop_usage();
	struct loop_report rep = {st->got, st->bad, u.cpu_us - st->u0.cpu_us,
	                          u.csw - st->u0.csw, st->sum};
	memcpy(buf + sizeof(struct loop_hdr), &rep, sizeof(rep));
	return l->ops->send(l->ctx, buf, n);
}

#define SERVE_TAKEN (-EINPROGRESS) /* read in place: nothing to answer */

/*
 * Zero-copy mode: a one-way message is read where it lies (its header
 * and last byte, as iceoryx's benchmark reads a loaned sample) and let
 * go; any other is copied out for the common dispatch.
 */
static ssize_t
serve_peek(const struct bench_link *l, struct serve_state *st, char *buf,
           size_t size)
{
	const void *p;
	size_t n;
	int rc = l->ops->peek(l->ctx, &p, &n, l->timeout);
	if (rc < 0)
		return rc;
	struct loop_hdr h = {0};
	if (n >= sizeof(h))
		h = loop_get(p);
	if (h.type == 't') {
		st->sum += ((const unsigned char *)p)[n - 1];
		serve_seq(st, h.seq, l->lossy);
	} else {
		memcpy(buf, p, n < size ? n : size);
	}
	rc = l->ops->release(l->ctx);
	return rc < 0 ? rc : h.type == 't' ? SERVE_TAKEN : (ssize_t)n;
}

/* One message: 0 to go on, 1 after 'q', or -errno. */
static int
serve_one(const struct bench_link *l, struct serve_state *st, char *buf,
          size_t n, bool *zc)
{
	uint32_t type = loop_get(buf).type;
	if (type == 'p')
		return l->ops->send(l->ctx, buf, n);
	if (type == 't')
		serve_count(st, buf, n, l->lossy);
	if (type == 'b' || type == 'z')
		*st = (struct serve_state){.u0 = loop_usage()};
	if (type == 'z' || type == 'e')
		*zc = type == 'z' && l->ops->peek;
	if (type == 'b' || type == 'z' || type == 'e')
		return serve_answer(l, st, buf, n);
	return type == 'q';
}

void
bench_serve(const struct bench_link *l, size_t size)
{
	char *buf = loop_alloc(size);
	struct serve_state st = {0};
	bool zc = false;
	for (int rc = buf ? 0 : -ENOMEM; rc == 0;) {
		ssize_t n = zc ? serve_peek(l, &st, buf, size)
		               : l->ops->recv(l->ctx, buf, size, l->timeout);
		if (n == -ETIMEDOUT || n == -EAGAIN || n == -EINTR ||
		    n == SERVE_TAKEN)
			continue;
		if (n < (ssize_t)(sizeof(struct loop_hdr) +
		                  sizeof(struct loop_report)))
			break;
		rc = serve_one(l, &st, buf, (size_t)n, &zc);
	}
	free(buf);
}

/* ---- the driver ---- */

struct drive {
	const struct bench_link *l;
	const struct bench_case *c;
	char *buf;  /* pings and control messages */
	char *bufs; /* nb one-way messages, each with its own number */
	struct iovec *iov;
	int nb;
	uint32_t tag;
	struct loop_usage u0;
	double t0;
};

struct oneway {
	double msgs, mbps, cpu, csw, loss, paced;
};

/* Send control message type; wait for the answer with its tag. */
static int
drive_ctl(struct drive *d, uint32_t type, struct loop_report *rep)
{
	const struct bench_link *l = d->l;
	int tries = l->lossy ? LOOP_CTL_TRIES : 1;
	int ms = l->lossy ? LOOP_CTL_MS : l->timeout;
	int rc = -ETIMEDOUT;
	for (int i = 0; i < tries && rc == -ETIMEDOUT; i++) {
		uint32_t tag = ++d->tag;
		loop_set(d->buf, type, 0, tag);
		rc = l->ops->send(l->ctx, d->buf, d->c->size);
		while (rc == 0) {
			ssize_t n =
			        l->ops->recv(l->ctx, d->buf, d->c->size, ms);
			if (n < 0)
				rc = (int)n;
			else if (loop_get(d->buf).tag == tag)
				break;
		}
	}
	if (rc == 0 && rep)
		memcpy(rep, d->buf + sizeof(struct loop_hdr), sizeof(*rep));
	return rc;
}

static int
drive_ping(struct drive *d, uint32_t seq)
{
	const struct bench_link *l = d->l;
	loop_set(d->buf, 'p', seq, 0);
	int rc = l->ops->send(l->ctx, d->buf, d->c->size);
	while (rc == 0) {
		ssize_t n =
		        l->ops->recv(l->ctx, d->buf, d->c->size, l->timeout);
		if (n < 0)
			return (int)n;
		struct loop_hdr h = loop_get(d->buf);
		if (h.type == 'p' && h.seq == seq)
			return 0;
		if (!l->lossy)
			return -EPROTO;
	}
	return rc;
}

/* Begin a phase of type 'b' (or 'z': zero-copy), and its clocks. */
static int
drive_begin(struct drive *d, uint32_t type)
{
	int rc = drive_ctl(d, type, NULL);
	d->u0 = loop_usage();
	d->t0 = bench_now_us();
	return rc;
}

/* End a phase: its time, and the CPU and switches of both processes. */
static int
drive_end(struct drive *d, struct loop_phase *ph)
{
	int rc = drive_ctl(d, 'e', &ph->rep);
	ph->us = bench_now_us() - d->t0;
	struct loop_usage now = loop_usage();
	if (rc == 0) {
		ph->u.cpu_us = now.cpu_us - d->u0.cpu_us + ph->rep.cpu_us;
		ph->u.csw = now.csw - d->u0.csw + ph->rep.csw;
	}
	return rc;
}

static bool
drive_over(const struct drive *d, double now)
{
	return d->c->phase_ms > 0 && now - d->t0 > d->c->phase_ms * 1e3;
}

static int
drive_rtt(struct drive *d, struct bench_run *r)
{
	int want = d->c->rtts, n = 0, rc = 0;
	double *lat = malloc((size_t)want * sizeof(*lat));
	if (!lat)
		return -ENOMEM;
	for (int i = 0; rc == 0 && i < LOOP_WARMUP && i < want; i++)
		rc = drive_ping(d, (uint32_t)i);
	if (rc == 0)
		rc = drive_begin(d, 'b');
	while (rc == 0 && n < want) {
		double t = bench_now_us();
		rc = drive_ping(d, (uint32_t)n);
		double t1 = bench_now_us();
		lat[n++] = t1 - t;
		if (n >= 100 && drive_over(d, t1))
			break;
	}
	struct loop_phase ph;
	if (rc == 0)
		rc = drive_end(d, &ph);
	if (rc == 0) {
		bench_percentiles(lat, n, &r->v[BM_P50]);
		r->v[BM_RTT_CPU] = ph.u.cpu_us / n;
		r->v[BM_RTT_CSW] = ph.u.csw / n;
		r->v[BM_RTT_CORES] = ph.u.cpu_us / n / r->v[BM_P50];
	}
	free(lat);
	return rc;
}

/* k messages numbered from seq, in one batch call or one by one. */
static int
drive_burst(struct drive *d, bool batch, uint32_t seq, int k)
{
	const struct bench_link *l = d->l;
	for (int i = 0; i < k; i++)
		loop_set(d->iov[i].iov_base, 't', seq + (uint32_t)i, 0);
	if (batch && l->ops->send_batch)
		return l->ops->send_batch(l->ctx, d->iov, k);
	for (int i = 0; i < k; i++) {
		int rc = l->ops->send(l->ctx, d->iov[i].iov_base, d->c->size);
		if (rc < 0)
			return i ? i : rc;
	}
	return k;
}

/* Sleep until sent messages are due at rate per second. */
static void
drive_pace(const struct drive *d, uint32_t sent, double rate)
{
	double due = d->t0 + sent / rate * 1e6; /* CLOCK_MONOTONIC, us */
	if (bench_now_us() >= due)
		return;
	struct timespec ts = {(time_t)(due / 1e6), 0};
	ts.tv_nsec = (long)((due - (double)ts.tv_sec * 1e6) * 1e3);
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static int
drive_send_all(struct drive *d, bool batch, double pace, uint32_t *sent)
{
	int count = d->c->count, nb = batch ? d->nb : 1, rc = 0;
	if (pace > 0 && nb > LOOP_PACE_BURST)
		nb = LOOP_PACE_BURST;
	for (uint32_t next = 0; rc == 0 && *sent < (uint32_t)count;) {
		int k = count - (int)*sent < nb ? count - (int)*sent : nb;
		rc = drive_burst(d, batch, *sent, batch ? k : 1);
		if (rc > 0)
			*sent += (uint32_t)rc, rc = 0;
		if (*sent < next)
			continue;
		next = *sent + LOOP_PACE_BURST;
		if (pace > 0)
			drive_pace(d, *sent, pace);
		if (drive_over(d, bench_now_us()))
			break;
	}
	return rc;
}

/* Zero-copy: each message is loaned, only its header and last byte are
 * written (iceoryx's conditions), and it is committed. */
static int
drive_loan_all(struct drive *d, uint32_t *sent)
{
	const struct bench_link *l = d->l;
	size_t size = d->c->size;
	int rc = 0;
	while (rc == 0 && *sent < (uint32_t)d->c->zc_count) {
		void *p;
		rc = l->ops->reserve(l->ctx, size, &p);
		if (rc < 0)
			break;
		loop_set(p, 't', *sent, 0);
		((char *)p)[size - 1] = (char)*sent;
		rc = l->ops->commit(l->ctx, size);
		if (++*sent % LOOP_PACE_BURST == 0 &&
		    drive_over(d, bench_now_us()))
			break;
	}
	return rc;
}

/* End a one-way phase of sent messages: what got through, how fast. */
static int
drive_tally(struct drive *d, int rc, uint32_t sent, double pace,
            struct oneway *o)
{
	struct loop_phase ph;
	if (rc == 0)
		rc = drive_end(d, &ph);
	uint32_t got = rc == 0 ? ph.rep.got : 0;
	if (rc == 0 && !d->l->lossy && (ph.rep.bad || got != sent))
		rc = -EPROTO; /* lost or reordered on a reliable transport */
	if (rc < 0 || got == 0)
		return rc < 0 ? rc : -EPROTO;
	*o = (struct oneway){.msgs = got / (ph.us / 1e6),
	                     .mbps = got * (double)d->c->size / ph.us,
	                     .cpu = ph.u.cpu_us / got,
	                     .csw = ph.u.csw / got,
	                     .loss = (double)(sent - got) / sent,
	                     .paced = pace};
	return 0;
}

static int
drive_oneway(struct drive *d, bool batch, double pace, struct oneway *o)
{
	uint32_t sent = 0;
	int rc = drive_begin(d, 'b');
	if (rc == 0)
		rc = drive_send_all(d, batch, pace, &sent);
	return drive_tally(d, rc, sent, pace, o);
}

/* The zero-copy phase: its four numbers stay NAN if it does not run. */
static int
drive_zero_copy(struct drive *d, struct bench_run *r)
{
	struct oneway o;
	uint32_t sent = 0;
	int rc = d->l->ops->reserve ? drive_begin(d, 'z') : -ENOTSUP;
	if (rc == 0)
		rc = drive_loan_all(d, &sent);
	rc = drive_tally(d, rc, sent, 0, &o);
	if (rc == 0) {
		r->v[BM_ZMSGS] = o.msgs;
		r->v[BM_ZMBPS] = o.mbps;
		r->v[BM_ZCPU] = o.cpu;
		r->v[BM_ZCSW] = o.csw;
	}
	return rc;
}

/* Pace from 0.9x the rate that got through down until the loss is
 * under the limit; then halve the gap to the last lossy pace twice. */
static int
drive_search(struct drive *d, bool batch, struct oneway *o)
{
	int rc = drive_oneway(d, batch, 0, o);
	if (rc < 0 || !d->l->lossy || o->loss < BENCH_LOSS_OK)
		return rc;
	double hi = o->msgs, pace = hi * 0.9;
	bool found = false;
	for (int i = 0; rc == 0 && !found && i < LOOP_SEARCH; i++) {
		rc = drive_oneway(d, batch, pace, o);
		found = rc == 0 && o->loss < BENCH_LOSS_OK;
		if (!found)
			hi = pace, pace *= 0.7;
	}
	struct oneway best = *o;
	for (int i = 0; rc == 0 && found && i < LOOP_BISECT; i++) {
		rc = drive_oneway(d, batch, (best.paced + hi) / 2, o);
		if (rc == 0 && o->loss < BENCH_LOSS_OK)
			best = *o;
		else
			hi = o->paced;
	}
	*o = best;
	return rc;
}

static int
drive_gap(struct drive *d, struct bench_run *r)
{
	double lat[LOOP_GAPS];
	int ms = d->c->gap_ms, rc = drive_begin(d, 'b');
	for (int i = 0; rc == 0 && i < LOOP_GAPS; i++) {
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
		double t = bench_now_us();
		rc = drive_ping(d, (uint32_t)i);
		lat[i] = bench_now_us() - t;
	}
	struct loop_phase ph;
	if (rc == 0)
		rc = drive_end(d, &ph);
	if (rc == 0) {
		double p[5];
		bench_percentiles(lat, LOOP_GAPS, p);
		r->v[BM_GAP_P50] = p[0];
		r->v[BM_GAP_MAX] = p[4];
		r->v[BM_IDLE_CPU] =
		        ph.rep.cpu_us / (LOOP_GAPS * ms * 1e3) * 100;
	}
	return rc;
}

static void
drive_store(struct bench_run *r, const struct oneway *o, int at)
{
	r->v[at] = o->msgs;
	r->v[at + 1] = o->mbps;
	r->v[at + 2] = o->cpu;
	r->v[at + 3] = o->csw;
	r->v[at + 4] = o->loss;
}

static int
drive_phases(struct drive *d, struct bench_run *r)
{
	struct oneway o;
	int rc = drive_rtt(d, r);
	if (rc == 0)
		rc = drive_search(d, false, &o);
	if (rc == 0) {
		drive_store(r, &o, BM_MSGS);
		r->v[BM_PACED] = o.paced;
		rc = drive_search(d, true, &o);
	}
	if (rc == 0)
		drive_store(r, &o, BM_BMSGS);
	for (int m = BM_ZMSGS; m <= BM_ZCSW; m++)
		r->v[m] = NAN;
	if (rc == 0 && d->c->zc)
		rc = drive_zero_copy(d, r);
	if (rc == 0 && d->c->gap_ms > 0)
		rc = drive_gap(d, r);
	return rc;
}

int
bench_drive(const struct bench_link *l, const struct bench_case *c,
            struct bench_run *r)
{
	struct drive d = {.l = l, .c = c};
	size_t fit = LOOP_BATCH_BYTES / c->size;
	d.nb = fit < 1 ? 1 : fit > LOOP_BATCH ? LOOP_BATCH : (int)fit;
	d.buf = loop_alloc(c->size);
	d.bufs = loop_alloc((size_t)d.nb * c->size);
	d.iov = calloc((size_t)d.nb, sizeof(*d.iov));
	int rc = d.buf && d.bufs && d.iov ? 0 : -ENOMEM;
	if (rc == 0) {
		memset(d.buf, 0xa5, c->size);
		memset(d.bufs, 0x5a, (size_t)d.nb * c->size);
		for (int i = 0; i < d.nb; i++)
			d.iov[i] =
			        (struct iovec){d.bufs + i * c->size, c->size};
		rc = drive_phases(&d, r);
		loop_set(d.buf, 'q', 0, 0);
		l->ops->send(l->ctx, d.buf, c->size);
	}
	free(d.buf);
	free(d.bufs);
	free(d.iov);
	return rc;
}
