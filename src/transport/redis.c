/*
 * redis.c - "redis://[user[:password]@]host:port/stream": a durable
 * queue across machines on Redis Streams.  A message is one entry with
 * one field "m"; receivers share a consumer group (?group=, ?consumer=)
 * and acknowledge a message when they ask for the next one.  Sending and
 * receiving use separate connections (redis_conn.c), since a blocked
 * XREADGROUP holds its connection.
 */
#include "redis.h"
#include "../core/transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const rds_options[] = {
        "group", "consumer", "claim", "maxlen", "db", "reconnect", NULL};

/* The default consumer: stable across restarts, so a restarted worker
 * reads its own pending messages first ("<host>-<group>"). */
static char *
rds_consumer(const char *group)
{
	char host[256] = "localhost", *out;
	gethostname(host, sizeof(host) - 1);
	return asprintf(&out, "%s-%s", host, group) < 0 ? NULL : out;
}

static int
rds_names(struct ipk__rds_chan *q, const struct ipk_url *u, char *why,
          size_t size)
{
	const char *g = ipk__url_get(u, "group"),
	           *cs = ipk__url_get(u, "consumer");
	if ((g && !*g) || (cs && !*cs))
		return ipk__rds_why(why, size,
		                    "?group= and ?consumer= need a name");
	q->any_group = !g;
	q->group = strdup(g ? g : RDS_GROUP);
	q->consumer = cs ? strdup(cs) : rds_consumer(q->group);
	return q->group && q->consumer ? 0 : -ENOMEM;
}

static int
rds_parse(struct ipk__rds_chan *q, const struct ipk_url *u, char *why,
          size_t size)
{
	int rc = ipk__rds_addr_parse(u, &q->addr, why, size);
	if (rc < 0)
		return rc;
	q->claim_ms = RDS_CLAIM_MS;
	if (ipk__url_num(u, "claim", 0, INT32_MAX, &q->claim_ms) < 0)
		return ipk__rds_why(why, size, "bad ?claim= (ms, 0 for never)");
	if (ipk__url_num(u, "maxlen", 1, INT64_MAX, &q->maxlen) < 0)
		return ipk__rds_why(why, size,
		                    "bad ?maxlen= (entries, 1 or more)");
	snprintf(q->maxlen_s, sizeof(q->maxlen_s), "%lld", q->maxlen);
	int reconnect = ipk__url_flag(u, "reconnect");
	if (reconnect < 0)
		return ipk__rds_why(why, size, "?reconnect takes no value");
	q->reconnect = reconnect > 0;
	strcpy(q->cursor, "0-0");
	q->rd_node = q->wr_node = q->addr.node;
	return rds_names(q, u, why, size);
}

static void
rds_free(struct ipk__rds_chan *q)
{
	if (q->rd)
		redisFree(q->rd);
	if (q->wr)
		redisFree(q->wr);
	if (q->held)
		freeReplyObject(q->held);
	q->rd = q->wr = NULL;
	q->held = NULL;
	free(q->group);
	free(q->consumer);
	q->group = q->consumer = NULL;
	ipk__rds_addr_free(&q->addr);
}

static int
rds_check(const struct ipk_url *u, char *why, size_t size)
{
	struct ipk__rds_chan q = {0};
	int rc = rds_parse(&q, u, why, size);
	rds_free(&q);
	return rc;
}

/*
 * A connection lost, or left with a reply still owed (a wait that
 * ended): drop it.  A lost server is the channel's sticky error unless
 * ?reconnect; the next call connects again otherwise.
 */
static int
rds_drop(struct ipk__rds_chan *q, redisContext **ctx, int rc)
{
	redisFree(*ctx);
	*ctx = NULL;
	if (ctx == &q->rd)
		q->own_done = false; /* a reply lost may have delivered one */
	if (ipk__is_wait_end(rc) || q->reconnect)
		return rc;
	return ipk__break(&q->base, rc);
}

static struct ipk__rds_node *
rds_node(struct ipk__rds_chan *q, redisContext **ctx)
{
	return ctx == &q->rd ? &q->rd_node : &q->wr_node;
}

/* Connect *ctx if needed, within the call's deadline and ?timeout=. */
static int
rds_conn(struct ipk__rds_chan *q, redisContext **ctx, int64_t deadline)
{
	if (*ctx)
		return 0;
	int64_t until = ipk__deadline(q->base.timeout);
	if (deadline != 0 && deadline < until)
		until = deadline;
	int rc = ipk__rds_connect(&q->base, &q->addr, rds_node(q, ctx), until,
	                          ctx);
	if (ctx == &q->rd)
		q->own_done = false;
	return rc;
}

/* After a call sent with ASKING: back to the node that owns the slot. */
static void
rds_ask_done(struct ipk__rds_chan *q, redisContext **ctx,
             const struct ipk__rds_node *home)
{
	if (*ctx)
		redisFree(*ctx);
	*ctx = NULL;
	*rds_node(q, ctx) = *home;
}

