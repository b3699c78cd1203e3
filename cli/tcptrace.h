/*
 * tcptrace.h - what the parts of `ipckit tcp-trace` share: one timeline
 * of events (state changes from the kernel, packets from a capture on
 * lo), the loopback scenario that makes them, and the sources that fill
 * the timeline (tracefs, sock_diag, libpcap).
 */
#ifndef IPK_TCPTRACE_H
#define IPK_TCPTRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum tt_side { TT_CLIENT, TT_SERVER };
enum tt_kind { TT_STATE, TT_PACKET };
enum tt_close { TT_CLOSE_CLIENT, TT_CLOSE_SERVER, TT_CLOSE_BOTH };

/* TCP flag bits as in the header's 13th byte. */
#define TT_FIN 0x01
#define TT_SYN 0x02
#define TT_RST 0x04
#define TT_PSH 0x08
#define TT_ACK 0x10

struct tt_event {
	double t; /* CLOCK_MONOTONIC seconds */
	enum tt_kind kind;
	enum tt_side side; /* state: whose socket; packet: the sender */
	int oldst, newst;  /* kernel TCP_* numbers (1 ESTABLISHED ...) */
	bool sampled;      /* seen by polling sock_diag, not the tracepoint */
	bool timewait; /* X -> CLOSE that handed over to a timewait socket */
	uint8_t flags;
	uint32_t seq, ack, len;
	uint16_t sport, dport; /* the sender's port and the other */
	int pid;               /* state: the task the tracepoint ran in */
};

/* The ports watched: an event is the server's when it is sent from one
 * of them. */
#define TT_MAXPORTS 32
struct tt_ports {
	size_t n;
	int port[TT_MAXPORTS];
};
bool tt_ports_has(const struct tt_ports *s, int port);

struct tt_trace {
	struct tt_event *ev;
	size_t n, cap;
	int port, cport; /* server's and client's port */
	bool v6;
	const char *dev;     /* capture device: "lo", or "any" */
	bool json;           /* watching: JSON at the end, no lines */
	const char *states;  /* "tracepoint" or "sampled" */
	const char *packets; /* NULL when none, else "libpcap" */
	const char *nopkt;   /* why there are no packets */
	double t0;           /* start, CLOCK_MONOTONIC */
	uint32_t isn[2];     /* per side, from the SYN each sent */
	bool have_isn[2];
	bool isn_shown;     /* watching: from SYNs as they are shown */
	long long tw_ms[2]; /* each side's TIME_WAIT time left, -1 none */
	bool waited;        /* --wait saw them end */
	bool restarted;     /* --restart: res of tt_run_restart in restart */
	int restart[2];
};

struct tt_opts {
	int port;
	int v6, linger, json, wait, restart, help; /* getopt_long sets them */
	long long data;
	enum tt_close close;
	bool close_set;
	const char *pcap, *svg;
	const char *watch; /* HOST:PORT to watch instead of our own */
	int watch_port;    /* ... its port, */
	bool watch_loop;   /* ... and whether its address is loopback */
	long long count;   /* watch: stop after this many connections */
	long long pid;     /* --pid: watch this process's sockets */
};

/* `ipckit tcp-trace HOST:PORT` (tcptrace_watch.c). */
int tt_watch(const struct tt_opts *o);
/* "127.0.0.1:80", "[::1]:80": the port, and whether it is loopback;
 * -EINVAL if s is not that. */
int tt_watch_addr(const char *s, int *port, bool *loop);
/* `ipckit tcp-trace --pid PID` (tcptrace_pid.c). */
int tt_watch_pid(const struct tt_opts *o);
/* What --pid adds to watching: tick runs every 100 ms or so (a positive
 * return ends the watch), keep says whether an event is shown. */
struct tt_fs;
struct tt_cap;
struct tt_watch_hook {
	int (*tick)(void *arg, struct tt_fs *fs, struct tt_cap *cap);
	bool (*keep)(void *arg, const struct tt_event *e);
	void *arg;
	const struct tt_ports *ports; /* followed: the sampler reads them */
};
/* Watch until SIGINT, --count or the hook ends it; what names it in
 * messages. tr->port (or the hook's first tick) says the ports. */
