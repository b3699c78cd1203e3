/*
 * relay.c - `ipckit relay FROM TO`: moves messages between any two
 * endpoints in one poll loop.  This file picks the shape (one pair, a
 * listener fanning in, one-to-one pairs, one connection at a time),
 * opens the sides, runs the loop and keeps the counters; relaypair.c
 * moves the messages, relayend.c talks to one end.
 */
#include "relay.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char relay_help[] =
        "usage: ipckit relay FROM TO [options]\n"
        "Moves messages from FROM to TO (both ways with --both).  FROM "
        "is taken as\n'ipckit recv' takes it (created: the queue, FIFO "
        "or socket producers write\nto), TO as 'ipckit send' does "
        "(an existing endpoint).  stdio: is standard\ninput/output, "
        "one message per line; stdio:?raw the bytes as they come.\n"
        "  --dial-from        open an existing FROM instead of creating "
        "it\n"
        "  --listen-to        create TO and wait for its peers\n"
        "  --both             also carry what TO sends back to FROM\n"
        "  --timeout MS       how long one dial waits (default 2000)\n"
        "  --stats N          print the counters every N seconds\n"
        "  --json             counters as one JSON object per line\n"
        "Connections: a FROM that accepts (unix:, unixpacket:, tcp:) "
        "serves many\nat once.  Into a message mechanism they fan in, "
        "each message whole.\nBetween two connection transports each "
        "accepted connection gets its own\nconnection to TO; those "
        "pairs always carry both ways, and an EOF (half-close)\non one "
        "side becomes a half-close on the other.  With --both, or with "
        "a TO\nthat accepts, a side that accepts serves one connection "
        "at a time.\n"
        "Boundaries: kept between message mechanisms and framed "
        "streams.  A ?raw\nside has none: what one read gives (up to 64 "
        "KiB) becomes one message,\nand messages into it are written "
        "back to back.  stdio: lines lose their\nnewline on the way in "
        "and get one on the way out.  sysvmsg: types and mq:\n"
        "priorities go along only between two of the same kind.\n"
        "Backpressure: each direction holds one message; the next is "
        "taken only once\nit has gone.  A dialled side whose peer goes "
        "away is dialled again (backoff\n0.1 s doubling to 5 s), and "
        "meanwhile messages wait in FROM.\n"
        "SIGINT/SIGTERM: removes what it created and prints the "
        "counters (messages,\nbytes, drops, connections) on stderr; "
        "exit 130/143.\n"
        "Examples:\n"
        "  ipckit relay tcp://0.0.0.0:9000 mq:/orders      # network "
        "into a queue\n"
        "  ipckit relay sysvmsg:0x10 tcp://hostB:9000     # a local "
        "queue, forwarded\n"
        "  ipckit relay --dial-from 'sysvmsg:0x10?share' tcp://hostB:9000"
        "\n"
        "  ipckit relay 'unix:/run/app.sock?raw' "
        "'tcp://127.0.0.1:8080?raw'\n"
        "  ipckit relay fifo:/tmp/in stdio:\n"
        "Exit status: 0 done (stdin ended and nothing comes back, a lone "
        "pair closed,\nstdout closed; a side that accepts serves until "
        "a signal), 1 failed,\n2 wrong usage, 130/143 stopped by "
        "SIGINT/SIGTERM.\n";

enum {
	OPT_DIAL_FROM = 256,
	OPT_LISTEN_TO,
	OPT_BOTH,
	OPT_TIMEOUT,
	OPT_STATS,
	OPT_JSON,
};

static const struct option relay_opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"dial-from", no_argument, NULL, OPT_DIAL_FROM},
        {"listen-to", no_argument, NULL, OPT_LISTEN_TO},
        {"both", no_argument, NULL, OPT_BOTH},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"stats", required_argument, NULL, OPT_STATS},
        {"json", no_argument, NULL, OPT_JSON},
        {NULL, 0, NULL, 0},
};

static int
relay_number(const char *name, const char *v, long long lo, long long hi,
             int *out)
{
	long long n;
	if (!cli_num(v, lo, hi, &n))
		return cli_usage("relay",
		                 "bad number '%s' for %s (%lld to "
		                 "%lld)",
		                 v, name, lo, hi);
	*out = (int)n;
	return 0;
}

