/*
 * tcptrace.c - `ipckit tcp-trace`: a loopback connection of its own, its
 * handshake and close on one timeline: each side's state changes from the
 * kernel (tracepoint, else sampled with sock_diag) and each packet from a
 * capture on lo (libpcap), then TIME_WAIT's remaining time.  Options and
 * the order of the steps; the parts are in tcptrace_*.c.
 */
#include "cli.h"
#include "tcptrace.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TT_CLOSE 7 /* TCP_CLOSE */
#define TT_TW 6    /* TCP_TIME_WAIT */

static const char tt_help[] =
        "usage: ipckit tcp-trace [OPTIONS]\n"
        "       ipckit tcp-trace HOST:PORT [--count N] [--json]\n"
        "       ipckit tcp-trace --pid PID [--count N] [--json]\n"
        "\n"
        "Runs a loopback TCP server and client and shows, on one timeline,\n"
        "each side's state changes (from the kernel's "
        "sock:inet_sock_set_state\n"
        "tracepoint; sampled with sock_diag when that needs rights we lack)\n"
        "and each packet with its flags, seq and ack (libpcap on lo).\n"
        "\n"
        "  --close client|server|both  who closes first (both: at once)\n"
        "  --linger            SO_LINGER 0 on the closer: RST, not FIN\n"
        "  --data N            send N bytes from client to server first\n"
        "  --port P            server port (default: a free one)\n"
        "  --v6                use ::1 instead of 127.0.0.1\n"
        "  --wait              sit out TIME_WAIT and show its end\n"
        "  --restart           then listen on the port again, without and\n"
        "                      with SO_REUSEADDR (try --close server)\n"
        "  --json              the event list as JSON\n"
        "  --pcap FILE         write the packets (Wireshark, tshark -r)\n"
        "  --svg FILE          draw the ladder diagram\n"
        "\n"
        "ipckit tcp-trace HOST:PORT [--count N] [--json] watches, live, the\n"
        "connections others make to HOST:PORT (e.g. with nc) until SIGINT\n"
        "or N of them closed; --pid PID those of a process, until it exits.\n"
        "\n"
        "States need root (tracefs); packets need root or CAP_NET_RAW.\n";

enum {
	OPT_CLOSE = 256,
	OPT_DATA,
	OPT_PORT,
	OPT_PCAP,
	OPT_SVG,
	OPT_COUNT,
	OPT_PID
};

double
tt_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int
tt_add(struct tt_trace *tr, const struct tt_event *e)
{
	if (tr->n == tr->cap) {
		size_t cap = tr->cap ? tr->cap * 2 : 64;
		struct tt_event *ev = realloc(tr->ev, cap * sizeof(*ev));
		if (!ev)
			return -ENOMEM;
		tr->ev = ev;
		tr->cap = cap;
	}
	tr->ev[tr->n++] = *e;
	return 0;
}

static int
tt_close_arg(const char *v, struct tt_opts *o)
{
	static const char *const names[] = {"client", "server", "both"};
	for (int i = 0; i < 3; i++)
		if (!strcmp(v, names[i])) {
			o->close = (enum tt_close)i;
			o->close_set = true;
			return 0;
		}
	return cli_usage("tcp-trace",
	                 "--close is client, server or both, "
	                 "not '%s'",
	                 v);
}

static int
tt_opt(int c, const char *v, char **argv, const struct option *table,
       struct tt_opts *o)
{
	long long n;
	switch (c) {
	case 0:
		return 0; /* a flag getopt_long set */
	case OPT_CLOSE:
		return tt_close_arg(v, o);
	case OPT_PCAP:
		o->pcap = v;
		return 0;
	case OPT_SVG:
		o->svg = v;
		return 0;
	case OPT_DATA:
		if (!cli_num(v, 0, 1 << 30, &o->data))
			return cli_usage(
			        "tcp-trace",
			        "bad --data '%s' (0 to 1073741824 bytes)", v);
		return 0;
	case OPT_COUNT:
		if (!cli_num(v, 1, 1 << 30, &o->count))
			return cli_usage("tcp-trace", "bad --count '%s'", v);
		return 0;
	case OPT_PID:
		if (!cli_num(v, 1, 1 << 22, &o->pid))
			return cli_usage("tcp-trace", "bad --pid '%s'", v);
		return 0;
	case OPT_PORT:
		if (!cli_num(v, 0, 65535, &n))
			return cli_usage("tcp-trace", "bad --port '%s'", v);
		o->port = (int)n;
		return 0;
	default:
		return cli_bad_option("tcp-trace", c, argv, table);
	}
}

