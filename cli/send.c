/*
 * send.c - `ipckit send URL [MSG...]`: one message per argument, per line
 * of standard input, or a whole file; raw URLs get stdin or the file
 * streamed in pieces.  On connection sockets it says "sent" only once
 * the listener has read to the end (see send_finish).
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEND_PIECE 65536

static const char send_help[] =
        "usage: ipckit send URL [MSG...] [options]\n"
        "Sends each MSG as one message; without MSG, one message per "
        "line of\nstandard input (a ?raw URL gets the bytes as they "
        "are).  On unix,\nunixpacket and tcp it waits until the "
        "listener has read everything.\n"
        "  --file F       send file F as one message (?raw: streamed in "
        "pieces)\n"
        "  --dial         open an existing endpoint (the default)\n"
        "  --listen       create it, wait for a peer, then send\n"
        "  --timeout MS   wait for the peer and each send (default "
        "10000, -1 forever)\n"
        "  --type N       sysvmsg: message type (N > 0)\n"
        "  --prio N       mq: priority\n"
        "  --fd FILE      unix*: pass an open descriptor of FILE along\n"
        "Use -- before messages that begin with '-'.\n"
        "Examples:\n"
        "  ipckit send fifo:/tmp/demo hello world\n"
        "  printf 'a\\nb\\n' | ipckit send mq:/orders --prio 3\n"
        "  ipckit send sysvmsg:0x10 --type 7 order-42\n"
        "  ipckit send tcp://127.0.0.1:9000 --file report.pdf\n"
        "  ipckit send unix:/tmp/app.sock --fd /etc/hostname\n";

struct send_ctx {
	const struct cli_opts *o;
	ipk_chan *ch;
	struct ipk_msg m;
	bool meta;    /* type, prio or fds given: use ipk_sendmsg */
	bool confirm; /* a connection whose end we wait for */
	int fd;       /* --fd descriptor, or -1 */
	int file;     /* --file descriptor, or -1 */
	off_t file_size;
};

/* The peer closed before reading all: refused, or gone. */
static int
send_refused(const struct send_ctx *s)
{
	fprintf(stderr,
	        "ipckit: send: %s: the %s closed the connection without "
	        "reading (refused? see its ?allow=, ?uid= and ?maxconn=)\n",
	        s->o->url, s->o->listen ? "peer" : "listener");
	return 1;
}

static int
send_error(const struct send_ctx *s, int err)
{
	/* ENOTCONN: a TCP reset came before our half-close. */
	if (s->confirm &&
	    (err == -EPIPE || err == -ECONNRESET || err == -ENOTCONN))
		return send_refused(s);
	return cli_fail_at("send", s->o->url, err, CLI_SEND);
}

static int
send_one(struct send_ctx *s, const void *buf, size_t len)
{
	s->m.buf = (void *)buf;
	s->m.len = len;
	int t = s->o->timeout;
	int rc = s->meta ? ipk_sendmsg(s->ch, &s->m, t)
	                 : ipk_send(s->ch, buf, len, t);
	s->m.fds = NULL; /* a descriptor goes with the first message only */
	s->m.nfds = 0;
	return rc < 0 ? send_error(s, rc) : 0;
}

static int
send_read_error(const char *what, ssize_t err)
{
	if (err == -ECANCELED)
		return 1;
	fprintf(stderr, "ipckit: send: %s: %s\n", what, ipk_strerror((int)err));
	return 1;
}

/* Bytes as they come, in pieces of at most SEND_PIECE. */
static int
send_stream(struct send_ctx *s, int fd, const char *what)
{
	size_t max = ipk_max(s->ch);
	size_t piece = max && max < SEND_PIECE ? max : SEND_PIECE;
	char *buf = malloc(piece);
	ssize_t n;
	int rc = buf ? 0 : send_read_error(what, -ENOMEM);
	while (rc == 0 && (n = cli_read(fd, buf, piece, -1)) != 0)
		rc = n < 0 ? send_read_error(what, n)
		           : send_one(s, buf, (size_t)n);
	free(buf);
	return rc;
}

struct line_in {
	char *buf;
	size_t len, off, cap;
	bool eof;
};

/* Room for a line of up to max bytes and its newline, and more input. */
static int
send_fill(struct send_ctx *s, struct line_in *in)
{
	if (in->off) {
		memmove(in->buf, in->buf + in->off, in->len - in->off);
		in->len -= in->off;
		in->off = 0;
	}
	size_t max = ipk_max(s->ch);
	if (in->len > max)
		return send_error(s, -EMSGSIZE);
	if (in->len == in->cap) {
		size_t cap = in->cap ? in->cap * 2 : SEND_PIECE;
		char *b = realloc(in->buf, cap);
		if (!b)
			return send_read_error("stdin", -ENOMEM);
		in->buf = b;
		in->cap = cap;
	}
	ssize_t n = cli_read(0, in->buf + in->len, in->cap - in->len, -1);
	if (n < 0)
		return send_read_error("stdin", n);
	in->len += (size_t)n;
	in->eof = n == 0;
	return 0;
}

/* One message per line of stdin; a last line without newline too. */
static int
send_lines(struct send_ctx *s)
{
	struct line_in in = {0};
	int rc = 0;
	while (rc == 0) {
		char *at = in.buf + in.off;
		char *nl = in.len > in.off ? memchr(at, '\n', in.len - in.off)
		                           : NULL;
		if (nl) {
			rc = send_one(s, at, (size_t)(nl - at));
			in.off += (size_t)(nl - at) + 1;
		} else if (in.eof) {
			if (in.len > in.off)
				rc = send_one(s, at, in.len - in.off);
			break;
		} else {
			rc = send_fill(s, &in);
		}
	}
	free(in.buf);
	return rc;
}

