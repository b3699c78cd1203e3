/*
 * tcptrace_pid.c - `ipckit tcp-trace --pid PID`: watching, as for
 * HOST:PORT, the connections of one process.  Every 100 ms its sockets
 * (/proc/PID/fd) are looked up in /proc/PID/net/tcp{,6}: the servers'
 * ports they use go to the tracepoint's and the capture's filters, and
 * only connections that are the process's are shown.
 */
#include "cli.h"
#include "tcptrace.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PID_LISTEN 0x0a     /* TCP_LISTEN in /proc/net/tcp */
#define PID_SYN_SENT 2      /* TCP_SYN_SENT */
#define PID_MAXINO 4096     /* sockets of the process looked at */
#define PID_PENDING 16      /* connects at once whose SYN is awaited */
#define PID_SYN_WITHIN 0.02 /* s from a connect to its SYN, at most */

struct pid_sock {
	int lport, rport, st;
	bool loop; /* bound to a loopback address */
};

struct pid_watch {
	int pid;
	struct tt_ports srv; /* servers' ports followed; only grows */
	bool dirty, full, gone;
	uint8_t listen[65536 / 8]; /* ports the process listens on */
	uint8_t mine[65536 / 8];   /* its client ports */
	struct {
		int port; /* a connect of its to this server's port, */
		double t; /* ... at this time, whose client port is unknown */
	} pending[PID_PENDING];
	unsigned long ino[PID_MAXINO];
	size_t nino;
	struct pid_sock sock[PID_MAXINO];
	size_t nsock;
};

static bool
bit(const uint8_t *map, int port)
{
	return map[port >> 3] & (1u << (port & 7));
}

static void
set_bit(uint8_t *map, int port)
{
	map[port >> 3] |= (uint8_t)(1u << (port & 7));
}

static int
pid_cmp_ino(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a,
	              y = *(const unsigned long *)b;
	return x < y ? -1 : x > y;
}

/* The inodes of the process's sockets, sorted; -ESRCH once it is gone. */
static int
pid_inodes(struct pid_watch *w)
{
	char path[64], link[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", w->pid);
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : -errno;
	struct dirent *de;
	w->nino = 0;
	while ((de = readdir(d)) && w->nino < PID_MAXINO) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%.20s", w->pid,
		         de->d_name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (sscanf(link, "socket:[%lu]", &w->ino[w->nino]) == 1)
			w->nino++;
	}
	closedir(d);
	qsort(w->ino, w->nino, sizeof(w->ino[0]), pid_cmp_ino);
	return 0;
}

/* The kernel prints addresses as native-order words of the raw bytes. */
static bool
pid_loop(const char *hex)
{
	uint32_t word[4] = {0};
	size_t n = strlen(hex) / 8;
	for (size_t i = 0; i < n && i < 4; i++) {
		char w[9];
		memcpy(w, hex + 8 * i, 8);
		w[8] = '\0';
		word[i] = (uint32_t)strtoul(w, NULL, 16);
	}
	if (n == 1)
		return (ntohl(word[0]) >> 24) == 127;
	struct in6_addr a;
	memcpy(&a, word, sizeof(a));
	return IN6_IS_ADDR_LOOPBACK(&a);
}

/* One line of /proc/PID/net/tcp{,6}: a socket of the process's? */
static void
pid_line(struct pid_watch *w, const char *line)
{
	char laddr[40], raddr[40];
	struct pid_sock s;
	unsigned long ino;
	if (w->nsock == PID_MAXINO ||
	    sscanf(line,
	           " %*d: %39[0-9A-Fa-f]:%x %39[0-9A-Fa-f]:%x %x %*s %*s %*s "
	           "%*u %*u %lu",
	           laddr, (unsigned *)&s.lport, raddr, (unsigned *)&s.rport,
	           (unsigned *)&s.st, &ino) != 6)
		return;
	if (!bsearch(&ino, w->ino, w->nino, sizeof(ino), pid_cmp_ino))
		return;
	s.loop = pid_loop(laddr);
	w->sock[w->nsock++] = s;
}

static int
pid_table(struct pid_watch *w, const char *name)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/net/%s", w->pid, name);
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), f))
		pid_line(w, line);
	fclose(f);
	return 0;
}

static int
pid_scan(struct pid_watch *w)
{
	w->nsock = 0;
	int err = pid_inodes(w);
	if (!err)
		err = pid_table(w, "tcp");
	if (!err)
		err = pid_table(w, "tcp6");
	return err;
}

static void
pid_follow(struct pid_watch *w, int port)
{
	if (tt_ports_has(&w->srv, port))
		return;
	if (w->srv.n == TT_MAXPORTS) {
		if (!w->full)
			fprintf(stderr,
			        "ipckit: tcp-trace: pid %d: more than %d "
			        "servers' ports; the others are not shown\n",
			        w->pid, TT_MAXPORTS);
		w->full = true;
		return;
	}
	w->srv.port[w->srv.n++] = port;
	w->dirty = true;
}

