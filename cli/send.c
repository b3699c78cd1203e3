/*
 * send.c - `ipckit send URL [MSG...]`: one message per argument, per line
 * of standard input, or a whole file; raw URLs copy stdin byte for byte.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char send_help[] =
        "usage: ipckit send URL [MSG...] [options]\n"
        "Sends each MSG as one message; without MSG, one message per "
        "line of\nstandard input (a ?raw URL gets the bytes as they "
        "are).\n"
        "  --file F       send the content of file F as one message\n"
        "  --dial         open an existing endpoint (the default)\n"
        "  --listen       create it, wait for a peer, then send\n"
        "  --timeout MS   wait for the peer and each send (default "
        "10000, -1 forever)\n"
        "  --type N       sysvmsg: message type (N > 0)\n"
        "  --prio N       mq: priority\n"
        "  --fd FILE      unix: pass an open descriptor of FILE along\n";

struct send_ctx {
	ipk_chan *ch;
	struct ipk_msg m;
	int timeout;
	const char *url;
	bool meta;  /* type, prio or fds given: use ipk_sendmsg */
	char *file; /* --file content */
	size_t file_len;
};

static int
send_one(struct send_ctx *s, const void *buf, size_t len)
{
	s->m.buf = (void *)buf;
	s->m.len = len;
	int rc = s->meta ? ipk_sendmsg(s->ch, &s->m, s->timeout)
	                 : ipk_send(s->ch, buf, len, s->timeout);
	s->m.fds = NULL; /* a descriptor goes with the first message only */
	s->m.nfds = 0;
	return rc < 0 ? cli_fail("send", s->url, rc) : 0;
}

/* Read file path whole, before any channel is opened. */
static int
send_load(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "ipckit: send: %s: %s\n", path,
		        strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	size_t cap = (size_t)st.st_size, got = 0;
	*buf = malloc(cap ? cap : 1);
	ssize_t r = 1;
	while (*buf && got < cap && (r = read(fd, *buf + got, cap - got)) > 0)
		got += (size_t)r;
	close(fd);
	if (!*buf || r < 0) {
		fprintf(stderr, "ipckit: send: %s: %s\n", path,
		        *buf ? strerror(errno) : "out of memory");
		free(*buf);
		*buf = NULL;
		return 1;
	}
	*len = got;
	return 0;
}

static int
send_stdin(struct send_ctx *s, bool raw)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	if (raw) {
		char buf[65536];
		while (rc == 0 && !cli_stop &&
		       (n = read(0, buf, sizeof(buf))) > 0)
			rc = send_one(s, buf, (size_t)n);
		return rc;
	}
	while (rc == 0 && !cli_stop && (n = getline(&line, &cap, stdin)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			n--;
		rc = send_one(s, line, (size_t)n);
	}
	free(line);
	return rc;
}

static int
send_run(struct send_ctx *s, const struct cli_opts *o)
{
	if (s->file)
		return send_one(s, s->file, s->file_len);
	if (o->nargs == 0 && !o->fd_file)
		return send_stdin(s, cli_url_flag(o->url, "raw"));
	if (o->nargs == 0) {
		const char *base = strrchr(o->fd_file, '/');
		base = base ? base + 1 : o->fd_file;
		return send_one(s, base, strlen(base));
	}
	for (int i = 0; i < o->nargs; i++)
		if (send_one(s, o->args[i], strlen(o->args[i])))
			return 1;
	return 0;
}

int
cmd_send(int argc, char **argv)
{
	struct cli_opts o = {.timeout = IPK_DEFAULT_TIMEOUT};
	int rc = cli_parse("send", argc, argv,
	                   "listen dial timeout type prio file fd", &o);
	if (rc || o.help) {
		if (o.help)
			fputs(send_help, stdout);
		return rc;
	}
	if ((o.file && o.nargs) || (o.file && o.fd_file))
		return cli_usage("send", "--file excludes MSG and --fd");
	struct send_ctx s = {.timeout = o.timeout, .url = o.url};
	s.m.type = o.type_set ? (long)o.type : 0;
	s.m.prio = (unsigned)o.prio;
	s.meta = o.type_set || o.prio_set || o.fd_file;
	if (o.file && send_load(o.file, &s.file, &s.file_len))
		return 1;
	int fd = -1;
	if (o.fd_file) {
		fd = open(o.fd_file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			free(s.file);
			return cli_fail("send", o.fd_file, -errno);
		}
		s.m.fds = &fd;
		s.m.nfds = 1;
	}
	ipk_chan *owner;
	rc = cli_open(o.url, o.listen, true, o.timeout, &owner, &s.ch);
	if (rc < 0)
		rc = cli_fail("send", o.url, rc);
	else
		rc = send_run(&s, &o);
	if (s.ch != owner)
		ipk_close(s.ch);
	ipk_close(owner);
	if (fd >= 0)
		close(fd);
	free(s.file);
	return cli_exit_code(rc);
}
