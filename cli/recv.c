/*
 * recv.c - `ipckit recv URL`: writes each message as it arrives, as
 * text, bytes, hex or JSON lines.  Listeners with connections are served
 * by recvconn.c; what was lost or refused is said on stderr at the end.
 */
#include "recv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SAVE_IDLE_MS 1000 /* a saved descriptor that gives nothing */

static const char recv_help[] =
        "usage: ipckit recv URL [options]\n"
        "Prints each message that arrives, one per line (a ?raw URL: the "
        "bytes\nas they are; on a connection socket it ends at the "
        "peer's EOF).\n"
        "A listener serves up to ?maxconn= connections at once (default "
        "1024)\nand says on stderr the URL a peer dials.\n"
        "  -n, --count N      stop after N messages (?raw streams: N "
        "reads)\n"
        "  --timeout MS       fail when nothing arrives for MS ms "
        "(default: wait)\n"
        "  --hex              print each message as hex\n"
        "  --json             one JSON object per message: len, text "
        "(UTF-8) or\n"
        "                     base64, type, prio, fds, dropped, peer\n"
        "  -o, --output FILE  write the payloads to FILE, byte for byte\n"
        "  --type N           sysvmsg: 0 any, N that type, -N lowest "
        "type <= N\n"
        "  --peer             show who sent each message\n"
        "  --save-fds DIR     unix*: write received descriptors' content "
        "to DIR\n"
        "  --save-fds-max B   at most B bytes per descriptor (default "
        "16 MiB)\n"
        "  --listen           create the endpoint (the default)\n"
        "  --dial             open an existing endpoint\n"
        "Exit status: 0 done, 1 failed or lost a message, 2 wrong usage, "
        "130/143\nstopped by SIGINT/SIGTERM.\n"
        "Examples:\n"
        "  ipckit recv fifo:/tmp/demo -n 2\n"
        "  ipckit recv tcp://127.0.0.1:0 --json --peer\n"
        "  ipckit recv --dial mq:/orders --timeout 1000\n"
        "  ipckit recv sysvmsg:0x10 --type -5 --hex\n"
        "  ipckit recv unix:/tmp/app.sock --save-fds /tmp/got\n";

bool
recv_done(const struct recv_ctx *r)
{
	return cli_stop || r->out_err || (r->o->count && r->got >= r->o->count);
}

/* Copy one passed descriptor into DIR/fd-MSG-I, at most save_max bytes. */
static void
recv_save_one(struct recv_ctx *r, int fd, size_t i)
{
	const struct cli_opts *o = r->o;
	char path[4096], buf[65536];
	snprintf(path, sizeof(path), "%s/fd-%lld-%zu", o->save_fds, r->got, i);
	int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		fprintf(stderr, "ipckit: recv: %s: %s\n", path,
		        strerror(errno));
		return;
	}
	long long left = o->save_max;
	ssize_t n = 0;
	while (left > 0 &&
	       (n = cli_read(fd, buf, sizeof(buf), SAVE_IDLE_MS)) > 0) {
		size_t k = (size_t)(n < left ? n : left);
		if (write(out, buf, k) != (ssize_t)k)
			break;
		left -= (long long)k;
	}
	if (left == 0 && cli_read(fd, buf, 1, 0) > 0)
		fprintf(stderr,
		        "ipckit: recv: %s: kept the first %lld bytes "
		        "(--save-fds-max)\n",
		        path, o->save_max);
	else if (n == -ETIMEDOUT)
		fprintf(stderr,
		        "ipckit: recv: %s: nothing more came for %d ms; "
		        "saved what came\n",
		        path, SAVE_IDLE_MS);
	close(out);
}

static void
recv_fds(struct recv_ctx *r)
{
	for (size_t i = 0; i < r->m.nfds; i++) {
		if (r->o->save_fds && !cli_stop)
			recv_save_one(r, r->fds[i], i);
		close(r->fds[i]);
	}
}

int
recv_one(struct recv_ctx *r, ipk_chan *ch, int timeout_ms)
{
	r->m.len = r->cap;
	r->m.nfds = r->meta ? RECV_MAXFDS : 0;
	r->m.fds = r->meta ? r->fds : NULL;
	r->m.peer = r->meta ? &r->peer : NULL;
	r->m.type = r->o->type_set ? (long)r->o->type : 0;
	ssize_t n = ipk_recvmsg(ch, &r->m, timeout_ms);
	if (n < 0)
		return (int)n;
	if (r->m.nfds > RECV_MAXFDS)
		r->m.nfds = 0;
	const char *scheme = ipk_scheme(ch);
	struct cli_meta meta = {scheme, &r->m, -1};
	/* The drop count is a system call: only when it is printed. */
	if (r->o->json && !strcmp(scheme, "udp"))
		meta.dropped = ipk_drops(ch);
	int rc = cli_out_msg(&r->out, &meta, (size_t)n);
	recv_fds(r);
	r->got++;
	if (rc < 0)
		r->out_err = rc;
	return rc;
}