static int
relay_option(struct relay *r, int c, char **argv, bool *help)
{
	switch (c) {
	case 'h':
		*help = true;
		return 0;
	case OPT_DIAL_FROM:
		r->from.listen = false;
		return 0;
	case OPT_LISTEN_TO:
		r->to.listen = true;
		return 0;
	case OPT_BOTH:
		r->both = true;
		return 0;
	case OPT_JSON:
		r->json = true;
		return 0;
	case OPT_TIMEOUT:
		return relay_number("--timeout", optarg, -1, 0x7fffffff,
		                    &r->timeout);
	case OPT_STATS:
		return relay_number("--stats", optarg, 1, 86400, &r->stats_s);
	default:
		return cli_bad_option("relay", c, argv, relay_opts);
	}
}

/* What a side's URL says about it; 0 or the usage error's 2. */
static int
relay_side(struct rside *s, const char *url, const char *what)
{
	s->url = url;
	s->what = what;
	s->stdio = !strncmp(url, "stdio:", 6);
	if (s->stdio) {
		if (strcmp(url, "stdio:") && strcmp(url, "stdio:?raw"))
			return cli_usage("relay", "%s: stdio: takes only ?raw",
			                 url);
		s->raw = url[6] != '\0';
		return 0;
	}
	if (cli_scheme_in(url, "pipe"))
		return cli_usage("relay",
		                 "%s: pipe: has no name to open; use "
		                 "fifo:",
		                 url);
	int rc = cli_check_url("relay", url);
	snprintf(s->scheme, sizeof(s->scheme), "%.*s", (int)strcspn(url, ":"),
	         url);
	s->raw = cli_url_flag(url, "raw");
	s->conn = cli_scheme_in(url, "unix unixpacket tcp");
	s->outpoll =
	        cli_scheme_in(url, "tcp unix unixpacket unixgram udp fifo mq");
	return rc;
}

/* Shapes that cannot work, said before anything is made. */
static int
relay_shape(struct relay *r)
{
	struct rside *f = &r->from, *t = &r->to;
	if (f->stdio && t->stdio)
		return cli_usage("relay", "FROM and TO cannot both be stdio:");
	bool f_acc = f->conn && f->listen, t_acc = t->conn && t->listen;
	if (f_acc && t_acc)
		return cli_usage("relay", "both sides would wait for "
		                          "connections; let one of them dial");
	const char *oneway = "mq fifo";
	if (r->both &&
	    (cli_scheme_in(f->url, oneway) || cli_scheme_in(t->url, oneway)))
		return cli_usage("relay", "--both needs two sides that carry "
		                          "both ways; mq: and fifo: carry one");
	/* One queue both ways: without distinct types it reads back what
	 * it wrote. */
	const char *q = cli_scheme_in(f->url, "sysvmsg") ? f->url : t->url;
	if (r->both && cli_scheme_in(q, "sysvmsg") && !cli_url_flag(q, "recv"))
		return cli_usage("relay",
		                 "--both on %s needs ?send=N&recv=M "
		                 "with two types, or it reads back "
		                 "what it sends",
		                 q);
	r->duplex = r->both || (f->conn && t->conn);
	if (f_acc && t->conn)
		r->topo = TOPO_PAIRS;
	else if (f_acc && !r->both)
		r->topo = TOPO_FANIN;
	else if (f_acc || t_acc)
		r->topo = TOPO_ONE;
	else
		r->topo = TOPO_SINGLE;
	return 0;
}

int
cmd_relay_parse(int argc, char **argv, struct relay *r)
{
	int c, rc;
	*r = (struct relay){.timeout = RELAY_DIAL_TIMEOUT};
	r->from.listen = true;
	/* 0, not 1: glibc then also forgets a cluster an earlier call
	 * stopped inside (as cli_parse). */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", relay_opts, NULL)) != -1)
		if ((rc = relay_option(r, c, argv, &r->help)))
			return rc;
	if (r->help)
		return fputs(relay_help, stdout), 0;
	if (argc - optind != 2)
		return cli_usage("relay", "needs FROM and TO, got %d URL%s",
		                 argc - optind, argc - optind == 1 ? "" : "s");
	if ((rc = relay_side(&r->from, argv[optind], "FROM")) ||
	    (rc = relay_side(&r->to, argv[optind + 1], "TO")))
		return rc;
	return relay_shape(r);
}