/* A listener's port is a server's; a connected socket is the server's
 * end when the process listens on its port, else the client's. */
static void
pid_learn(struct pid_watch *w)
{
	for (size_t i = 0; i < w->nsock; i++)
		if (w->sock[i].st == PID_LISTEN) {
			set_bit(w->listen, w->sock[i].lport);
			pid_follow(w, w->sock[i].lport);
		}
	for (size_t i = 0; i < w->nsock; i++) {
		const struct pid_sock *s = &w->sock[i];
		if (s->st == PID_LISTEN || bit(w->listen, s->lport))
			continue;
		set_bit(w->mine, s->lport);
		pid_follow(w, s->rport);
	}
}

static int
pid_tick(void *arg, struct tt_fs *fs, struct tt_cap *cap)
{
	struct pid_watch *w = arg;
	int err = pid_scan(w);
	if (err == -ESRCH) {
		w->gone = true;
		return 1;
	}
	if (err)
		return err;
	pid_learn(w);
	if (!w->dirty)
		return 0;
	w->dirty = false;
	if (fs) /* else the sampler reads w->srv */
		err = tt_fs_ports(fs, &w->srv, w->pid);
	if (!err && cap)
		err = tt_cap_ports(cap, &w->srv);
	return err;
}

/* The SYN that follows the process's connect to sp names its port. */
static void
pid_syn(struct pid_watch *w, const struct tt_event *e, int sp, int cp)
{
	for (int i = 0; i < PID_PENDING; i++)
		if (w->pending[i].port == sp &&
		    e->t - w->pending[i].t < PID_SYN_WITHIN) {
			w->pending[i].port = 0;
			set_bit(w->mine, cp);
			return;
		}
}

/* A short connection may never be in /proc: the process's connect()
 * shows in the tracepoint as its task's CLOSE -> SYN_SENT, before the
 * kernel picks the client port (sport 0); the SYN that follows within
 * microseconds names it (when sp was already captured).  True for the
 * connect's own event. */
static bool
pid_connect(struct pid_watch *w, const struct tt_event *e, int sp, int cp)
{
	if (e->kind == TT_PACKET && e->side == TT_CLIENT && e->flags == TT_SYN)
		pid_syn(w, e, sp, cp);
	if (e->kind != TT_STATE || e->side != TT_CLIENT ||
	    e->newst != PID_SYN_SENT || e->pid != w->pid)
		return false;
	int i = 0;
	while (i < PID_PENDING - 1 && w->pending[i].port &&
	       e->t - w->pending[i].t < PID_SYN_WITHIN)
		i++;
	w->pending[i].port = sp;
	w->pending[i].t = e->t;
	if (cp)
		set_bit(w->mine, cp);
	pid_follow(w, sp);
	return true;
}

/* The process's connections: to its listeners, or from its client
 * ports. */
static bool
pid_keep(void *arg, const struct tt_event *e)
{
	struct pid_watch *w = arg;
	int sp = e->side == TT_SERVER ? e->sport : e->dport;
	int cp = e->side == TT_SERVER ? e->dport : e->sport;
	return pid_connect(w, e, sp, cp) || bit(w->listen, sp) ||
	       bit(w->mine, cp);
}

/* Capture on lo when all the process's sockets are on loopback. */
static const char *
pid_dev(const struct pid_watch *w)
{
	for (size_t i = 0; i < w->nsock; i++)
		if (!w->sock[i].loop)
			return "any";
	return "lo";
}

static int
pid_run(struct pid_watch *w, const struct tt_opts *o)
{
	char what[32];
	struct tt_trace tr = {.states = "tracepoint", .tw_ms = {-1, -1}};
	struct tt_watch_hook h = {
	        .tick = pid_tick, .keep = pid_keep, .arg = w, .ports = &w->srv};
	int err = pid_scan(w);
	snprintf(what, sizeof(what), "pid %d", w->pid);
	if (err)
		return cli_fail("tcp-trace", what, err);
	pid_learn(w);
	w->dirty = true; /* the first tick sets the filters */
	tr.port = w->srv.n ? w->srv.port[0] : 0;
	tr.dev = pid_dev(w);
	tr.json = o->json;
	int rc = tt_watch_run(&tr, o, what, &h);
	if (rc == 0 && w->gone)
		fprintf(stderr, "ipckit: tcp-trace: %s exited\n", what);
	free(tr.ev);
	return rc;
}

int
tt_watch_pid(const struct tt_opts *o)
{
	struct pid_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return cli_fail("tcp-trace", "--pid", -ENOMEM);
	w->pid = (int)o->pid;
	int rc = pid_run(w, o);
	free(w);
	return rc;
}
