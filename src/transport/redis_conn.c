/*
 * redis_conn.c - the connection half of redis.c: a connect that honours
 * the channel's deadline and cancel descriptor, AUTH and SELECT, and
 * pipelined commands on a non-blocking hiredis context (ipckit writes
 * the protocol, hiredis parses replies; every wait is ipk__wait's).
 */
#include "redis_conn.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void
ipk__rds_cmd_add(struct ipk__rds_cmd *cmd, const char *s, size_t len)
{
	cmd->argv[cmd->argc] = s;
	cmd->len[cmd->argc++] = len;
}

void
ipk__rds_add(struct ipk__rds_cmd *cmd, const char *s)
{
	ipk__rds_cmd_add(cmd, s, strlen(s));
}

/* The server gone between replies is -EPIPE, in the middle of one
 * (part of it parsed or buffered) -ECONNRESET, as a peer gone in the
 * middle of a message is on every transport. */
static int
rds_ctx_err(const redisContext *ctx)
{
	const redisReader *rd = ctx->reader;
	if (ctx->err == REDIS_ERR_PROTOCOL)
		return -EPROTO;
	if (ctx->err == REDIS_ERR_OOM)
		return -ENOMEM;
	return rd && (rd->ridx > 0 || rd->len > rd->pos) ? -ECONNRESET : -EPIPE;
}

static int
rds_flush(const struct ipk_chan *c, redisContext *ctx, int64_t deadline)
{
	for (;;) {
		int done = 0;
		if (redisBufferWrite(ctx, &done) != REDIS_OK)
			return rds_ctx_err(ctx);
		if (done)
			return 0;
		int rc = ipk__wait(c, ctx->fd, POLLOUT, deadline);
		if (rc < 0)
			return rc;
	}
}

/* The deadline of a reply: the server owes it by the caller's deadline,
 * a blocking command's end, so past it only the round trip is allowed. */
static int64_t
rds_reply_deadline(int64_t deadline)
{
	if (deadline == IPK_NEVER)
		return IPK_NEVER;
	int64_t now = ipk__now_ms();
	return (deadline > now ? deadline : now) + IPK__RDS_GRACE_MS;
}

static int
rds_read(const struct ipk_chan *c, redisContext *ctx, redisReply **r,
         int64_t deadline)
{
	for (;;) {
		void *p = NULL;
		if (redisGetReplyFromReader(ctx, &p) != REDIS_OK)
			return rds_ctx_err(ctx);
		if (p) {
			*r = p;
			return 0;
		}
		int rc = ipk__wait(c, ctx->fd, POLLIN, deadline);
		if (rc == -EAGAIN)
			rc = -ETIMEDOUT;
		if (rc < 0)
			return rc;
		if (redisBufferRead(ctx) != REDIS_OK)
			return rds_ctx_err(ctx);
	}
}

/* "<prefix><n>\r\n" of the protocol. */
static char *
rds_put_len(char *p, char prefix, size_t n)
{
	char digits[24];
	int k = 0;
	do
		digits[k++] = (char)('0' + n % 10);
	while ((n /= 10));
	*p++ = prefix;
	while (k)
		*p++ = digits[--k];
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

/* The commands in the protocol's form, written at once: hiredis formats
 * each argument through sdscatfmt, most of a pipeline's time (perf). */
static int
rds_append(redisContext *ctx, const struct ipk__rds_cmd *cmd, size_t n)
{
	size_t size = 0;
	for (size_t i = 0; i < n; i++)
		for (int a = 0; a < cmd[i].argc; a++)
			size += 26 +
			        cmd[i].len[a]; /* "$<20 digits>\r\n...\r\n" */
	char *buf = malloc(size + 24 * n), *p = buf;
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		p = rds_put_len(p, '*', (size_t)cmd[i].argc);
		for (int a = 0; a < cmd[i].argc; a++) {
			p = rds_put_len(p, '$', cmd[i].len[a]);
			memcpy(p, cmd[i].argv[a], cmd[i].len[a]);
			p += cmd[i].len[a];
			*p++ = '\r';
			*p++ = '\n';
		}
	}
	int rc = redisAppendFormattedCommand(ctx, buf, (size_t)(p - buf));
	free(buf);
	return rc == REDIS_OK ? 0 : -ENOMEM;
}

int
ipk__rds_exec(const struct ipk_chan *c, redisContext *ctx,
              struct ipk__rds_cmd *cmd, size_t n, redisReply **r, bool asking,
              int64_t deadline)
{
	memset(r, 0, n * sizeof(*r));
	redisReply *ok = NULL;
	if ((asking && redisAppendCommand(ctx, "ASKING") != REDIS_OK) ||
	    rds_append(ctx, cmd, n) < 0)
		return -ENOMEM;
	int64_t until = rds_reply_deadline(deadline);
	int rc = rds_flush(c, ctx, until);
	if (rc == 0 && asking && (rc = rds_read(c, ctx, &ok, until)) == 0)
		freeReplyObject(ok);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = rds_read(c, ctx, &r[i], until);
	if (rc < 0)
		ipk__rds_free(r, n);
	return rc;
}

void
ipk__rds_free(redisReply **r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (r[i])
			freeReplyObject(r[i]);
		r[i] = NULL;
	}
}