/* Four bytes that read as text: a length prefix that is not one. */
static bool
recv_looks_text(size_t claimed)
{
	for (int i = 0; i < 4; i++) {
		unsigned b = (unsigned)(claimed >> (8 * i)) & 0xff;
		if ((b < 0x20 || b > 0x7e) && b != '\n' && b != '\t' &&
		    b != '\r')
			return false;
	}
	return claimed <= 0xffffffffu;
}

static int
recv_fail(struct recv_ctx *r, ipk_chan *ch, int err)
{
	const char *url = r->o->url;
	if (err != -EMSGSIZE || !ch)
		return cli_fail_at("recv", url, err, CLI_RECV);
	char hint[160];
	size_t max = ipk_max(ch);
	bool stream = cli_scheme_in(url, "fifo pipe unix tcp");
	if (stream && !r->raw && recv_looks_text(r->m.len))
		snprintf(hint, sizeof(hint),
		         "the peer sent plain text, not framed messages; "
		         "add ?raw to read bytes as they are");
	else if (r->m.len > max)
		snprintf(hint, sizeof(hint),
		         "a message of %zu bytes is above this channel's max "
		         "of %zu; raise ?max=",
		         r->m.len, max);
	else
		return cli_fail_at("recv", url, err, CLI_RECV);
	return cli_fail_hint("recv", url, err, hint);
}

void
recv_lost(struct recv_ctx *r, ipk_chan *ch, int err)
{
	r->lost++;
	recv_fail(r, ch, err);
}

/* Errors after which this channel still delivers the next message. */
static bool
recv_recoverable(const struct recv_ctx *r, int err)
{
	if (err == -ECONNRESET || err == -ENOBUFS)
		return true;
	return err == -EMSGSIZE && !r->raw && cli_scheme_in(r->o->url, "fifo");
}

