/*
 * redis.c - the redis row's server and its raw baseline.  The server is
 * the one --redis URL names, or a redis-server started here on a free
 * loopback port in a fresh directory (stopped at exit).  The raw row
 * drives the same commands as ipckit through hiredis: XADD key * m <msg>,
 * a batch pipelined, and XACK of the previous entry with XREADGROUP
 * COUNT 1 in one round trip.  Streams are deleted after each raw row.
 */
#include "../run.h"

#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define RD_START_MS 5000
#define RD_GROUP "g"

char raw_redis_fwd[700], raw_redis_back[700];

static struct {
	char host[256], user[128], pass[256];
	int port;
	pid_t owner;   /* the process that set it up */
	pid_t pid;     /* a server started here, else 0 */
	char dir[64];  /* its directory */
	char base[64]; /* "ipk-bench-PID-": the keys of this run */
} rd;

struct raw_rd {
	redisContext *c;
	const char *tx, *rx;
	char ack[64]; /* the entry to acknowledge with the next read */
};

/* %XX escapes of a URL's userinfo, decoded into out. */
static void
rd_unescape(const char *s, size_t n, char *out, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < size; i++) {
		unsigned v;
		if (s[i] == '%' && i + 2 < n &&
		    sscanf(s + i + 1, "%2x", &v) == 1)
			out[o++] = (char)v, i += 2;
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
}

/* "redis://[user[:pass]@]host[:port][/...]": 0 or -EINVAL. */
static int
rd_parse(const char *url)
{
	if (strncmp(url, "redis://", 8))
		return -EINVAL;
	const char *a = url + 8, *end = a + strcspn(a, "/?");
	const char *at = memchr(a, '@', (size_t)(end - a));
	if (at) {
		const char *colon = memchr(a, ':', (size_t)(at - a));
		const char *pw = colon ? colon + 1 : a;
		if (colon)
			rd_unescape(a, (size_t)(colon - a), rd.user,
			            sizeof(rd.user));
		rd_unescape(pw, (size_t)(at - pw), rd.pass, sizeof(rd.pass));
		a = at + 1;
	}
	const char *hend = *a == '[' ? memchr(a, ']', (size_t)(end - a)) : NULL;
	const char *colon =
	        memchr(hend ? hend : a, ':', (size_t)(end - (hend ? hend : a)));
	const char *h = hend ? a + 1 : a;
	size_t hn = (size_t)((hend ? hend : colon ? colon : end) - h);
	if (hn == 0 || hn >= sizeof(rd.host))
		return -EINVAL;
	memcpy(rd.host, h, hn);
	rd.host[hn] = '\0';
	rd.port = colon ? atoi(colon + 1) : 6379;
	return rd.port > 0 && rd.port < 65536 ? 0 : -EINVAL;
}

/* A connection, authenticated when a password is known; NULL on error. */
static redisContext *
rd_connect(void)
{
	struct timeval tv = {2, 0};
	redisContext *c = redisConnectWithTimeout(rd.host, rd.port, tv);
	struct timeval forever = {0, 0}; /* reads: BLOCK 0 waits forever */
	if (!c || c->err || redisSetTimeout(c, forever) != REDIS_OK) {
		redisFree(c);
		return NULL;
	}
	const char *pass = rd.pass[0] ? rd.pass : getenv("REDISCLI_AUTH");
	if (pass && *pass) {
		redisReply *r = rd.user[0] ? redisCommand(c, "AUTH %s %s",
		                                          rd.user, pass)
		                           : redisCommand(c, "AUTH %s", pass);
		bool ok = r && r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
		if (!ok) {
			redisFree(c);
			return NULL;
		}
	}
	return c;
}

static bool
rd_ping(void)
{
	redisContext *c = rd_connect();
	redisReply *r = c ? redisCommand(c, "PING") : NULL;
	bool ok = r && r->type == REDIS_REPLY_STATUS;
	freeReplyObject(r);
	redisFree(c);
	return ok;
}

static void
rd_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	char p[512];
	for (struct dirent *e; d && (e = readdir(d));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) <
		            (int)sizeof(p))
			unlink(p);
	if (d)
		closedir(d);
	rmdir(dir);
}

/* Delete the streams of this run: SCAN for its prefix, DEL each. */
static void
rd_delete_keys(redisContext *c)
{
	char cursor[32] = "0", match[80];
	snprintf(match, sizeof(match), "%s*", rd.base);
	do {
		redisReply *r = redisCommand(c, "SCAN %s MATCH %s COUNT 1000",
		                             cursor, match);
		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			freeReplyObject(r);
			return;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++)
			freeReplyObject(redisCommand(
			        c, "DEL %s", r->element[1]->element[i]->str));
		freeReplyObject(r);
	} while (strcmp(cursor, "0"));
}