/*
 * A cluster node said the key lives elsewhere: go there (for MOVED from
 * now on, for ASK this once) and send the commands again.  1 when so.
 */
static int
rds_redirected(struct ipk__rds_chan *q, redisContext **ctx, redisReply **r,
               size_t n, bool *ask, struct ipk__rds_node *home)
{
	struct ipk__rds_node *node = rds_node(q, ctx), to;
	size_t i = 0;
	while (i < n && !ipk__rds_redirect(r[i], &to, ask))
		i++;
	if (i == n)
		return 0;
	ipk__rds_free(r, n);
	redisFree(*ctx);
	*ctx = NULL;
	if (*ask) /* a connection for the one call; the slot stays here */
		*home = *node;
	*node = to;
	return 1;
}

/*
 * Run n commands on *ctx, following a cluster's redirects.  With
 * ?reconnect, a connection found dead at its first use after a quiet
 * spell (the server restarted) is made again and the commands sent once
 * more: at least once, as the group's delivery is.
 */
int
ipk__rds_run(struct ipk__rds_chan *q, redisContext **ctx,
             struct ipk__rds_cmd *cmd, size_t n, redisReply **r,
             int64_t deadline)
{
	bool ask = false, retried = false;
	struct ipk__rds_node home = {"", 0};
	for (int hops = 0;;) {
		bool fresh = !*ctx, asking = ask;
		int rc = rds_conn(q, ctx, deadline);
		if (rc == 0 && (rc = ipk__rds_exec(&q->base, *ctx, cmd, n, r,
		                                   asking, deadline)) < 0)
			rc = rds_drop(q, ctx, rc);
		if (asking)
			rds_ask_done(q, ctx, &home);
		if (rc == 0 && hops++ < RDS_REDIRECTS &&
		    rds_redirected(q, ctx, r, n, &ask, &home))
			continue;
		if (rc != -EPIPE || fresh || !q->reconnect || retried)
			return rc;
		retried = true;
	}
}

void
ipk__rds_key_cmd(struct ipk__rds_cmd *cmd, const struct ipk__rds_chan *q,
                 const char *verb)
{
	ipk__rds_add(cmd, verb);
	ipk__rds_add(cmd, q->addr.key);
}

/* The group and the stream, made together if absent (from ID 0: no
 * message written before the group is lost to it). */
static int
rds_group_create(struct ipk__rds_chan *q, int64_t deadline)
{
	struct ipk__rds_cmd cmd = {0};
	ipk__rds_add(&cmd, "XGROUP");
	ipk__rds_add(&cmd, "CREATE");
	ipk__rds_add(&cmd, q->addr.key);
	ipk__rds_add(&cmd, q->group);
	ipk__rds_add(&cmd, "0");
	ipk__rds_add(&cmd, "MKSTREAM");
	redisReply *r;
	int rc = ipk__rds_run(q, &q->rd, &cmd, 1, &r, deadline);
	if (rc < 0)
		return rc;
	if (!ipk__rds_is(r, "BUSYGROUP"))
		rc = ipk__rds_error(r);
	freeReplyObject(r);
	return rc;
}

static int
rds_listen(struct ipk_chan *c, const struct ipk_url *u)
{
	struct ipk__rds_chan *q = (struct ipk__rds_chan *)c;
	int rc = rds_parse(q, u, NULL, 0);
	if (rc == 0)
		rc = rds_group_create(q, ipk__deadline(c->timeout));
	if (rc < 0)
		rds_free(q);
	return rc;
}

/* 1 when XINFO GROUPS r lists our group (any group without ?group=). */
static int
rds_group_listed(const struct ipk__rds_chan *q, const redisReply *r)
{
	if (r->type != REDIS_REPLY_ARRAY)
		return -EPROTO;
	if (q->any_group)
		return r->elements > 0;
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *g = r->element[i];
		for (size_t j = 0;
		     g->type == REDIS_REPLY_ARRAY && j + 1 < g->elements;
		     j += 2)
			if (g->element[j]->type == REDIS_REPLY_STRING &&
			    !strcmp(g->element[j]->str, "name") &&
			    g->element[j + 1]->type == REDIS_REPLY_STRING &&
			    !strcmp(g->element[j + 1]->str, q->group))
				return 1;
	}
	return 0;
}

static int
rds_has_group(struct ipk__rds_chan *q, int64_t deadline)
{
	struct ipk__rds_cmd cmd = {0};
	ipk__rds_add(&cmd, "XINFO");
	ipk__rds_key_cmd(&cmd, q, "GROUPS");
	redisReply *r;
	int rc = ipk__rds_run(q, &q->wr, &cmd, 1, &r, deadline);
	if (rc < 0)
		return rc;
	rc = ipk__rds_error(r);
	if (rc == 0)
		rc = rds_group_listed(q, r);
	freeReplyObject(r);
	return rc == -ENOENT ? 0 : rc;
}