bool
ipk__rds_is(const redisReply *r, const char *prefix)
{
	return r && r->type == REDIS_REPLY_ERROR &&
	       strncmp(r->str, prefix, strlen(prefix)) == 0;
}

int
ipk__rds_error(const redisReply *r)
{
	if (!r || r->type != REDIS_REPLY_ERROR)
		return 0;
	if (ipk__rds_is(r, "WRONGPASS") || ipk__rds_is(r, "NOAUTH") ||
	    ipk__rds_is(r, "NOPERM") || strstr(r->str, "password"))
		return -EACCES;
	if (ipk__rds_is(r, "WRONGTYPE"))
		return -EEXIST;
	if (ipk__rds_is(r, "NOGROUP") || strstr(r->str, "no such key"))
		return -ENOENT;
	if (ipk__rds_is(r, "OOM"))
		return -ENOMEM;
	return -EPROTO;
}

int
ipk__rds_redirect(const redisReply *r, struct ipk__rds_node *to, bool *ask)
{
	*ask = ipk__rds_is(r, "ASK ");
	if (!*ask && !ipk__rds_is(r, "MOVED "))
		return 0;
	/* "MOVED <slot> <host>:<port>"; an IPv6 host has colons itself. */
	const char *hp = strchr(r->str, ' ');
	hp = hp ? strchr(hp + 1, ' ') : NULL;
	const char *colon = hp ? strrchr(hp, ':') : NULL;
	if (!colon || colon == hp + 1)
		return 0;
	hp++;
	size_t n = (size_t)(colon - hp);
	long port = strtol(colon + 1, NULL, 10);
	if (n >= sizeof(to->host) || port < 1 || port > 65535)
		return 0;
	memcpy(to->host, hp, n);
	to->host[n] = '\0';
	to->port = (int)port;
	return 1;
}

/* Immediate failures of redisConnectNonBlock: refused, unresolved. */
static int
rds_connect_err(const redisContext *ctx, int e)
{
	if (ctx->err == REDIS_ERR_IO)
		return e ? -e : -EPIPE;
	return ctx->err == REDIS_ERR_OOM ? -ENOMEM : -ENXIO;
}

static int
rds_connect_once(const struct ipk_chan *c, const struct ipk__rds_node *node,
                 int64_t deadline, redisContext **out)
{
	errno = 0;
	redisContext *ctx = redisConnectNonBlock(node->host, node->port);
	int e = errno;
	if (!ctx)
		return -ENOMEM;
	int rc = ctx->err ? rds_connect_err(ctx, e)
	                  : ipk__wait(c, ctx->fd, POLLOUT, deadline);
	if (rc == 0) {
		socklen_t len = sizeof(e);
		if (getsockopt(ctx->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
			e = errno;
		rc = -e;
	}
	if (rc < 0) {
		redisFree(ctx);
		return rc == -EAGAIN ? -ETIMEDOUT : rc;
	}
	*out = ctx;
	return 0;
}

/* AUTH (when there is a password), SELECT (when ?db), then PING: a
 * server that needs a password we lack says NOAUTH to the PING. */
static int
rds_hello(const struct ipk_chan *c, redisContext *ctx,
          const struct ipk__rds_addr *a, int64_t deadline)
{
	struct ipk__rds_cmd cmd[3] = {{0}};
	size_t n = 0;
	char db[24];
	if (a->pass[0]) {
		ipk__rds_add(&cmd[n], "AUTH");
		if (a->user[0])
			ipk__rds_cmd_add(&cmd[n], a->user, strlen(a->user));
		ipk__rds_cmd_add(&cmd[n++], a->pass, strlen(a->pass));
	}
	if (a->db) {
		snprintf(db, sizeof(db), "%lld", a->db);
		ipk__rds_add(&cmd[n], "SELECT");
		ipk__rds_cmd_add(&cmd[n++], db, strlen(db));
	}
	ipk__rds_add(&cmd[n++], "PING");
	redisReply *r[3];
	int rc = ipk__rds_exec(c, ctx, cmd, n, r, false, deadline);
	if (rc < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = ipk__rds_is(r[i], "ERR SELECT is not allowed in cluster")
		             ? -EINVAL
		             : ipk__rds_error(r[i]);
	if (rc == 0 && (r[n - 1]->type != REDIS_REPLY_STATUS ||
	                strcmp(r[n - 1]->str, "PONG") != 0))
		rc = -EPROTO;
	ipk__rds_free(r, n);
	return rc;
}

int
ipk__rds_connect(const struct ipk_chan *c, const struct ipk__rds_addr *a,
                 const struct ipk__rds_node *node, int64_t deadline,
                 redisContext **out)
{
	int step = 1, rc, e;
	redisContext *ctx = NULL;
	/* Wait for the server to come up, as a TCP dial waits. */
	while ((rc = rds_connect_once(c, node, deadline, &ctx)) ==
	       -ECONNREFUSED)
		if ((e = ipk__backoff(c, &step, deadline)) < 0)
			return e == -ECANCELED ? e : rc;
	if (rc < 0)
		return rc;
	rc = rds_hello(c, ctx, a, deadline);
	if (rc < 0) {
		redisFree(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}
