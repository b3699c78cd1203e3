/*
 * recv.c - `ipckit recv URL`: prints each message as it arrives, as text,
 * hex or JSON lines.  A listener that accepts connections serves many
 * clients at once with poll.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECV_MAXCONN 64
#define RECV_MAXFDS 16

static const char recv_help[] =
        "usage: ipckit recv URL [options]\n"
        "Prints each message that arrives (a ?raw URL: the bytes as "
        "they are).\n"
        "  -n N           stop after N messages\n"
        "  --timeout MS   fail when nothing arrives for MS ms (default: "
        "wait)\n"
        "  --hex          print each message as hex\n"
        "  --json         print one JSON object per message\n"
        "  --type N       sysvmsg: 0 any, N that type, -N lowest type <= "
        "N\n"
        "  --peer         show who sent each message\n"
        "  --save-fds DIR write received descriptors' content to DIR\n"
        "  --listen       create the endpoint (the default)\n"
        "  --dial         open an existing endpoint\n";

struct recv_ctx {
	const struct cli_opts *o;
	struct ipk_msg m;
	struct ipk_peer peer;
	int fds[RECV_MAXFDS];
	size_t cap;
	long long got;
	bool raw;
};

/* Length of the valid UTF-8 sequence of 2 to 4 bytes at p, or 0. */
static size_t
recv_utf8_len(const unsigned char *p, size_t n)
{
	size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
	if (len == 0 || len > n || p[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* A JSON string: UTF-8 text as it is, other bytes as \u00XX. */
static void
recv_json_str(const unsigned char *p, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = p[i];
		size_t u = ch >= 0x80 ? recv_utf8_len(p + i, n - i) : 0;
		if (u) {
			fwrite(p + i, 1, u, stdout);
			i += u - 1;
		} else if (ch == '"' || ch == '\\') {
			printf("\\%c", ch);
		} else if (ch == '\n') {
			fputs("\\n", stdout);
		} else if (ch < 0x20 || ch >= 0x7f) {
			printf("\\u%04x", ch);
		} else {
			putchar(ch);
		}
	}
	putchar('"');
}

static void
recv_peer_text(const struct ipk_peer *p, char *out, size_t size)
{
	if (p->pid > 0)
		snprintf(out, size, "pid %d uid %u gid %u", (int)p->pid,
		         (unsigned)p->uid, (unsigned)p->gid);
	else
		snprintf(out, size, "unknown");
}

static void
recv_save_fds(struct recv_ctx *r)
{
	for (size_t i = 0; i < r->m.nfds; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/fd-%lld-%zu", r->o->save_fds,
		         r->got, i);
		int out =
		        r->o->save_fds
		                ? open(path,
		                       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		                       0600)
		                : -1;
		char buf[65536];
		ssize_t n;
		while (out >= 0 && (n = read(r->fds[i], buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)n) != n)
				break;
		if (out >= 0)
			close(out);
		close(r->fds[i]);
	}
}

static void
recv_print(struct recv_ctx *r, const char *scheme, ssize_t len)
{
	const struct cli_opts *o = r->o;
	const unsigned char *p = r->m.buf;
	char who[128];
	recv_peer_text(&r->peer, who, sizeof(who));
	if (o->json) {
		printf("{\"len\":%zd,\"data\":", len);
		recv_json_str(p, (size_t)len);
		if (!strcmp(scheme, "sysvmsg"))
			printf(",\"type\":%ld", r->m.type);
		if (!strcmp(scheme, "mq"))
			printf(",\"prio\":%u", r->m.prio);
		if (r->m.nfds)
			printf(",\"fds\":%zu", r->m.nfds);
		if (o->peer)
			printf(",\"peer\":\"%s\"", who);
		fputs("}\n", stdout);
	} else if (o->hex) {
		if (o->peer)
			printf("[%s] ", who);
		for (ssize_t i = 0; i < len; i++)
			printf("%02x", p[i]);
		putchar('\n');
	} else {
		if (o->peer)
			printf("[%s] ", who);
		fwrite(p, 1, (size_t)len, stdout);
		if (!r->raw)
			putchar('\n');
		if (r->m.nfds)
			printf("(with %zu descriptors)\n", r->m.nfds);
	}
	recv_save_fds(r);
	r->got++;
}

static bool
recv_wants_meta(const struct cli_opts *o)
{
	return o->type_set || o->peer || o->save_fds || o->json;
}

/* Receive one message from ch: 0 printed, or a negative errno. */
static int
recv_one(struct recv_ctx *r, ipk_chan *ch, int timeout_ms)
{
	r->m.len = r->cap;
	r->m.nfds = 0;
	r->m.type = r->o->type_set ? (long)r->o->type : 0;
	ssize_t n;
	if (recv_wants_meta(r->o)) {
		r->m.nfds = RECV_MAXFDS;
		n = ipk_recvmsg(ch, &r->m, timeout_ms);
	} else {
		n = ipk_recv(ch, r->m.buf, r->cap, timeout_ms);
	}
	if (n < 0)
		return (int)n;
	if (r->m.nfds > RECV_MAXFDS)
		r->m.nfds = 0;
	recv_print(r, ipk_scheme(ch), n);
	if (fflush(stdout) == EOF)
		return -EPIPE; /* stdout closed: stop quietly */
	return 0;
}

/* The next wait: a slice, or less when --timeout ends sooner. */
static int
recv_slice(const struct recv_ctx *r, int idle)
{
	if (r->o->timeout < 0 || r->o->timeout - idle >= CLI_SLICE_MS)
		return CLI_SLICE_MS;
	return r->o->timeout - idle;
}

static bool
recv_done(const struct recv_ctx *r)
{
	return cli_stop || (r->o->count && r->got >= r->o->count);
}

/* One channel: a dialer, or a listener without connections. */
static int
recv_single(struct recv_ctx *r, ipk_chan *ch)
{
	int idle = 0;
	while (!recv_done(r)) {
		int slice = recv_slice(r, idle);
		int rc = recv_one(r, ch, slice);
		if (rc == 0) {
			idle = 0;
			continue;
		}
		if (rc != -ETIMEDOUT)
			return rc;
		idle += slice;
		if (r->o->timeout >= 0 && idle >= r->o->timeout)
			return rc;
	}
	return 0;
}

/* Drain every whole message a readable connection has buffered. */
static int
recv_drain(struct recv_ctx *r, ipk_chan *c)
{
	int rc;
	while (!recv_done(r) && (rc = recv_one(r, c, 0)) == 0)
		;
	return recv_done(r) ? 0 : rc;
}

static int
recv_many(struct recv_ctx *r, ipk_chan *l, ipk_chan *first)
{
	ipk_chan *conn[RECV_MAXCONN];
	size_t n = 0;
	int idle = 0, rc = 0;
	if (first)
		conn[n++] = first;
	while (!recv_done(r)) {
		struct pollfd p[RECV_MAXCONN + 1];
		p[0] = (struct pollfd){.fd = ipk_fd(l), .events = POLLIN};
		for (size_t i = 0; i < n; i++)
			p[i + 1] = (struct pollfd){ipk_fd(conn[i]), POLLIN, 0};
		int slice = recv_slice(r, idle);
		int k = poll(p, n + 1, slice);
		if (k == 0) {
			idle += slice;
			if (r->o->timeout >= 0 && idle >= r->o->timeout) {
				rc = -ETIMEDOUT;
				break;
			}
			continue;
		}
		idle = 0;
		for (size_t i = n; i-- > 0;) {
			if (!p[i + 1].revents)
				continue;
			int e = recv_drain(r, conn[i]);
			if (e == -EAGAIN)
				continue;
			if (e == -EPIPE && fflush(stdout) == EOF) {
				rc = e;
				break;
			}
			if (e < 0 && e != -EPIPE)
				cli_fail("recv", r->o->url, e);
			ipk_close(conn[i]);
			conn[i] = conn[--n];
		}
		ipk_chan *c;
		if ((p[0].revents & POLLIN) && ipk_accept(l, &c, 0) == 0) {
			if (n < RECV_MAXCONN)
				conn[n++] = c;
			else
				ipk_close(c);
		}
	}
	while (n > 0)
		ipk_close(conn[--n]);
	return rc;
}

static int
recv_run(struct recv_ctx *r, ipk_chan *ch)
{
	if (!r->o->listen)
		return recv_single(r, ch);
	ipk_chan *first = NULL;
	int rc = ipk_accept(ch, &first, 0);
	if (rc == -ENOTSUP)
		return recv_single(r, ch);
	if (rc < 0 && rc != -EAGAIN)
		return rc;
	return recv_many(r, ch, first);
}

static int
recv_result(struct recv_ctx *r, int rc)
{
	if (rc == -EPIPE && (r->o->count == 0 || r->got >= r->o->count))
		return 0; /* the peer finished, or stdout was closed */
	if (rc == -ETIMEDOUT && r->got > 0 && r->o->count == 0)
		return 0;
	if (rc == -ETIMEDOUT) {
		fprintf(stderr,
		        "ipckit: recv: %s: no message within %d ms (got "
		        "%lld)\n",
		        r->o->url, r->o->timeout, r->got);
		return 1;
	}
	return rc < 0 ? cli_fail("recv", r->o->url, rc) : 0;
}

int
cmd_recv(int argc, char **argv)
{
	struct cli_opts o = {.timeout = -1, .listen = true};
	int rc = cli_parse("recv", argc, argv,
	                   "n listen dial timeout type hex json peer save-fds",
	                   &o);
	if (rc || o.help) {
		if (o.help)
			fputs(recv_help, stdout);
		return rc;
	}
	if (o.nargs)
		return cli_usage("recv", "unexpected argument '%s'", o.args[0]);
	ipk_chan *ch, *unused;
	int open_timeout = o.timeout < 0 ? IPK_DEFAULT_TIMEOUT : o.timeout;
	rc = cli_open(o.url, o.listen, false, open_timeout, &ch, &unused);
	if (rc < 0)
		return cli_exit_code(cli_fail("recv", o.url, rc));
	struct recv_ctx r = {.o = &o, .raw = cli_url_flag(o.url, "raw")};
	r.cap = ipk_max(ch);
	r.m.buf = malloc(r.cap ? r.cap : 1);
	r.m.fds = r.fds;
	r.m.peer = &r.peer;
	rc = r.m.buf ? recv_run(&r, ch) : -ENOMEM;
	rc = recv_result(&r, rc);
	free(r.m.buf);
	ipk_close(ch);
	return cli_exit_code(rc);
}
