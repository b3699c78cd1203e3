/*
 * redis.h - the state of a redis:// channel, shared by redis.c (set-up,
 * sending) and redis_recv.c (the consumer group's side).
 */
#ifndef IPK_REDIS_H
#define IPK_REDIS_H

#include "redis_conn.h"

#define RDS_FIELD "m"
#define RDS_GROUP "ipckit"
#define RDS_CLAIM_MS 30000 /* ?claim= default: a dead consumer's messages */
#define RDS_SLICE_MS 1000  /* a blocked read ends this often, to claim */
#define RDS_STUCK_MS 4000  /* a forever read: no reply this long after BLOCK */
#define RDS_REDIRECTS 5    /* MOVED / ASK followed per call */
#define RDS_BATCH 128      /* XADDs in flight in one send_batch round */
#define RDS_ID 48          /* "<ms>-<seq>": two 20-digit numbers */

struct ipk__rds_chan {
	struct ipk_chan base;
	struct ipk__rds_addr addr;
	redisContext *rd, *wr; /* receiving and sending connections */
	struct ipk__rds_node rd_node, wr_node; /* where each goes (MOVED) */
	char *group, *consumer;
	bool any_group; /* no ?group=: a dial waits for any group */
	bool reconnect; /* ?reconnect: a lost server is not sticky */
	long long claim_ms, maxlen;
	char maxlen_s[24];
	bool own_done;      /* our pending entries (ID 0) were read */
	int64_t next_claim; /* when XAUTOCLAIM runs next */
	char cursor[RDS_ID];
	char ack[RDS_ID];       /* delivered, not yet acknowledged: "" none */
	redisReply *held;       /* an entry too big for the last caller */
	const redisReply *hval; /* its message */
	char hid[RDS_ID];
};

/* Run n commands on *ctx (connected if needed): 0 and the replies, or
 * the error, after which *ctx is dropped. */
int ipk__rds_run(struct ipk__rds_chan *q, redisContext **ctx,
                 struct ipk__rds_cmd *cmd, size_t n, redisReply **r,
                 int64_t deadline);
/* Append "VERB key". */
void ipk__rds_key_cmd(struct ipk__rds_cmd *cmd, const struct ipk__rds_chan *q,
                      const char *verb);
/* redis_recv.c: ipk_recv, and the acknowledgement ipk_close sends. */
ssize_t ipk__rds_recv(struct ipk_chan *c, struct ipk_msg *m, int64_t deadline);
void ipk__rds_ack_now(struct ipk__rds_chan *q, int64_t deadline);

#endif
