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

#endif