/* --file on a framed URL: the whole file, mapped, as one message. */
static int
send_file(struct send_ctx *s)
{
	const char *path = s->o->file;
	size_t len = (size_t)s->file_size;
	if (len > ipk_max(s->ch)) {
		fprintf(stderr,
		        "ipckit: send: %s: %s is %zu bytes, above the "
		        "channel's max of %zu (raise ?max=, or stream it with "
		        "?raw)\n",
		        s->o->url, path, len, ipk_max(s->ch));
		return 1;
	}
	if (len == 0)
		return send_one(s, "", 0);
	void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, s->file, 0);
	if (p == MAP_FAILED)
		return send_read_error(path, -errno);
	int rc = send_one(s, p, len);
	munmap(p, len);
	return rc;
}

/*
 * After the last message: half-close, which on pipes and FIFOs finishes
 * what a timed-out send left (-ETIMEDOUT when it cannot: the reader
 * would see that message cut).  On connections, then wait for the
 * peer's end: EOF means it read all we sent (ipckit recv closes a
 * connection at its EOF); a reset means it closed with our data unread,
 * as a listener does when it refuses.
 */
static int
send_finish(struct send_ctx *s)
{
	int rc = ipk_shutdown(s->ch);
	if (rc == -ENOTSUP)
		return 0;
	if (rc < 0 || !s->confirm)
		return rc < 0 ? send_error(s, rc) : 0;
	char buf[512];
	ssize_t n;
	while ((n = ipk_recv(s->ch, buf, sizeof(buf), s->o->timeout)) >= 0)
		; /* an answer is not what we wait for */
	if (n == -EPIPE || n == -EMSGSIZE)
		return 0;
	if (n != -ETIMEDOUT && n != -EAGAIN)
		return send_error(s, (int)n);
	if (s->o->timeout == 0)
		return 0; /* --timeout 0: no waiting, so no confirmation */
	fprintf(stderr,
	        "ipckit: send: %s: sent, but the peer did not close within "
	        "%d ms, so delivery is not confirmed\n",
	        s->o->url, s->o->timeout);
	return 0;
}

/* --fd without MSG: the file's name goes as the message. */
static int
send_name(struct send_ctx *s, const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return send_one(s, base, strlen(base));
}

static int
send_run(struct send_ctx *s)
{
	const struct cli_opts *o = s->o;
	bool raw = cli_url_flag(o->url, "raw");
	int rc = 0;
	if (o->file && raw)
		rc = send_stream(s, s->file, o->file);
	else if (o->file)
		rc = send_file(s);
	else if (o->nargs == 0 && !o->fd_file)
		rc = raw ? send_stream(s, 0, "stdin") : send_lines(s);
	else if (o->nargs == 0)
		rc = send_name(s, o->fd_file);
	for (int i = 0; rc == 0 && i < o->nargs; i++)
		rc = send_one(s, o->args[i], strlen(o->args[i]));
	if (rc == 0)
		rc = send_finish(s);
	return rc;
}

/* --file and --fd are opened before the channel: errors come first. */
static int
send_files(struct send_ctx *s)
{
	const struct cli_opts *o = s->o;
	struct stat st;
	if (o->file) {
		s->file = open(o->file, O_RDONLY | O_CLOEXEC);
		if (s->file < 0 || fstat(s->file, &st) < 0)
			return send_read_error(o->file, -errno);
		if (!S_ISREG(st.st_mode) && !cli_url_flag(o->url, "raw"))
			return cli_usage("send", "--file needs a regular file "
			                         "on a framed URL");
		s->file_size = st.st_size;
	}
	if (o->fd_file) {
		s->fd = open(o->fd_file, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0)
			return send_read_error(o->fd_file, -errno);
		s->m.fds = &s->fd;
		s->m.nfds = 1;
	}
	return 0;
}

static int
send_main(const struct cli_opts *o)
{
	struct send_ctx s = {.o = o, .fd = -1, .file = -1};
	s.m.type = o->type_set ? (long)o->type : 0;
	s.m.prio = (unsigned)o->prio;
	s.meta = o->type_set || o->prio_set || o->fd_file;
	s.confirm = cli_scheme_in(o->url, "unix unixpacket tcp") &&
	            !cli_url_flag(o->url, "raw");
	int rc = send_files(&s);
	ipk_chan *owner = NULL;
	if (rc == 0 && (rc = cli_open(o->url, o->listen, true, o->timeout,
	                              &owner, &s.ch)) < 0)
		rc = cli_fail_at("send", o->url, rc, CLI_OPEN);
	else if (rc == 0)
		rc = send_run(&s);
	if (s.ch != owner)
		ipk_close(s.ch);
	ipk_close(owner);
	if (s.fd >= 0)
		close(s.fd);
	if (s.file >= 0)
		close(s.file);
	return rc;
}

int
cmd_send_parse(int argc, char **argv, struct cli_opts *o)
{
	*o = (struct cli_opts){.timeout = IPK_DEFAULT_TIMEOUT};
	int rc = cli_parse("send", send_help, argc, argv, o);
	if (rc || o->help)
		return rc;
	if ((rc = cli_check_url("send", o->url)))
		return rc;
	if (o->file && (o->nargs || o->fd_file))
		return cli_usage("send", "--file excludes MSG and --fd");
	if (o->listen && !strncmp(o->url, "fifo:", 5))
		return cli_usage("send", "a fifo: listener only reads: send "
		                         "dials a FIFO (drop --listen)");
	return 0;
}

int
cmd_send(int argc, char **argv)
{
	struct cli_opts o;
	int rc = cmd_send_parse(argc, argv, &o);
	if (rc || o.help)
		return rc;
	return cli_exit_code(send_main(&o));
}
