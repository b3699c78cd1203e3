/*
 * redis_recv.c - the consumer side of redis://: each ipk_recv
 * acknowledges the message delivered before (XACK, in the same round
 * trip) and takes one more: first our own pending entries (ID 0, left by
 * an earlier life of this consumer), then, every so often, one that a
 * consumer left pending longer than ?claim= (XAUTOCLAIM), else a new one
 * (XREADGROUP ... BLOCK in slices).  So a channel holds at most one
 * unacknowledged message: the one being handled.
 */
#include "redis.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum rds_how { RDS_OWN, RDS_CLAIM, RDS_NEW };

static int64_t
rds_claim_every(const struct ipk__rds_chan *q)
{
	long long ms = q->claim_ms / 2;
	return ms < 50 ? 50 : ms > RDS_SLICE_MS ? RDS_SLICE_MS : ms;
}

static enum rds_how
rds_how(const struct ipk__rds_chan *q)
{
	if (!q->own_done)
		return RDS_OWN;
	if (q->claim_ms && ipk__now_ms() >= q->next_claim)
		return RDS_CLAIM;
	return RDS_NEW;
}

/* BLOCK of a new read: -1 none (deadline 0), 0 past the deadline, or ms
 * up to a slice and the next claim, so a wait forever still claims. */
static long long
rds_block(const struct ipk__rds_chan *q, int64_t deadline)
{
	if (deadline == 0)
		return -1;
	long long left = ipk__remaining(deadline), ms = RDS_SLICE_MS;
	if (left == 0)
		return 0;
	if (left > 0 && left < ms)
		ms = left;
	long long to_claim = q->next_claim - ipk__now_ms();
	if (q->claim_ms && to_claim < ms)
		ms = to_claim > 0 ? to_claim : 1;
	return ms;
}

/* When a read's reply is due: at the end of its BLOCK, except that a
 * wait forever gives a slow server RDS_STUCK_MS more before it is
 * taken for gone. */
static int64_t
rds_until(long long block, int64_t deadline)
{
	if (block <= 0)
		return deadline;
	int64_t end = ipk__now_ms() + block;
	return deadline == IPK_NEVER ? end + RDS_STUCK_MS : end;
}

static void
rds_ack_cmd(const struct ipk__rds_chan *q, struct ipk__rds_cmd *cmd)
{
	ipk__rds_key_cmd(cmd, q, "XACK");
	ipk__rds_add(cmd, q->group);
	ipk__rds_add(cmd, q->ack);
}

struct rds_args {
	char block[24], claim[24];
};

static void
rds_read_cmd(const struct ipk__rds_chan *q, struct ipk__rds_cmd *cmd,
             enum rds_how how, long long block, struct rds_args *a)
{
	if (how == RDS_CLAIM) {
		snprintf(a->claim, sizeof(a->claim), "%lld", q->claim_ms);
		ipk__rds_key_cmd(cmd, q, "XAUTOCLAIM");
		ipk__rds_add(cmd, q->group);
		ipk__rds_add(cmd, q->consumer);
		ipk__rds_add(cmd, a->claim);
		ipk__rds_add(cmd, q->cursor);
		ipk__rds_add(cmd, "COUNT");
		ipk__rds_add(cmd, "1");
		return;
	}
	ipk__rds_add(cmd, "XREADGROUP");
	ipk__rds_add(cmd, "GROUP");
	ipk__rds_add(cmd, q->group);
	ipk__rds_add(cmd, q->consumer);
	ipk__rds_add(cmd, "COUNT");
	ipk__rds_add(cmd, "1");
	if (block > 0) {
		snprintf(a->block, sizeof(a->block), "%lld", block);
		ipk__rds_add(cmd, "BLOCK");
		ipk__rds_add(cmd, a->block);
	}
	ipk__rds_key_cmd(cmd, q, "STREAMS");
	ipk__rds_add(cmd, how == RDS_OWN ? "0" : ">");
}

/* The first [id, fields] of an entry list: 1, 0 for none, -EPROTO. */
static int
rds_first(const redisReply *list, const redisReply **entry)
{
	if (list->type == REDIS_REPLY_NIL)
		return 0;
	if (list->type != REDIS_REPLY_ARRAY)
		return -EPROTO;
	if (list->elements == 0)
		return 0;
	const redisReply *e = list->element[0];
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING ||
	    e->element[0]->len >= RDS_ID)
		return -EPROTO;
	*entry = e;
	return 1;
}

