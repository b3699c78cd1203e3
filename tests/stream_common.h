/*
 * stream_common.h - what the pipe and fifo suites share: child checks,
 * spawning and reaping, numbered messages, the EINTR storm of X-05 and
 * the probes of.  Included by pipe_test.c and fifo_test.c.
 */
#ifndef IPK_STREAM_COMMON_H
#define IPK_STREAM_COMMON_H

#include <criterion/criterion.h>

#include "helpers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

/* In a child: report the failed check on stderr and exit non-zero. */
#define CK(cond)                                                               \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: child check failed: %s\n",     \
			        __FILE__, __LINE__, #cond);                    \
			return 1;                                              \
		}                                                              \
	} while (0)

static volatile sig_atomic_t storm_hits;

/* A child process and what the test gets back from it. */
static inline pid_t
spawn(int (*fn)(void *), void *arg)
{
	pid_t pid = th_spawn(fn, arg);
	cr_assert(pid > 0, "fork: %s", strerror(errno));
	th_defer_kill(pid);
	return pid;
}

static inline void
expect_exit(pid_t pid, int timeout_ms, int want, const char *who)
{
	int st = th_wait(pid, timeout_ms * th_mult());
	cr_assert_eq(st, want, "%s: exit status %d, want %d", who, st, want);
}

/* A numbered message: seq (network order), then th_fill(seq). */
static inline size_t
msg_make(char *buf, uint32_t seq, size_t len)
{
	uint32_t be = htonl(seq);
	memcpy(buf, &be, 4);
	th_fill(buf + 4, len - 4, seq);
	return len;
}

/* seq of a numbered message, or UINT32_MAX when it is torn. */
static inline uint32_t
msg_seq(const char *buf, size_t len)
{
	uint32_t be;
	if (len < 4)
		return UINT32_MAX;
	memcpy(&be, buf, 4);
	uint32_t seq = ntohl(be);
	return th_check(buf + 4, len - 4, seq) ? seq : UINT32_MAX;
}

static inline size_t
storm_len(uint32_t seq)
{
	return 8 + (seq * 37u) % 600;
}

static inline void
storm_handler(int sig)
{
	(void)sig;
	storm_hits++;
}

static inline void
storm_start(bool restart)
{
	struct sigaction sa = {.sa_handler = storm_handler};
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 1000}, {0, 1000}};
	setitimer(ITIMER_REAL, &it, NULL);
}

static inline void
storm_stop(void)
{
	struct itimerval it = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &it, NULL);
	signal(SIGALRM, SIG_IGN);
}

static inline bool
sigpipe_pending(void)
{
	sigset_t p;
	sigpending(&p);
	return sigismember(&p, SIGPIPE);
}

static inline size_t
heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

#endif