/* At exit: the streams of --redis's server, or our own server. */
static void
rd_stop(void)
{
	if (getpid() != rd.owner)
		return; /* a child that exit()ed: not its to stop */
	if (rd.pid <= 0) {
		redisContext *c = rd_connect();
		if (c)
			rd_delete_keys(c);
		redisFree(c);
		return;
	}
	kill(rd.pid, SIGTERM);
	waitpid(rd.pid, NULL, 0);
	rd.pid = 0;
	rd_rmdir(rd.dir);
}

/* A loopback port nobody listens on now, or -errno. */
static int
rd_free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc = fd < 0 || bind(fd, (struct sockaddr *)&a, len) ||
	                         getsockname(fd, (struct sockaddr *)&a, &len)
	                 ? -errno
	                 : ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* A redis-server of our own on a free loopback port: 0 or -errno. */
static int
rd_spawn(void)
{
	snprintf(rd.dir, sizeof(rd.dir), "/tmp/ipk-bench-redis-XXXXXX");
	if (!mkdtemp(rd.dir))
		return -errno;
	snprintf(rd.host, sizeof(rd.host), "127.0.0.1");
	rd.port = rd_free_port();
	if (rd.port < 0)
		return rd.port;
	char port[16], log[96];
	snprintf(port, sizeof(port), "%d", rd.port);
	snprintf(log, sizeof(log), "%s/log", rd.dir);
	fflush(NULL);
	rd.pid = fork();
	if (rd.pid < 0)
		return -errno;
	if (rd.pid == 0) {
		execlp("redis-server", "redis-server", "--port", port, "--bind",
		       "127.0.0.1", "--dir", rd.dir, "--save", "",
		       "--appendonly", "no", "--logfile", log, "--daemonize",
		       "no", (char *)NULL);
		_exit(127);
	}
	atexit(rd_stop);
	for (int ms = 0; ms < RD_START_MS; ms += 20) {
		if (rd_ping())
			return 0;
		if (waitpid(rd.pid, NULL, WNOHANG) == rd.pid) {
			rd.pid = 0;
			return -ENOENT; /* not installed, or the port taken */
		}
		usleep(20000);
	}
	return -ETIMEDOUT;
}

/* The ipckit row's URLs: url's scheme and authority (or our server's),
 * then "/ipk-bench-PID-{key}-a" and "-b". */
static void
rd_templates(const char *url)
{
	char own[300];
	snprintf(own, sizeof(own), "redis://%s:%d", rd.host, rd.port);
	int n = url ? (int)(strcspn(url + 8, "/?") + 8) : (int)strlen(own);
	snprintf(rd.base, sizeof(rd.base), "ipk-bench-%d-", (int)getpid());
	for (int i = 0; i < 2; i++)
		snprintf(i ? raw_redis_back : raw_redis_fwd,
		         sizeof(raw_redis_fwd), "%.*s/%s{key}-%c", n,
		         url ? url : own, rd.base, i ? 'b' : 'a');
}

static int
rd_setup(const char *url)
{
	rd.owner = getpid();
	int rc = url ? rd_parse(url) : rd_spawn();
	if (rc == 0 && url && !rd_ping())
		rc = -ECONNREFUSED;
	if (rc < 0) {
		fprintf(stderr, "ipckit: bench: redis: %s (%s)\n",
		        url ? "no server answers at --redis URL"
		            : "could not start redis-server; give --redis URL",
		        strerror(-rc));
		return rc;
	}
	if (url)
		atexit(rd_stop);
	rd_templates(url);
	return 0;
}

/*
 * The redis row needs a server: --redis URL's, or one started when --only
 * names the row (never for a plain `ipckit bench`).  Asked once per size:
 * the first answer stands.
 */
static int
rd_server(const struct bench_opts *o)
{
	static int rc = 1;
	if (rc == 1)
		rc = o->redis || (o->only && strstr(o->only, "redis"))
		             ? rd_setup(o->redis)
		             : -ENOENT;
	return rc;
}

static int
rd_prepare(struct raw_setup *s)
{
	redisContext *c = rd_connect();
	if (!c)
		return -ECONNREFUSED;
	int rc = 0;
	for (int i = 0; i < 2 && rc == 0; i++) {
		snprintf(s->name[i], sizeof(s->name[i]), "%sraw-%d", rd.base,
		         i);
		redisReply *r =
		        redisCommand(c, "XGROUP CREATE %s %s 0 MKSTREAM",
		                     s->name[i], RD_GROUP);
		rc = r && r->type == REDIS_REPLY_STATUS ? 0 : -EPROTO;
		freeReplyObject(r);
	}
	redisFree(c);
	return rc;
}

