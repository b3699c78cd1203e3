/*
 * helpers.h - what every suite shares: unique names, descriptor counts,
 * child processes that report back, and running a command as nobody.
 */
#ifndef IPK_TEST_HELPERS_H
#define IPK_TEST_HELPERS_H

#include <ipckit.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* "/tmp/ipk-test-<pid>-<n>-<tag>": unique per process and call. */
const char *th_path(const char *tag);
/* Open descriptors of this process. */
int th_fd_count(void);
/* Fork; the child runs fn(arg) and _exits with its return value. */
pid_t th_spawn(int (*fn)(void *), void *arg);
/* Wait for pid: its exit status, or 128+signal; -1 on timeout (killed). */
int th_wait(pid_t pid, int timeout_ms);
/* Run a shell command (sh -c) as uid/gid 65534; its exit status. */
int th_run_as_nobody(const char *cmd);
/* Run a shell command; its exit status. */
int th_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Monotonic milliseconds. */
long long th_now_ms(void);
/* Fill buf with a pattern derived from seed; check it. */
void th_fill(void *buf, size_t len, unsigned seed);
bool th_check(const void *buf, size_t len, unsigned seed);

/*
 * Cleanup that runs even when an assertion fails: register what a test
 * makes, and call th_cleanup from the suite's .fini.  Children are
 * SIGKILLed and reaped, then paths removed (rm -rf), newest first.
 */
void th_defer_kill(pid_t pid);
void th_defer_remove(const char *path);
void th_cleanup(void);
/* True when built with AddressSanitizer (RLIMIT_AS breaks its shadow). */
bool th_asan(void);
/* Multiplier for hang guards: $IPK_TEST_MULT, else 5 under ASan, else 1. */
int th_mult(void);
/* Wait until pid stops (SIGSTOP): 0, or -1 if it exited or timed out. */
int th_wait_stopped(pid_t pid, int timeout_ms);
/* One byte over a plain pipe, for parent/child hand-offs. */
int th_put(int fd, char c);
/* The byte read, or -1 on timeout, EOF or error. */
int th_get(int fd, int timeout_ms);
/* Anonymous shared memory that survives fork (never freed; tests are short). */
void *th_shared(size_t len);

#endif