int tt_watch_run(struct tt_trace *tr, const struct tt_opts *o, const char *what,
                 const struct tt_watch_hook *h);
/* Order tr->ev[from..n) by time. */
void tt_sort(struct tt_trace *tr, size_t from);

/* Append one event; -ENOMEM. */
int tt_add(struct tt_trace *tr, const struct tt_event *e);
double tt_now(void);
const char *tt_state_name(int st);

/* The loopback server and client (tcptrace_run.c).  cb runs once the
 * listener has its port and before the connection. */
struct tt_run;
int tt_run_listen(struct tt_run **r, const struct tt_opts *o, int *port);
int tt_run_go(struct tt_run *r, const struct tt_opts *o, int *cport);
/* --restart: close the listener, then listen on its port again without
 * and with SO_REUSEADDR: res[0] and res[1] are 0 or -errno. */
void tt_run_restart(struct tt_run *r, int res[2]);
void tt_run_free(struct tt_run *r);

/* Kernel states through a tracefs instance of our own (tcptrace_fs.c). */
struct tt_fs;
int tt_fs_open(struct tt_fs **fs, int port);
int tt_fs_collect(struct tt_fs *fs, struct tt_trace *tr);
/* For watching: trace_pipe, non-blocking (its fd or -errno), and what
 * it has now into tr. */
int tt_fs_pipe(struct tt_fs *fs);
int tt_fs_read(struct tt_fs *fs, struct tt_trace *tr);
/* Follow these ports instead, and connects made by task pid (0: none). */
int tt_fs_ports(struct tt_fs *fs, const struct tt_ports *s, int pid);
void tt_fs_close(struct tt_fs *fs);

/* sock_diag (tcptrace_diag.c): the TIME_WAIT socket of the trace and its
 * timer; a sampler thread for when there is no tracepoint. */
int tt_diag_timewait(struct tt_trace *tr);
struct tt_sampler;
int tt_sampler_start(struct tt_sampler **s, struct tt_trace *tr);
void tt_sampler_stop(struct tt_sampler *s);
/* Watching without the tracepoint: the connections on ports (read at
 * each sample) of family (0: both), sampled by each tt_wsamp_read. */
struct tt_wsamp;
int tt_wsamp_open(struct tt_wsamp **ws, const struct tt_ports *ports,
                  int family);
int tt_wsamp_read(struct tt_wsamp *ws, struct tt_trace *tr);
void tt_wsamp_close(struct tt_wsamp *ws);

/* Packets (tcptrace_pcap.c, or tcptrace_nopcap.c without libpcap). */
struct tt_cap;
int tt_cap_open(struct tt_cap **c, int port, const char *dev, const char **why);
int tt_cap_collect(struct tt_cap *c, struct tt_trace *tr, const char *file);
/* For watching: the capture's pollable fd, and what it has now. */
int tt_cap_fd(struct tt_cap *c);
int tt_cap_read(struct tt_cap *c, struct tt_trace *tr);
/* Capture these ports instead (a new BPF filter). */
int tt_cap_ports(struct tt_cap *c, const struct tt_ports *s);
void tt_cap_close(struct tt_cap *c);

/* Output (tcptrace_out.c, tcptrace_svg.c): flags as "SYN+ACK", a
 * number relative to side's ISN ("j+1"), the state an event shows. */
void tt_flags(uint8_t f, char *buf, size_t size);
void tt_rel(const struct tt_trace *tr, int side, uint32_t v, char *buf,
            size_t size);
const char *tt_shown_state(const struct tt_event *e);
void tt_out_event(FILE *f, const struct tt_trace *tr, const struct tt_event *e);
void tt_out_text(FILE *f, const struct tt_trace *tr);
void tt_out_json(FILE *f, const struct tt_trace *tr);
int tt_out_svg(const char *file, const struct tt_trace *tr);

#endif
