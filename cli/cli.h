/*
 * cli.h - what the subcommands of the ipckit command share: option
 * parsing, one-line errors naming the endpoint, the stop flag set by
 * SIGINT/SIGTERM, and output of received messages.
 */
#ifndef IPK_CLI_H
#define IPK_CLI_H

#include <ipckit.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#define EXIT_USAGE 2
#define CLI_SLICE_MS 200 /* longest wait before checking the stop flag */

extern volatile sig_atomic_t cli_stop; /* the signal that asked to stop */

/* "ipckit: VERB: URL: text (hint)" on stderr; returns 1. */
int cli_fail(const char *verb, const char *url, int err);
/* "ipckit: VERB: text" and the usage hint on stderr; returns 2. */
int cli_usage(const char *verb, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* Parse a whole decimal number in [lo, hi]; false if it is not one. */
bool cli_num(const char *s, long long lo, long long hi, long long *out);
/* Catch SIGINT/SIGTERM into cli_stop; ignore SIGPIPE (stdout closed). */
void cli_signals(void);
/* 130 or 143 for the signal that stopped us, else rc. */
int cli_exit_code(int rc);
/* url with "timeout=MS" added to its query unless it has one. */
char *cli_url_timeout(const char *url, int timeout_ms);
/* Open url as listener or dialer; for listeners that accept, also wait
 * for one connection when want_conn.  *conn is the channel to use. */
int cli_open(const char *url, bool listen, bool want_conn, int timeout_ms,
             ipk_chan **owner, ipk_chan **conn);

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
	long long type, prio;
	const char *file, *fd_file, *save_fds;
};

/* Parse argv (argv[0] is the verb) allowing the space-separated options
 * in allowed; prints usage errors itself and returns 2, else 0. */
int cli_parse(const char *verb, int argc, char **argv, const char *allowed,
              struct cli_opts *o);
/* Whether url's query has the bare flag (e.g. "raw"). */
bool cli_url_flag(const char *url, const char *flag);

int cmd_send(int argc, char **argv);
int cmd_recv(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
