/*
 * cli.h - what the subcommands of the ipckit command share: option
 * parsing, one-line errors naming the endpoint, stopping on a signal or a
 * closed stdout, and output of received messages.
 */
#ifndef IPK_CLI_H
#define IPK_CLI_H

#include <ipckit.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#define EXIT_USAGE 2
#define CLI_SAVE_FDS_MAX (16ll << 20) /* default --save-fds-max */

/* Where an error came up: it picks the hint. */
enum cli_phase { CLI_OPEN = 1, CLI_SEND = 2, CLI_RECV = 4 };

extern volatile sig_atomic_t cli_stop; /* the signal that asked to stop */

/* "ipckit: VERB: URL: text (hint)" on stderr; returns 1.  Nothing is
 * printed for -ECANCELED: the exit status tells of the signal. */
int cli_fail(const char *verb, const char *url, int err);
/* url with the password of its userinfo shown as "***" (in buf). */
const char *cli_shown_url(const char *url, char *buf, size_t size);
int cli_fail_at(const char *verb, const char *url, int err,
                enum cli_phase phase);
int cli_fail_hint(const char *verb, const char *url, int err, const char *hint);
/* The hint for err on url's mechanism in phase, or NULL. */
const char *cli_hint(const char *url, int err, enum cli_phase phase);
/* ipk_url_check; on a bad URL prints what is wrong and returns 2. */
int cli_check_url(const char *verb, const char *url);
/* "ipckit: VERB: text" and the usage hint on stderr; returns 2. */
int cli_usage(const char *verb, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* The usage error of getopt_long's ':' (a value missing) or '?' (an
 * unknown option, or a value given to one that takes none) for the
 * options in table; returns 2. */
struct option;
int cli_bad_option(const char *verb, int c, char **argv,
                   const struct option *table);
/* Parse a whole decimal number in [lo, hi]; false if it is not one. */
bool cli_num(const char *s, long long lo, long long hi, long long *out);

/* SIGINT/SIGTERM set cli_stop and make cli_cancel_fd() readable, which
 * every library wait watches; SIGPIPE is ignored. */
void cli_signals(void);
int cli_cancel_fd(void);
/* Also make cli_cancel_fd() readable when stdout's reader is gone. */
void cli_watch_stdout(void);
/* stdout is a pipe or socket whose reader has gone. */
bool cli_stdout_gone(void);
/* A signal came or stdout closed (the cancel descriptor is readable). */
bool cli_stopping(void);
/* 130 or 143 for the signal that stopped us, else rc. */
int cli_exit_code(int rc);
/* read(2) that waits up to timeout_ms (-1 forever) and stops on the
 * cancel descriptor: bytes, 0 at EOF, -ECANCELED, -ETIMEDOUT, -errno. */
ssize_t cli_read(int fd, void *buf, size_t n, int timeout_ms);

/* url with "timeout=MS" added to its query unless it has one. */
char *cli_url_timeout(const char *url, int timeout_ms);
/* Open url as listener or dialer; for listeners that accept, also wait
 * for one connection when want_conn.  *conn is the channel to use. */
int cli_open(const char *url, bool listen, bool want_conn, int timeout_ms,
             ipk_chan **owner, ipk_chan **conn);
/* Whether url's query has the bare flag (e.g. "raw"). */
bool cli_url_flag(const char *url, const char *flag);
/* The value of key in url's query as a number, or dflt. */
long long cli_url_num(const char *url, const char *key, long long dflt);
/* Whether url's scheme is one of the space-separated names in list. */
bool cli_scheme_in(const char *url, const char *list);

/* Options of send and recv; each verb allows a subset. */
struct cli_opts {
	const char *url;
	char **args; /* positional arguments after URL */
	int nargs;
	bool listen;
	int timeout; /* -1 forever */
	long long count;
	bool hex, json, peer, help;
	bool type_set, prio_set;
	long long type, prio, save_max;
	const char *file, *fd_file, *save_fds, *output;
};

/* Parse argv (argv[0] is the verb) with getopt_long, with the options of
 * that verb; checks that each applies to the URL's scheme.  Prints usage
 * errors itself and returns 2, else 0; prints help on --help. */
int cli_parse(const char *verb, const char *help, int argc, char **argv,
              struct cli_opts *o);

/* Output of received messages (out.c). */
struct cli_out {
	FILE *f;
	const char *name; /* "stdout" or the --output file */
	bool hex, json, peer, raw, bytes;
};
struct cli_meta {
	const char *scheme;
	struct ipk_msg *m;
	long long dropped; /* udp: the kernel's drops so far, or -1 */
};
/* Write one message of len bytes; 0 or -errno of the output. */
int cli_out_msg(const struct cli_out *out, const struct cli_meta *meta,
                size_t len);
/* A JSON string of the UTF-8 text p[0..n). */
void out_json_text(FILE *f, const unsigned char *p, size_t n);

/* The arguments of sem (sem.c). */
struct sem_args {
	const char *verb, *url;
	int timeout;
	long long value;
	bool value_set, timeout_set, help;
	char **cmd; /* run: after "--" */
};
struct bench_opts;
struct relay;   /* relay.h */
struct tt_opts; /* tcptrace.h */

/* The arguments of ls (ls.c). */
struct ls_args {
	const char *kinds; /* --kind: a comma-separated list, or NULL */
	long long uid;     /* --user, or INS_NA */
	bool stale, json, help;
};
/* The arguments of rm (rm.c). */
struct rm_args {
	bool stale, force, dry, help;
	char **urls; /* the URLs to remove, none with --stale */
	int nurls;
};
/* The arguments of limits (limits.c). */
struct limits_args {
	bool json, help;
};

/*
 * What cmd_VERB does before it touches the system: parse argv (argv[0]
 * is the verb) into the verb's options and check them.  0 to go on, or
 * with help set after --help was printed; 2 after a usage error was
 * printed (one line on stderr).  No other I/O: the CLI fuzzer calls them.
 */
int cmd_send_parse(int argc, char **argv, struct cli_opts *o);
int cmd_recv_parse(int argc, char **argv, struct cli_opts *o);
int cmd_sem_parse(int argc, char **argv, struct sem_args *a);
int cmd_bench_parse(int argc, char **argv, struct bench_opts *o);
int cmd_relay_parse(int argc, char **argv, struct relay *r);
int cmd_ls_parse(int argc, char **argv, struct ls_args *a);
int cmd_rm_parse(int argc, char **argv, struct rm_args *a);
int cmd_limits_parse(int argc, char **argv, struct limits_args *a);
int cmd_tcp_trace_parse(int argc, char **argv, struct tt_opts *o);

int cmd_send(int argc, char **argv);
int cmd_recv(int argc, char **argv);
int cmd_relay(int argc, char **argv);
int cmd_sem(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_limits(int argc, char **argv);
int cmd_tcp_trace(int argc, char **argv);

#endif