/* The reply of the last appended command: NULL after -EPIPE / -EPROTO. */
static int
rd_reply(struct raw_rd *q, redisReply **out)
{
	void *r = NULL;
	if (redisGetReply(q->c, &r) != REDIS_OK)
		return -EPIPE;
	*out = r;
	if (((redisReply *)r)->type == REDIS_REPLY_ERROR) {
		freeReplyObject(r);
		return -EPROTO;
	}
	return 0;
}

static void
rd_append_xadd(struct raw_rd *q, const void *buf, size_t len)
{
	const char *argv[] = {"XADD", q->tx, "*", "m", buf};
	size_t lens[] = {4, strlen(q->tx), 1, 1, len};
	redisAppendCommandArgv(q->c, 5, argv, lens);
}

static int
rd_batch(void *ctx, const struct iovec *iov, int n)
{
	struct raw_rd *q = ctx;
	for (int i = 0; i < n; i++)
		rd_append_xadd(q, iov[i].iov_base, iov[i].iov_len);
	int rc = 0;
	for (int i = 0; i < n; i++) {
		redisReply *r = NULL;
		int e = rd_reply(q, &r);
		rc = rc ? rc : e;
		freeReplyObject(r);
		if (e == -EPIPE)
			return e;
	}
	return rc < 0 ? rc : n;
}

static int
rd_send(void *ctx, const void *buf, size_t len)
{
	struct iovec iov = {(void *)buf, len};
	int rc = rd_batch(ctx, &iov, 1);
	return rc < 0 ? rc : 0;
}

/* Copy the one entry of an XREADGROUP reply: its length or -errno. */
static ssize_t
rd_entry(struct raw_rd *q, const redisReply *r, void *buf, size_t cap)
{
	if (r->type == REDIS_REPLY_NIL)
		return -ETIMEDOUT;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
	    r->element[0]->elements != 2 ||
	    r->element[0]->element[1]->elements != 1)
		return -EPROTO;
	const redisReply *e = r->element[0]->element[1]->element[0];
	if (e->elements != 2 || e->element[1]->elements != 2)
		return -EPROTO;
	const redisReply *v = e->element[1]->element[1];
	if (v->len > cap)
		return -EMSGSIZE;
	memcpy(buf, v->str, v->len);
	snprintf(q->ack, sizeof(q->ack), "%s", e->element[0]->str);
	return (ssize_t)v->len;
}

static ssize_t
rd_recv(void *ctx, void *buf, size_t cap, int ms)
{
	struct raw_rd *q = ctx;
	char block[16];
	snprintf(block, sizeof(block), "%d", ms < 0 ? 0 : ms);
	/* BLOCK 0 waits forever; a timeout of 0 sends no BLOCK at all. */
	const char *argv[] = {"XREADGROUP", "GROUP", RD_GROUP, "raw",
	                      "COUNT",      "1",     "BLOCK",  block,
	                      "STREAMS",    q->rx,   ">"};
	const char *now[] = {"XREADGROUP", "GROUP",   RD_GROUP, "raw", "COUNT",
	                     "1",          "STREAMS", q->rx,    ">"};
	bool acking = q->ack[0];
	if (acking)
		redisAppendCommand(q->c, "XACK %s %s %s", q->rx, RD_GROUP,
		                   q->ack);
	if (ms == 0)
		redisAppendCommandArgv(q->c, 9, now, NULL);
	else
		redisAppendCommandArgv(q->c, 11, argv, NULL);
	redisReply *r = NULL;
	int rc = acking ? rd_reply(q, &r) : 0;
	freeReplyObject(r);
	r = NULL;
	q->ack[0] = '\0';
	if (rc == 0)
		rc = rd_reply(q, &r);
	ssize_t n = rc < 0 ? rc : rd_entry(q, r, buf, cap);
	freeReplyObject(r);
	return n == -ETIMEDOUT && ms == 0 ? -EAGAIN : n;
}

static const struct bench_ops rd_ops = {
        .send = rd_send, .recv = rd_recv, .send_batch = rd_batch};

static int
rd_open(struct raw_setup *s, int role, struct bench_link *l)
{
	struct raw_rd *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->c = rd_connect();
	if (!q->c) {
		free(q);
		return -ECONNREFUSED;
	}
	q->tx = s->name[role];
	q->rx = s->name[1 - role];
	*l = (struct bench_link){&rd_ops, q, s->timeout, false};
	return 0;
}

static void
rd_cleanup(struct raw_setup *s)
{
	(void)s;
	redisContext *c = rd_connect();
	if (c)
		rd_delete_keys(c); /* this row's and the ipckit rows' before */
	redisFree(c);
}

const struct raw_mech raw_redis = {
        .name = "redis",
        .prepare = rd_prepare,
        .open = rd_open,
        .cleanup = rd_cleanup,
        .server = rd_server,
};
