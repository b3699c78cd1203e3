/*
 * relayend.c - one end of a relay pair: a channel or the command's
 * stdio.  Every operation here is non-blocking (timeout 0) except a
 * dial: the loop in relay.c waits in poll instead, so that one slow
 * peer never stalls the others.
 */
#include "relay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int64_t
relay_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
relay_report(const struct rside *s, const char *what, int err)
{
	if (err == -ECANCELED)
		return;
	char shown[1024];
	const char *url = cli_shown_url(s->url, shown, sizeof(shown));
	if (err)
		fprintf(stderr, "ipckit: relay: %s: %s: %s\n", url, what,
		        ipk_strerror(err));
	else
		fprintf(stderr, "ipckit: relay: %s: %s\n", url, what);
}

/* The peer or the object went away: what a redial may mend. */
bool
end_gone(int err)
{
	return err == -EPIPE || err == -ECONNRESET || err == -ENOTCONN ||
	       err == -EIDRM || err == -ECONNREFUSED || err == -ENOENT ||
	       err == -ETIMEDOUT || err == -ENXIO || err == -EHOSTUNREACH ||
	       err == -ENETUNREACH || err == -ECONNABORTED;
}

int
end_open(struct relay *r, struct rend *e)
{
	char *u = cli_url_timeout(e->side->url, r->timeout);
	int rc = u ? ipk_dial(u, &e->ch) : -ENOMEM;
	free(u);
	if (rc < 0) {
		e->ch = NULL;
		return rc;
	}
	if (e->reported)
		relay_report(e->side, "connected again", 0);
	e->up = true;
	e->reported = e->blocked = e->tail = false;
	e->may_read = true;
	e->backoff = RELAY_BACKOFF_MIN;
	if (e->side->conn)
		r->c.conns++;
	return 0;
}

/* Close a failed end; a dialled one is tried again after its backoff. */
void
end_down(struct relay *r, struct rend *e, int err)
{
	const char *what = e->up ? "gone; dialling again with backoff"
	                         : "unreachable; dialling again with backoff";
	if (e->restore != RESTORE_FATAL) {
		ipk_close(e->ch);
		e->ch = NULL;
	}
	e->up = e->may_read = e->blocked = e->tail = false;
	if (e->restore != RESTORE_DIAL)
		return;
	if (!e->reported)
		relay_report(e->side, what, err);
	e->reported = true;
	e->retry_at = relay_now() + e->backoff;
	e->backoff = e->backoff * 2 > RELAY_BACKOFF_MAX ? RELAY_BACKOFF_MAX
	                                                : e->backoff * 2;
	(void)r;
}

void
end_free(struct rend *e)
{
	if (!e)
		return;
	ipk_close(e->ch);
	free(e->in.buf);
	free(e);
}

/* Room for need bytes in d's buffer. */
static int
dir_room(struct rdir *d, size_t need)
{
	if (d->cap >= need)
		return 0;
	char *b = realloc(d->buf, need);
	if (!b)
		return -ENOMEM;
	d->buf = b;
	d->cap = need;
	return 0;
}

/* The message in d is complete: stdout gets it as a line. */
static int
dir_got(struct rdir *d, size_t len)
{
	d->len = d->size = len;
	if (d->dst->side->stdio && !d->dst->side->raw)
		d->buf[d->len++] = '\n';
	d->full = true;
	d->off = 0;
	return 1;
}

/* Read what stdin has now into the line buffer: 0, -EMSGSIZE, -errno. */
static int
lines_fill(struct rend *e)
{
	struct rlines *in = &e->in;
	if (in->off) {
		memmove(in->buf, in->buf + in->off, in->len - in->off);
		in->len -= in->off;
		in->off = 0;
	}
	if (in->len > IPK_DEFAULT_MAX)
		return -EMSGSIZE;
	if (in->cap - in->len < RELAY_PIECE) {
		char *b = realloc(in->buf, in->cap + RELAY_PIECE);
		if (!b)
			return -ENOMEM;
		in->buf = b;
		in->cap += RELAY_PIECE;
	}
	ssize_t n = read(STDIN_FILENO, in->buf + in->len, in->cap - in->len);
	e->may_read = false;
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	in->len += (size_t)n;
	in->eof = n == 0;
	return 0;
}

/* The next line of stdin into d: 1, 0 none yet, -EPIPE at the end. */
static int
lines_get(struct rdir *d)
{
	struct rend *e = d->src;
	struct rlines *in = &e->in;
	for (;;) {
		char *at = in->buf + in->off;
		size_t left = in->len - in->off;
		char *nl = left ? memchr(at, '\n', left) : NULL;
		size_t n = nl ? (size_t)(nl - at) : left;
		if (nl || (in->eof && left)) {
			if (dir_room(d, n + 1) < 0)
				return -ENOMEM;
			memcpy(d->buf, at, n);
			in->off += n + (nl != NULL);
			return dir_got(d, n);
		}
		if (in->eof)
			return -EPIPE;
		if (!e->may_read)
			return 0;
		int rc = lines_fill(e);
		if (rc < 0)
			return rc;
	}
}