/* XREADGROUP's [[key, entries]] or XAUTOCLAIM's [cursor, entries, ...]. */
static int
rds_entry(struct ipk__rds_chan *q, const redisReply *r, enum rds_how how,
          const redisReply **entry)
{
	if (r->type == REDIS_REPLY_NIL)
		return 0;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1)
		return -EPROTO;
	const redisReply *e0 = r->element[0];
	if (how == RDS_CLAIM) {
		if (r->elements < 2 || e0->type != REDIS_REPLY_STRING ||
		    e0->len >= RDS_ID)
			return -EPROTO;
		memcpy(q->cursor, e0->str, e0->len + 1);
		return rds_first(r->element[1], entry);
	}
	if (e0->type != REDIS_REPLY_ARRAY || e0->elements != 2)
		return -EPROTO;
	return rds_first(e0->element[1], entry);
}

/* The message in an entry's fields: field "m", else the first value
 * (entries written by other programs).  0: the entry was deleted. */
static int
rds_value(const redisReply *f, const redisReply **val)
{
	if (f->type == REDIS_REPLY_NIL)
		return 0;
	if (f->type != REDIS_REPLY_ARRAY || f->elements < 2 || f->elements % 2)
		return -EPROTO;
	*val = NULL;
	for (size_t i = 0; i < f->elements; i += 2) {
		const redisReply *k = f->element[i], *v = f->element[i + 1];
		if (k->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			return -EPROTO;
		if (!*val || (k->len == 1 && k->str[0] == RDS_FIELD[0]))
			*val = v;
	}
	return 1;
}

/* What one read gave: 1 with the entry held in q, 0 for none, < 0. */
static int
rds_take(struct ipk__rds_chan *q, redisReply *r, enum rds_how how)
{
	const redisReply *entry = NULL, *val = NULL;
	int rc = ipk__rds_error(r);
	if (rc == 0)
		rc = rds_entry(q, r, how, &entry);
	if (rc == 0 && how == RDS_OWN)
		q->own_done = true;
	if (how == RDS_CLAIM && rc <= 0)
		q->next_claim = ipk__now_ms() + rds_claim_every(q);
	if (rc > 0 && (rc = rds_value(entry->element[1], &val)) == 0)
		strcpy(q->ack, entry->element[0]->str); /* trimmed: ack it */
	if (rc <= 0) {
		freeReplyObject(r);
		return rc;
	}
	q->held = r;
	q->hval = val;
	strcpy(q->hid, entry->element[0]->str);
	return 1;
}

/* One round trip: the acknowledgement and the next read. */
static int
rds_step(struct ipk__rds_chan *q, int64_t deadline)
{
	enum rds_how how = rds_how(q);
	long long block = how == RDS_NEW ? rds_block(q, deadline) : -1;
	if (block == 0)
		return -ETIMEDOUT;
	struct ipk__rds_cmd cmd[2] = {{0}};
	struct rds_args a;
	size_t n = 0;
	if (q->ack[0])
		rds_ack_cmd(q, &cmd[n++]);
	rds_read_cmd(q, &cmd[n++], how, block, &a);
	redisReply *r[2];
	int rc = ipk__rds_run(q, &q->rd, cmd, n, r, rds_until(block, deadline));
	if (rc == -ETIMEDOUT && deadline == IPK_NEVER) /* no reply to a BLOCK */
		rc = q->reconnect ? -EPIPE : ipk__break(&q->base, -EPIPE);
	if (rc < 0)
		return rc;
	if (n == 2 && (rc = ipk__rds_error(r[0])) == 0)
		q->ack[0] = '\0';
	if (n == 2)
		freeReplyObject(r[0]);
	if (rc < 0) {
		freeReplyObject(r[n - 1]);
		return rc;
	}
	rc = rds_take(q, r[n - 1], how);
	if (rc == 0 && how == RDS_NEW && deadline == 0)
		return -EAGAIN;
	return rc;
}

/* Hand out the held entry if it fits; it stays held (and pending in the
 * group, unacknowledged) if not. */
static ssize_t
rds_give(struct ipk__rds_chan *q, struct ipk_msg *m)
{
	size_t cap = m->len, len = q->hval->len;
	m->len = len;
	if (len > cap)
		return -EMSGSIZE;
	if (len)
		memcpy(m->buf, q->hval->str, len);
	strcpy(q->ack, q->hid);
	freeReplyObject(q->held);
	q->held = NULL;
	q->hval = NULL;
	return (ssize_t)len;
}

ssize_t
ipk__rds_recv(struct ipk_chan *c, struct ipk_msg *m, int64_t deadline)
{
	struct ipk__rds_chan *q = (struct ipk__rds_chan *)c;
	m->nfds = 0;
	while (!q->held) {
		int rc = rds_step(q, deadline);
		if (rc < 0)
			return rc;
	}
	return rds_give(q, m);
}

void
ipk__rds_ack_now(struct ipk__rds_chan *q, int64_t deadline)
{
	struct ipk__rds_cmd cmd = {0};
	rds_ack_cmd(q, &cmd);
	redisReply *r;
	if (ipk__rds_run(q, &q->rd, &cmd, 1, &r, deadline) == 0)
		freeReplyObject(r);
	q->ack[0] = '\0';
}
