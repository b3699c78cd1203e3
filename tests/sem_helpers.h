/*
 * sem_helpers.h - what the two semaphore suites share: keys and names
 * unique to the test process, and a teardown that removes whatever a
 * test left in /dev/shm or among the SysV sets.
 */
#ifndef IPK_TEST_SEM_HELPERS_H
#define IPK_TEST_SEM_HELPERS_H

#include "helpers.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEYS 32
#define PY "/usr/bin/python3"

static pid_t test_pid; /* forked children name what their parent does */

static inline key_t
key(int n)
{
	return (key_t)(0x5e000000 + (test_pid & 0xfffff) * KEYS + n);
}

/* printf into one of four rotating buffers. */
static inline const char *fmt(const char *f, ...)
        __attribute__((format(printf, 1, 2)));

static inline const char *
fmt(const char *f, ...)
{
	static char buf[4][600];
	static int n;
	char *b = buf[n++ % 4];
	va_list ap;
	va_start(ap, f);
	vsnprintf(b, sizeof(buf[0]), f, ap);
	va_end(ap);
	return b;
}

static inline const char *
purl(int n, const char *q)
{
	return fmt("sem:/ipk-semtest-%d-%d%s", (int)test_pid, n, q);
}

static inline const char *
surl(int n, const char *q)
{
	return fmt("sysvsem:%d%s", (int)key(n), q);
}

static inline const char *
shm_file(int n, const char *prefix)
{
	return fmt("/dev/shm/%sipk-semtest-%d-%d", prefix, (int)test_pid, n);
}

static inline void
setup(void)
{
	test_pid = getpid();
}

static inline void
teardown(void)
{
	th_cleanup();
	glob_t g;
	if (glob(fmt("/dev/shm/*ipk-semtest-%d-*", (int)test_pid), 0, NULL,
	         &g) == 0)
		for (size_t i = 0; i < g.gl_pathc; i++)
			unlink(g.gl_pathv[i]);
	globfree(&g);
	for (int n = 0; n < KEYS; n++) {
		int id = semget(key(n), 0, 0);
		if (id >= 0)
			semctl(id, 0, IPC_RMID);
	}
}

static inline bool
posix_gone(int n)
{
	return access(shm_file(n, "sem."), F_OK) < 0 &&
	       access(shm_file(n, "ipckit-semlock."), F_OK) < 0;
}

static inline bool
sysv_gone(int n)
{
	return semget(key(n), 0, 0) < 0;
}

static inline struct semid_ds
sysv_stat(int n)
{
	struct semid_ds ds;
	int id = semget(key(n), 0, 0);
	cr_assert_geq(id, 0, "set %d missing", n);
	cr_assert_eq(semctl(id, 0, IPC_STAT, &ds), 0);
	return ds;
}

#endif