/* A dial that failed at the start: wait and retry, or give up. */
static int
relay_first_dial(struct relay *r, struct rend *e)
{
	int rc = end_open(r, e);
	if (rc == 0 || rc == -ECANCELED)
		return rc;
	if (!end_gone(rc))
		return cli_fail_at("relay", e->side->url, rc, CLI_OPEN);
	end_down(r, e, rc);
	return 0;
}

/* The end of side s: created now, or dialled. */
static int
relay_end(struct relay *r, struct rside *s, bool single, struct rend **out)
{
	struct rend *e = calloc(1, sizeof(*e));
	if (!(*out = e))
		return -ENOMEM;
	e->side = s;
	e->backoff = RELAY_BACKOFF_MIN;
	e->up = s->stdio;
	e->may_read = true;
	if (s->stdio)
		return 0;
	char name[4200];
	bool accepts = s->conn && s->listen;
	if (s->listen) {
		ipk_chan **ch = accepts ? &s->l : &e->ch;
		int rc = ipk_listen(s->url, ch);
		if (rc < 0)
			return cli_fail_at("relay", s->url, rc, CLI_OPEN);
		if (ipk_name(*ch, name, sizeof(name)) == 0)
			fprintf(stderr, "ipckit: relay: listening on %s\n",
			        name);
		e->up = !accepts;
		e->restore = accepts ? RESTORE_ACCEPT : RESTORE_FATAL;
		return 0;
	}
	bool session = single && r->from.conn && r->to.conn;
	e->restore = session ? RESTORE_NONE : RESTORE_DIAL;
	return relay_first_dial(r, e);
}

static int
relay_setup(struct relay *r)
{
	struct rend *a = NULL, *b = NULL;
	bool single = r->topo == TOPO_SINGLE;
	int rc = relay_end(r, &r->from, single, &a);
	if (rc == 0 && r->topo != TOPO_PAIRS)
		rc = relay_end(r, &r->to, single, &b);
	if (rc == 0 && r->topo == TOPO_ONE)
		r->shared = a->restore == RESTORE_ACCEPT ? b : a;
	if (rc == 0 && r->topo == TOPO_FANIN)
		r->shared = b;
	if (r->shared)
		r->shared->shared = true;
	bool paired = r->topo == TOPO_SINGLE || r->topo == TOPO_ONE;
	if (rc == 0 && paired && !pair_new(r, a, b))
		rc = -ENOMEM;
	if (rc == 0 && paired)
		return 0;
	/* Each connection brings its own FROM end, and TO too for pairs. */
	if (a != r->shared)
		end_free(a);
	if (b != r->shared)
		end_free(b);
	return rc;
}

static long long
relay_open(const struct relay *r)
{
	long long n = 0;
	for (size_t i = 0; i < r->n; i++)
		n += (r->p[i]->a->side->conn && r->p[i]->a->up) +
		     (r->p[i]->b->side->conn && r->p[i]->b->up &&
		      !r->p[i]->b->shared);
	if (r->shared && r->shared->side->conn && r->shared->up)
		n++;
	return n;
}

static void
relay_stats(const struct relay *r)
{
	const struct rcount *c = &r->c;
	long long open = relay_open(r);
	if (r->json)
		fprintf(stderr,
		        "{\"messages\":%lld,\"bytes\":%lld,\"back_messages\":"
		        "%lld,\"back_bytes\":%lld,\"drops\":%lld,"
		        "\"connections\":%lld,\"open\":%lld}\n",
		        c->msgs[0], c->bytes[0], c->msgs[1], c->bytes[1],
		        c->drops, c->conns, open);
	else
		fprintf(stderr,
		        "ipckit: relay: %lld messages (%lld bytes) FROM->TO, "
		        "%lld (%lld bytes) TO->FROM, %lld drops, %lld "
		        "connection%s (%lld open)\n",
		        c->msgs[0], c->bytes[0], c->msgs[1], c->bytes[1],
		        c->drops, c->conns, c->conns == 1 ? "" : "s", open);
}

