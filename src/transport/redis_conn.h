/*
 * redis_conn.h - what redis.c takes from redis_url.c (where the server
 * is and who we are to it) and redis_conn.c (one connection made with a
 * deadline, and commands pipelined on it with a deadline).
 */
#ifndef IPK_REDIS_CONN_H
#define IPK_REDIS_CONN_H

#include "../core/core.h"

#include <hiredis/hiredis.h>

/* A reply later than the deadline by this much means the server is stuck. */
#define IPK__RDS_GRACE_MS 1000

/* A server: the URL's, or the node a cluster redirected us to. */
struct ipk__rds_node {
	char host[256];
	int port;
};

struct ipk__rds_addr {
	struct ipk__rds_node node;
	char user[256], pass[512]; /* empty: none */
	long long db;
	char *key; /* the stream */
};

/*
 * Parse u (redis://[user[:password]@]host[:port]/stream?db=N); the
 * password may come from $REDISCLI_AUTH.  0, or -EINVAL with a sentence
 * in why (never naming the password).
 */
int ipk__rds_addr_parse(const struct ipk_url *u, struct ipk__rds_addr *a,
                        char *why, size_t size);
/* -EINVAL, with text in why (when not NULL). */
int ipk__rds_why(char *why, size_t size, const char *text);
void ipk__rds_addr_free(struct ipk__rds_addr *a);
/* text with the password of its userinfo replaced by "***" (malloc'd). */
char *ipk__rds_redact(const char *text);

/*
 * Connect to node, AUTH, SELECT and PING before the deadline, retrying refused
 * connections as a TCP dial does.  0 and *out, or -ECONNREFUSED,
 * -ETIMEDOUT, -ECANCELED, -EACCES (AUTH refused), -EPROTO (not Redis),
 * -ENXIO (the host does not resolve), -EINVAL (?db= on a cluster).
 */
int ipk__rds_connect(const struct ipk_chan *c, const struct ipk__rds_addr *a,
                     const struct ipk__rds_node *node, int64_t deadline,
                     redisContext **out);

/* One command of a pipeline: argc arguments, binary safe. */
struct ipk__rds_cmd {
	int argc;
	const char *argv[12];
	size_t len[12];
};

/*
 * A cluster's redirect in r: 1 with the node to ask (*ask: this once,
 * after ASKING; else MOVED, from now on), 0 when r is none.
 */
int ipk__rds_redirect(const redisReply *r, struct ipk__rds_node *to, bool *ask);

/*
 * Send n commands (after ASKING, when asking) and read their n replies into r
 * (freed by the caller with ipk__rds_free).  The replies may arrive until
 * deadline plus IPK__RDS_GRACE_MS.  0, or a negative errno after which the
 * connection is unusable (-EPIPE, -EPROTO, -ETIMEDOUT, -ECANCELED).  An error
 * reply is not a failure here: see ipk__rds_error.
 */
int ipk__rds_exec(const struct ipk_chan *c, redisContext *ctx,
                  struct ipk__rds_cmd *cmd, size_t n, redisReply **r,
                  bool asking, int64_t deadline);
void ipk__rds_free(redisReply **r, size_t n);
/* An error reply as an errno: 0 if r is no error, else -EACCES, -EEXIST
 * (WRONGTYPE), -ENOENT (NOGROUP, no such key), -ENOMEM, -EPROTO. */
int ipk__rds_error(const redisReply *r);
/* True when r is an error reply whose text starts with prefix. */
bool ipk__rds_is(const redisReply *r, const char *prefix);

void ipk__rds_cmd_add(struct ipk__rds_cmd *cmd, const char *s, size_t len);
void ipk__rds_add(struct ipk__rds_cmd *cmd, const char *s); /* a C string */

#endif