static int
stdin_get(struct rdir *d)
{
	if (!d->src->side->raw)
		return lines_get(d);
	if (!d->src->may_read)
		return 0;
	if (dir_room(d, RELAY_PIECE + 1) < 0)
		return -ENOMEM;
	ssize_t n = read(STDIN_FILENO, d->buf, RELAY_PIECE);
	d->src->may_read = false;
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	return n == 0 ? -EPIPE : dir_got(d, (size_t)n);
}

/*
 * The buffer a receive from e starts with.  Streams keep a message in
 * the library's buffer after -EMSGSIZE and say its length, so their
 * many connections start small and grow to what really comes; other
 * mechanisms get their largest message at once.
 */
static size_t
end_room(const struct rend *e, const struct rdir *d)
{
	size_t max = ipk_max(e->ch);
	if (!cli_scheme_in(e->side->url, "tcp unix") || max <= RELAY_PIECE)
		return max;
	return d->cap > RELAY_PIECE ? d->cap - 1 : RELAY_PIECE;
}

/* One message from d's source into its buffer: 1, 0 none now, <0. */
int
end_get(struct rdir *d)
{
	struct rend *e = d->src;
	if (e->side->stdio)
		return stdin_get(d);
	size_t room = end_room(e, d), max = ipk_max(e->ch);
	struct ipk_msg m;
	ssize_t n;
	for (;;) {
		if (dir_room(d, room + 1) < 0)
			return -ENOMEM;
		m = (struct ipk_msg){.buf = d->buf, .len = room};
		n = ipk_recvmsg(e->ch, &m, 0);
		if (n != -EMSGSIZE || room >= max || m.len > max)
			break;
		room = m.len > room ? m.len : max; /* it waits for the room */
	}
	if (n == -EAGAIN || n == -ETIMEDOUT) {
		e->may_read = false;
		return 0;
	}
	if (n < 0)
		return (int)n;
	d->type = m.type;
	d->prio = m.prio;
	return dir_got(d, (size_t)n);
}

static bool
wait_end(int err)
{
	return err == -EAGAIN || err == -ETIMEDOUT;
}

static int
stdout_put(struct rdir *d)
{
	size_t n = d->len - d->off;
	ssize_t w = write(STDOUT_FILENO, d->buf + d->off,
	                  n < RELAY_OUT_STEP ? n : RELAY_OUT_STEP);
	if (w < 0 && errno != EINTR && errno != EAGAIN)
		return -errno;
	d->off += w > 0 ? (size_t)w : 0;
	if (d->off == d->len)
		return 1;
	d->dst->blocked = true; /* the next step once POLLOUT says so */
	return 0;
}

/*
 * A dialled mq: queue that was unlinked (its listener restarted and
 * made a new one) still takes messages that nobody will ever read: the
 * open descriptor's link count tells, and the end is dialled again.
 */
static bool
end_unlinked(const struct rend *e)
{
	struct stat st;
	if (e->side->listen || strcmp(e->side->scheme, "mq"))
		return false;
	return fstat(ipk_fd(e->ch), &st) == 0 && st.st_nlink == 0;
}

/* Send d's message: 1 sent, 0 no room now (dst blocked), <0 error. */
int
end_put(struct rdir *d)
{
	struct rend *e = d->dst;
	if (e->side->stdio)
		return stdout_put(d);
	if (end_unlinked(e))
		return -EIDRM;
	/* Type and priority mean the same only between the same kind. */
	const struct rside *from = d->src->side;
	bool same = !from->stdio && !strcmp(ipk_scheme(e->ch), from->scheme);
	struct ipk_msg m = {.buf = d->buf,
	                    .len = d->len,
	                    .type = same ? d->type : 0,
	                    .prio = same ? d->prio : 0};
	int rc = ipk_sendmsg(e->ch, &m, 0);
	if (wait_end(rc)) {
		e->blocked = true;
		return 0;
	}
	if (rc < 0)
		return rc;
	e->tail = true;
	end_flush(e); /* an error shows at the next flush or send */
	return 1;
}

/* Push on what the library holds of a message: 0 done, -EAGAIN, <0. */
int
end_flush(struct rend *e)
{
	if (!e->tail || e->side->stdio)
		return 0;
	int rc = ipk_send_batch(e->ch, NULL, 0, 0);
	if (rc >= 0) {
		e->tail = false;
		return 0;
	}
	if (!wait_end(rc))
		return rc;
	e->blocked = true;
	return -EAGAIN;
}

int
end_shutdown(struct rend *e)
{
	if (e->side->stdio)
		return 0;
	int rc = ipk_shutdown(e->ch);
	return rc == -ENOTSUP ? 0 : rc;
}

/* The descriptor to poll for reading (out: for room to send), or -1. */
int
end_fd(const struct rend *e, bool out)
{
	if (e->side->stdio)
		return out ? STDOUT_FILENO : STDIN_FILENO;
	if (out && !e->side->outpoll)
		return -1;
	int fd = ipk_fd(e->ch);
	return fd < 0 ? -1 : fd;
}
