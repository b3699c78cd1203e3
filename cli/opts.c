/*
 * opts.c - the options of send and recv, parsed with getopt_long (GNU
 * conventions: --opt=V, --opt V, -n1, options anywhere, -- ends them),
 * then checked against the URL: an option its mechanism ignores is an
 * error, not a silent no-op.
 */
#include "cli.h"

#include <getopt.h>
#include <string.h>

enum {
	OPT_LISTEN = 256,
	OPT_DIAL,
	OPT_TIMEOUT,
	OPT_TYPE,
	OPT_PRIO,
	OPT_FILE,
	OPT_FD,
	OPT_HEX,
	OPT_JSON,
	OPT_PEER,
	OPT_SAVE_FDS,
	OPT_SAVE_MAX,
	OPT_OUTPUT,
};

static const struct option send_opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"listen", no_argument, NULL, OPT_LISTEN},
        {"dial", no_argument, NULL, OPT_DIAL},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"type", required_argument, NULL, OPT_TYPE},
        {"prio", required_argument, NULL, OPT_PRIO},
        {"file", required_argument, NULL, OPT_FILE},
        {"fd", required_argument, NULL, OPT_FD},
        {NULL, 0, NULL, 0},
};

static const struct option recv_opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"count", required_argument, NULL, 'n'},
        {"listen", no_argument, NULL, OPT_LISTEN},
        {"dial", no_argument, NULL, OPT_DIAL},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"type", required_argument, NULL, OPT_TYPE},
        {"hex", no_argument, NULL, OPT_HEX},
        {"json", no_argument, NULL, OPT_JSON},
        {"peer", no_argument, NULL, OPT_PEER},
        {"save-fds", required_argument, NULL, OPT_SAVE_FDS},
        {"save-fds-max", required_argument, NULL, OPT_SAVE_MAX},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
};

static int
opts_number(const char *verb, const char *name, const char *v, long long lo,
            long long hi, long long *out)
{
	if (cli_num(v, lo, hi, out))
		return 0;
	return cli_usage(verb, "bad number '%s' for %s (%lld to %lld)", v, name,
	                 lo, hi);
}

static int
opts_value(const char *verb, int c, const char *v, struct cli_opts *o)
{
	long long t;
	switch (c) {
	case 'n':
		return opts_number(verb, "-n", v, 1, 0x7fffffff, &o->count);
	case OPT_TIMEOUT:
		if (opts_number(verb, "--timeout", v, -1, 0x7fffffff, &t))
			return EXIT_USAGE;
		o->timeout = (int)t;
		return 0;
	case OPT_TYPE:
		o->type_set = true;
		return opts_number(verb, "--type", v, -0x7fffffffL, 0x7fffffffL,
		                   &o->type);
	case OPT_PRIO:
		o->prio_set = true;
		return opts_number(verb, "--prio", v, 0, 0x7fffffff, &o->prio);
	case OPT_SAVE_MAX:
		return opts_number(verb, "--save-fds-max", v, 0,
		                   0x7fffffffffffffffLL, &o->save_max);
	case OPT_FILE:
		o->file = v;
		return 0;
	case OPT_FD:
		o->fd_file = v;
		return 0;
	case OPT_SAVE_FDS:
		o->save_fds = v;
		return 0;
	default:
		o->output = v;
		return 0;
	}
}

static int
opts_one(const char *verb, int c, char **argv, const struct option *table,
         struct cli_opts *o)
{
	switch (c) {
	case 'h':
		o->help = true;
		return 0;
	case OPT_LISTEN:
	case OPT_DIAL:
		o->listen = c == OPT_LISTEN;
		return 0;
	case OPT_HEX:
		o->hex = true;
		return 0;
	case OPT_JSON:
		o->json = true;
		return 0;
	case OPT_PEER:
		o->peer = true;
		return 0;
	case ':':
	case '?':
		return cli_bad_option(verb, c, argv, table);
	default:
		return opts_value(verb, c, optarg, o);
	}
}

/* An option the URL's mechanism has no use for is refused. */
static int
opts_apply(const char *verb, const struct cli_opts *o)
{
	const char *u = o->url;
	if (o->type_set && !cli_scheme_in(u, "sysvmsg"))
		return cli_usage(verb, "--type applies to sysvmsg: URLs only");
	if (o->prio_set && !cli_scheme_in(u, "mq"))
		return cli_usage(verb, "--prio applies to mq: URLs only");
	const char *unixes = "unix unixpacket unixgram";
	if (o->fd_file && !cli_scheme_in(u, unixes))
		return cli_usage(verb, "--fd needs a unix, unixpacket or "
		                       "unixgram URL (descriptors pass only "
		                       "over Unix sockets)");
	if ((o->save_fds || o->save_max >= 0) && !cli_scheme_in(u, unixes))
		return cli_usage(verb, "--save-fds needs a unix, unixpacket or "
		                       "unixgram URL (descriptors pass only "
		                       "over Unix sockets)");
	return 0;
}

int
cli_parse(const char *verb, const char *help, int argc, char **argv,
          struct cli_opts *o)
{
	bool is_send = !strcmp(verb, "send");
	const struct option *table = is_send ? send_opts : recv_opts;
	const char *shorts = is_send ? ":h" : ":hn:o:";
	o->save_max = -1;
	/* 0, not 1: glibc then also forgets a cluster like -hx that an
	 * earlier call stopped inside (getopt(3), NOTES). */
	optind = 0;
	opterr = 0;
	int c, rc = 0;
	while (rc == 0 &&
	       (c = getopt_long(argc, argv, shorts, table, NULL)) != -1)
		rc = opts_one(verb, c, argv, table, o);
	if (o->help)
		fputs(help, stdout);
	if (rc || o->help)
		return rc;
	if (optind >= argc)
		return cli_usage(verb, "no URL given");
	o->url = argv[optind];
	o->args = argv + optind + 1;
	o->nargs = argc - optind - 1;
	return opts_apply(verb, o);
}