/* One channel: a dialer, or a listener without connections. */
static int
recv_single(struct recv_ctx *r, ipk_chan *ch)
{
	while (!recv_done(r)) {
		int rc = recv_one(r, ch, r->o->timeout);
		if (rc == 0 || r->out_err)
			continue;
		if (!recv_recoverable(r, rc))
			return rc;
		recv_lost(r, ch, rc);
	}
	return 0;
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
recv_output_error(const struct recv_ctx *r)
{
	if (r->out_err == -EPIPE)
		return 0; /* the reader of stdout is done: so are we */
	if (cli_stop)
		return 1; /* a signal cut a blocked write: not an error */
	fprintf(stderr, "ipckit: recv: %s: %s\n", r->out.name,
	        ipk_strerror(r->out_err));
	return 1;
}

static int
recv_result(struct recv_ctx *r, ipk_chan *ch, int rc)
{
	const struct cli_opts *o = r->o;
	if (r->out_err)
		return recv_output_error(r);
	if (rc == -ECANCELED)
		return cli_stop ? 1 : 0; /* signal, or stdout closed */
	if (rc == -EPIPE && (o->count == 0 || r->got >= o->count))
		rc = 0; /* the peer finished */
	if (rc == -ETIMEDOUT && r->got > 0 && o->count == 0)
		rc = 0;
	if (rc == -ETIMEDOUT) {
		fprintf(stderr,
		        "ipckit: recv: %s: no message within %d ms (got "
		        "%lld)\n",
		        o->url, o->timeout, r->got);
		return 1;
	}
	if (rc < 0)
		return recv_fail(r, ch, rc);
	return r->lost ? 1 : 0;
}

static const char *
recv_plural(long long n)
{
	return n == 1 ? "" : "s";
}

/* What the channel lost or refused on purpose, said once at the end. */
static void
recv_report(const struct recv_ctx *r, ipk_chan *ch)
{
	struct ipk_stats st;
	const char *u = r->o->url;
	if (ipk_stats(ch, &st) < 0)
		return;
	if (st.dropped > 0)
		fprintf(stderr,
		        "ipckit: recv: %s: the kernel dropped %lld datagram%s "
		        "(the receive buffer was full)\n",
		        u, st.dropped, recv_plural(st.dropped));
	if (st.discarded > 0)
		fprintf(stderr,
		        "ipckit: recv: %s: discarded %lld byte%s that were "
		        "not whole messages\n",
		        u, st.discarded, recv_plural(st.discarded));
	if (st.refused > 0)
		fprintf(stderr,
		        "ipckit: recv: %s: refused %lld connection%s "
		        "(credential policy or ?maxconn=)\n",
		        u, st.refused, recv_plural(st.refused));
	if (st.shed > 0)
		fprintf(stderr,
		        "ipckit: recv: %s: dropped %lld connection%s over "
		        "?rxbudget=\n",
		        u, st.shed, recv_plural(st.shed));
}

static int
recv_check_dir(const char *dir)
{
	struct stat st;
	int err = stat(dir, &st) < 0 ? -errno : 0;
	if (err == 0 && !S_ISDIR(st.st_mode))
		err = -ENOTDIR;
	if (err == 0)
		return 0;
	return cli_fail_hint("recv", dir, err,
	                     "--save-fds needs an existing directory");
}

/* Checks and files that come before the channel is opened. */
static int
recv_prepare(struct cli_opts *o, struct recv_ctx *r)
{
	int rc;
	if (o->save_fds && (rc = recv_check_dir(o->save_fds)))
		return rc;
	if (o->save_max < 0)
		o->save_max = CLI_SAVE_FDS_MAX;
	r->out = (struct cli_out){stdout,  "stdout", o->hex, o->json,
	                          o->peer, r->raw,   false};
	if (!o->output)
		return 0;
	r->out.f = fopen(o->output, "wbe");
	r->out.name = o->output;
	r->out.bytes = true;
	return r->out.f ? 0 : cli_fail_hint("recv", o->output, -errno, NULL);
}

static int
recv_open(const struct cli_opts *o, ipk_chan **ch)
{
	ipk_chan *unused;
	int open_timeout = o->timeout < 0 ? IPK_DEFAULT_TIMEOUT : o->timeout;
	int rc = cli_open(o->url, o->listen, false, open_timeout, ch, &unused);
	if (rc < 0)
		return cli_fail_at("recv", o->url, rc, CLI_OPEN);
	char name[4200];
	if (o->listen && ipk_name(*ch, name, sizeof(name)) == 0)
		fprintf(stderr, "ipckit: recv: listening on %s\n", name);
	return 0;
}

static int
recv_main(struct cli_opts *o)
{
	struct recv_ctx r = {.o = o, .raw = cli_url_flag(o->url, "raw")};
	int rc = recv_prepare(o, &r);
	if (rc)
		return rc;
	r.meta = o->type_set || o->peer || o->save_fds || o->json;
	if (!o->output)
		cli_watch_stdout();
	ipk_chan *ch = NULL;
	rc = recv_open(o, &ch);
	if (rc == 0) {
		r.cap = ipk_max(ch);
		r.m.buf = malloc(r.cap ? r.cap : 1);
		rc = r.m.buf ? recv_run(&r, ch) : -ENOMEM;
		rc = recv_result(&r, ch, rc);
		recv_report(&r, ch);
	}
	free(r.m.buf);
	ipk_close(ch);
	if (o->output && fclose(r.out.f) == EOF && rc == 0)
		rc = cli_fail_hint("recv", o->output, -errno, NULL);
	return rc;
}

int
cmd_recv_parse(int argc, char **argv, struct cli_opts *o)
{
	*o = (struct cli_opts){.timeout = -1, .listen = true};
	int rc = cli_parse("recv", recv_help, argc, argv, o);
	if (rc || o->help)
		return rc;
	if (o->nargs)
		return cli_usage("recv", "unexpected argument '%s'",
		                 o->args[0]);
	if ((o->hex && o->json) || (o->output && (o->hex || o->json)))
		return cli_usage("recv", "--hex, --json and --output exclude "
		                         "each other");
	rc = cli_check_url("recv", o->url);
	/* A FIFO's dialers write and its listener reads. */
	if (rc == 0 && !o->listen && !strncmp(o->url, "fifo:", 5))
		return cli_usage("recv", "a fifo: dialer only writes: recv "
		                         "listens on a FIFO (drop --dial)");
	return rc;
}

int
cmd_recv(int argc, char **argv)
{
	struct cli_opts o;
	int rc = cmd_recv_parse(argc, argv, &o);
	if (rc || o.help)
		return rc;
	return cli_exit_code(recv_main(&o));
}
