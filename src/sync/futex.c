/*
 * futex.c - the futex system call for words in shared mappings.  The
 * kernel keys a shared futex by the page it lies in, so two processes
 * that map one segment at different addresses meet on the same word.
 */
#include "futex.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int
ipk__futex_wait(_Atomic uint32_t *word, uint32_t expected, int timeout_ms)
{
	struct timespec ts = {timeout_ms / 1000,
	                      (timeout_ms % 1000) * 1000000L};
	long r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected,
	                 timeout_ms < 0 ? NULL : &ts, NULL, 0);
	if (r == 0 || errno == EAGAIN)
		return 0;
	return -errno;
}

void
ipk__futex_wake(_Atomic uint32_t *word)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT32_MAX, NULL, NULL,
	        0);
}