/* Options of our own connection mean nothing when watching, and the
 * other way round. */
static int
tt_check(const struct tt_opts *o)
{
	bool own = o->pcap || o->svg || o->linger || o->data || o->restart ||
	           o->wait || o->port || o->v6 || o->close_set;
	if (o->watch && o->pid)
		return cli_usage("tcp-trace", "watch HOST:PORT or --pid, "
		                              "not both");
	if (o->pid && own)
		return cli_usage("tcp-trace", "--pid takes only --json and "
		                              "--count");
	if (o->watch && own)
		return cli_usage("tcp-trace", "watching HOST:PORT takes only "
		                              "--json and --count");
	if (!o->watch && !o->pid && o->count)
		return cli_usage("tcp-trace", "--count applies to watching "
		                              "HOST:PORT or --pid");
	return 0;
}

int
cmd_tcp_trace_parse(int argc, char **argv, struct tt_opts *o)
{
	const struct option longopts[] = {
	        {"help", no_argument, &o->help, 1},
	        {"linger", no_argument, &o->linger, 1},
	        {"v6", no_argument, &o->v6, 1},
	        {"wait", no_argument, &o->wait, 1},
	        {"restart", no_argument, &o->restart, 1},
	        {"json", no_argument, &o->json, 1},
	        {"close", required_argument, NULL, OPT_CLOSE},
	        {"data", required_argument, NULL, OPT_DATA},
	        {"port", required_argument, NULL, OPT_PORT},
	        {"pcap", required_argument, NULL, OPT_PCAP},
	        {"svg", required_argument, NULL, OPT_SVG},
	        {"count", required_argument, NULL, OPT_COUNT},
	        {"pid", required_argument, NULL, OPT_PID},
	        {NULL, 0, NULL, 0},
	};
	int c, rc = 0;
	*o = (struct tt_opts){0};
	optind = 0;
	opterr = 0;
	while (rc == 0 &&
	       (c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1)
		rc = c == 'h' ? (o->help = 1, 0)
		              : tt_opt(c, optarg, argv, longopts, o);
	if (rc == 0 && o->help)
		fputs(tt_help, stdout);
	if (rc || o->help)
		return rc;
	if (optind < argc)
		o->watch = argv[optind++];
	if (optind < argc)
		return cli_usage("tcp-trace", "unexpected argument '%s'",
		                 argv[optind]);
	if ((rc = tt_check(o)))
		return rc;
	if (o->watch &&
	    tt_watch_addr(o->watch, &o->watch_port, &o->watch_loop) < 0)
		return cli_usage("tcp-trace",
		                 "'%s' is not HOST:PORT with a "
		                 "numeric address",
		                 o->watch);
	return 0;
}

/* Stable: events of one instant keep the order their source gave. */
static int
tt_cmp(const void *a, const void *b)
{
	const struct tt_event *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x < y ? -1 : x > y;
}

void
tt_sort(struct tt_trace *tr, size_t from)
{
	if (tr->n - from > 1) /* qsort may not be given a NULL tr->ev */
		qsort(tr->ev + from, tr->n - from, sizeof(*tr->ev), tt_cmp);
}

/* The kernel's last "X -> CLOSE" of a side sock_diag finds in
 * TIME_WAIT is the hand-over to a timewait socket: show it as such. */
static void
tt_mark_timewait(struct tt_trace *tr, int side)
{
	for (size_t i = tr->n; i-- > 0;) {
		struct tt_event *e = &tr->ev[i];
		if (e->kind != TT_STATE || (int)e->side != side)
			continue;
		if (e->newst == TT_CLOSE && !e->sampled)
			e->timewait = true;
		return;
	}
}

/* --wait: poll sock_diag until the timewait sockets are gone; each end
 * is an event (sampled: sock_diag saw it, within 100 ms). */
static int
tt_sit_out(struct tt_trace *tr)
{
	long long left[2] = {tr->tw_ms[0], tr->tw_ms[1]};
	bool ended[2] = {left[0] < 0, left[1] < 0};
	struct pollfd p = {.fd = cli_cancel_fd(), .events = POLLIN};
	fprintf(stderr,
	        "ipckit: tcp-trace: waiting %.1f s for TIME_WAIT "
	        "to end\n",
	        (left[0] > left[1] ? left[0] : left[1]) / 1000.0);
	for (int gone = 0; gone < 2;) {
		if (poll(&p, p.fd >= 0, 100) > 0)
			return -ECANCELED;
		int err = tt_diag_timewait(tr);
		gone = 0;
		for (int side = 0; !err && side < 2; side++) {
			struct tt_event e = {.t = tt_now(),
			                     .kind = TT_STATE,
			                     .side = side,
			                     .oldst = TT_TW,
			                     .newst = TT_CLOSE,
			                     .sampled = true};
			gone += tr->tw_ms[side] < 0;
			if (tr->tw_ms[side] < 0 && !ended[side]) {
				ended[side] = true;
				err = tt_add(tr, &e);
			}
		}
		if (err)
			return err;
	}
	tr->tw_ms[0] = left[0];
	tr->tw_ms[1] = left[1];
	tr->waited = true;
	return 0;
}

/* States: the tracepoint, else sampling (and say why on stderr). */
static int
tt_states(struct tt_trace *tr, struct tt_fs **fs, struct tt_sampler **s)
{
	int err = tt_fs_open(fs, tr->port);
	tr->states = "tracepoint";
	if (err == 0)
		return 0;
	*fs = NULL;
	tr->states = "sampled";
	fprintf(stderr,
	        "ipckit: tcp-trace: tracepoint sock:inet_sock_set_state: %s "
	        "(needs root and tracefs); states are sampled with sock_diag "
	        "and may miss transitions\n",
	        strerror(-err));
	return tt_sampler_start(s, tr);
}

static void
tt_packets(struct tt_trace *tr, struct tt_cap **cap)
{
	const char *why = NULL;
	if (tt_cap_open(cap, tr->port, tr->dev, &why) == 0) {
		tr->packets = "libpcap";
		return;
	}
	*cap = NULL;
	tr->nopkt = why;
	fprintf(stderr, "ipckit: tcp-trace: no packets: %s\n", why);
}

/* After the connection: gather, order, and look for TIME_WAIT. */
static int
tt_gather(struct tt_trace *tr, struct tt_fs *fs, struct tt_cap *cap,
          const struct tt_opts *o)
{
	int err = fs ? tt_fs_collect(fs, tr) : 0;
	if (!err && cap)
		err = tt_cap_collect(cap, tr, o->pcap);
	if (err)
		return err;
	tt_sort(tr, 0);
	err = tt_diag_timewait(tr);
	if (err)
		return err;
	for (int side = 0; side < 2; side++)
		if (tr->tw_ms[side] >= 0)
			tt_mark_timewait(tr, side);
	if (!o->wait || (tr->tw_ms[0] < 0 && tr->tw_ms[1] < 0))
		return 0;
	/* Interrupted, the timeline is still worth printing: exit 130. */
	err = tt_sit_out(tr);
	return err == -ECANCELED ? 0 : err;
}

static int
tt_output(const struct tt_trace *tr, const struct tt_opts *o)
{
	if (o->json)
		tt_out_json(stdout, tr);
	else
		tt_out_text(stdout, tr);
	if (o->svg && tt_out_svg(o->svg, tr))
		return cli_fail("tcp-trace", o->svg, -errno);
	return fflush(stdout) ? 1 : 0;
}

static int
tt_trace_run(struct tt_trace *tr, const struct tt_opts *o)
{
	struct tt_run *run = NULL;
	struct tt_fs *fs = NULL;
	struct tt_sampler *smp = NULL;
	struct tt_cap *cap = NULL;
	int err = tt_run_listen(&run, o, &tr->port);
	if (err)
		return cli_fail("tcp-trace", "listen", err);
	err = tt_states(tr, &fs, &smp);
	if (!err) {
		tt_packets(tr, &cap);
		tr->t0 = tt_now();
		err = tt_run_go(run, o, &tr->cport);
	}
	tt_sampler_stop(smp);
	if (!err)
		err = tt_gather(tr, fs, cap, o);
	if (!err && o->restart) {
		tt_run_restart(run, tr->restart);
		tr->restarted = true;
	}
	tt_cap_close(cap);
	tt_fs_close(fs);
	tt_run_free(run);
	if (err)
		return cli_fail("tcp-trace",
		                o->pcap && err == -EIO ? o->pcap : "trace",
		                err);
	return tt_output(tr, o);
}

int
cmd_tcp_trace(int argc, char **argv)
{
	struct tt_opts o;
	int rc = cmd_tcp_trace_parse(argc, argv, &o);
	if (rc || o.help)
		return rc;
	if (o.watch)
		return cli_exit_code(tt_watch(&o));
	if (o.pid)
		return cli_exit_code(tt_watch_pid(&o));
	struct tt_trace tr = {.v6 = o.v6, .dev = "lo", .tw_ms = {-1, -1}};
	rc = tt_trace_run(&tr, &o);
	free(tr.ev);
	return cli_exit_code(rc);
}