/* Dial e if it is due; *next becomes the earliest time to look again
 * (now, when e came up and should be served before any wait). */
static void
restore_one(struct relay *r, struct rend *e, int64_t *next)
{
	if (!e || e->up || e->restore != RESTORE_DIAL)
		return;
	int64_t now = relay_now();
	if (e->retry_at <= now && end_open(r, e) == 0) {
		*next = now;
		return;
	}
	if (e->retry_at <= now)
		end_down(r, e, 0);
	if (*next < 0 || e->retry_at < *next)
		*next = e->retry_at;
}

/* Dial what is due; the ms until the next dial is due (0: one came
 * up), or -1. */
static int
relay_restore(struct relay *r)
{
	int64_t next = -1;
	restore_one(r, r->shared, &next);
	for (size_t i = 0; i < r->n; i++) {
		restore_one(r, r->p[i]->a, &next);
		restore_one(r, r->p[i]->b, &next);
	}
	int64_t now = relay_now();
	return next < 0 ? -1 : next > now ? (int)(next - now) : 0;
}

static int
min_wait(int a, int b)
{
	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

static int
relay_loop(struct relay *r)
{
	int tick = 1, rc = 0;
	int64_t stats_at = relay_now() + r->stats_s * 1000LL;
	while (!r->err && rc == 0) {
		bool moved = false, busy = true;
		for (int round = 0; round < 16 && busy && !r->err; round++) {
			busy = false;
			for (size_t i = 0; i < r->n && !r->err; i++)
				busy |= pair_serve(r, r->p[i]);
			moved |= busy;
		}
		pair_reap(r);
		if (r->topo == TOPO_SINGLE && r->n == 0)
			break; /* the one pair is over */
		tick = moved ? 1 : tick < 16 ? tick * 2 : tick;
		int wait = relay_restore(r);
		if (r->stats_s) {
			int64_t now = relay_now();
			if (now >= stats_at) {
				relay_stats(r);
				stats_at = now + r->stats_s * 1000LL;
			}
			wait = min_wait(wait, (int)(stats_at - now));
		}
		/* Still moving after 16 rounds: look at the rest, not wait. */
		rc = relay_poll(r, busy ? 0 : wait, tick);
	}
	return r->err ? r->err : rc;
}

/* Stopping: what each direction holds gets one last try, and what
 * still cannot go is counted as dropped. */
static void
relay_last_try(struct relay *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct rdir *d[2] = {&r->p[i]->ab, &r->p[i]->ba};
		for (int k = 0; k < 2; k++) {
			if (!d[k]->full)
				continue;
			d[k]->full = false;
			if (!d[k]->dst->up || end_put(d[k]) <= 0) {
				r->c.drops++;
				continue;
			}
			r->c.msgs[k]++;
			r->c.bytes[k] += (long long)d[k]->size;
		}
	}
}

static void
relay_free(struct relay *r)
{
	for (size_t i = 0; i < r->n; i++)
		pair_free(r, r->p[i]);
	free(r->p);
	if (r->shared) {
		r->shared->shared = false;
		end_free(r->shared);
	}
	ipk_close(r->from.l);
	ipk_close(r->to.l);
	free(r->pf);
	free(r->pend);
}

static int
relay_main(struct relay *r)
{
	if (r->to.stdio)
		cli_watch_stdout();
	int rc = relay_setup(r);
	if (rc == 0)
		rc = relay_loop(r);
	relay_last_try(r);
	relay_stats(r);
	relay_free(r);
	if (rc == -ECANCELED)
		return cli_stop ? 1 : 0; /* a signal, or stdout closed */
	if (r->err)
		return 1;
	return rc < 0 ? cli_fail("relay", r->from.url, rc) : rc;
}

int
cmd_relay(int argc, char **argv)
{
	struct relay r;
	int rc = cmd_relay_parse(argc, argv, &r);
	if (rc || r.help)
		return rc;
	return cli_exit_code(relay_main(&r));
}