/* A producer waits for a group, so nothing is written before anyone
 * can read it. */
static int
rds_dial(struct ipk_chan *c, const struct ipk_url *u)
{
	struct ipk__rds_chan *q = (struct ipk__rds_chan *)c;
	int64_t deadline = ipk__deadline(c->timeout);
	int step = 1;
	int rc = rds_parse(q, u, NULL, 0);
	while (rc == 0 && (rc = rds_has_group(q, deadline)) == 0)
		if ((rc = ipk__backoff(c, &step, deadline)) < 0)
			rc = rc == -ECANCELED ? rc : -ENOENT;
	if (rc < 0)
		rds_free(q);
	return rc < 0 ? rc : 0;
}

static void
rds_xadd(const struct ipk__rds_chan *q, struct ipk__rds_cmd *cmd,
         const void *buf, size_t len)
{
	memset(cmd, 0, sizeof(*cmd));
	ipk__rds_key_cmd(cmd, q, "XADD");
	if (q->maxlen) {
		ipk__rds_add(cmd, "MAXLEN");
		ipk__rds_add(cmd, "~");
		ipk__rds_add(cmd, q->maxlen_s);
	}
	ipk__rds_add(cmd, "*");
	ipk__rds_add(cmd, RDS_FIELD);
	ipk__rds_cmd_add(cmd, len ? buf : "", len);
}

static int
rds_added(const redisReply *r)
{
	int rc = ipk__rds_error(r);
	return rc ? rc : r->type == REDIS_REPLY_STRING ? 0 : -EPROTO;
}

static int
rds_send(struct ipk_chan *c, const struct ipk_msg *m, int64_t deadline)
{
	struct ipk__rds_chan *q = (struct ipk__rds_chan *)c;
	if (m->nfds)
		return -ENOTSUP;
	struct ipk__rds_cmd cmd;
	rds_xadd(q, &cmd, m->buf, m->len);
	redisReply *r;
	int rc = ipk__rds_run(q, &q->wr, &cmd, 1, &r, deadline);
	if (rc == 0) {
		rc = rds_added(r);
		freeReplyObject(r);
	}
	return rc;
}

/* One pipelined round of n <= RDS_BATCH XADDs: how many went, or < 0. */
static int
rds_batch_round(struct ipk__rds_chan *q, const struct iovec *msgs, size_t n,
                int64_t deadline)
{
	struct ipk__rds_cmd cmd[RDS_BATCH];
	redisReply *r[RDS_BATCH];
	for (size_t i = 0; i < n; i++) {
		if (msgs[i].iov_len > q->base.max)
			return -EMSGSIZE; /* nothing of this round sent */
		rds_xadd(q, &cmd[i], msgs[i].iov_base, msgs[i].iov_len);
	}
	int rc = ipk__rds_run(q, &q->wr, cmd, n, r, deadline);
	if (rc < 0)
		return rc;
	size_t ok = 0;
	while (ok < n && (rc = rds_added(r[ok])) == 0)
		ok++;
	ipk__rds_free(r, n);
	return ok ? (int)ok : rc;
}

static int
rds_send_batch(struct ipk_chan *c, const struct iovec *msgs, size_t n,
               int64_t deadline)
{
	struct ipk__rds_chan *q = (struct ipk__rds_chan *)c;
	size_t done = 0;
	while (done < n) {
		size_t k = n - done < RDS_BATCH ? n - done : RDS_BATCH;
		int rc = rds_batch_round(q, msgs + done, k, deadline);
		if (rc < 0)
			return done ? (int)done : rc;
		done += (size_t)rc;
		if ((size_t)rc < k)
			break;
	}
	return (int)done;
}

static int
rds_name(const struct ipk_chan *c, char *buf, size_t size)
{
	if (!c->url)
		return -ENOTSUP;
	char *r = ipk__rds_redact(c->url);
	if (!r)
		return -ENOMEM;
	int rc = strlen(r) < size ? 0 : -ENAMETOOLONG;
	if (rc == 0)
		strcpy(buf, r);
	free(r);
	return rc;
}

/* Acknowledge the last message delivered; the stream and the group stay
 * (a durable queue outlives its readers). */
static void
rds_close(struct ipk_chan *c)
{
	struct ipk__rds_chan *q = (struct ipk__rds_chan *)c;
	if (q->ack[0] && !c->broken)
		ipk__rds_ack_now(q, ipk__deadline(c->timeout));
	rds_free(q);
}

const struct ipk_transport ipk__redis = {
        .scheme = "redis",
        .size = sizeof(struct ipk__rds_chan),
        .caps = IPK_CAP_MESSAGES,
        .options = rds_options,
        .listen = rds_listen,
        .dial = rds_dial,
        .send = rds_send,
        .recv = ipk__rds_recv,
        .send_batch = rds_send_batch,
        .check = rds_check,
        .name = rds_name,
        .close = rds_close,
};
