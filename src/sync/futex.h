/*
 * futex.h - wait and wake on a 32-bit word in memory that processes
 * share (FUTEX_WAIT / FUTEX_WAKE without FUTEX_PRIVATE_FLAG), with a
 * relative timeout.  Used by the shared-memory ring (src/shm/ring.c).
 */
#ifndef IPK_FUTEX_H
#define IPK_FUTEX_H

#include <stdint.h>

/*
 * Sleep while *word == expected, at most timeout_ms (-1: no limit).
 * 0 when woken or the word differs, -ETIMEDOUT, -EINTR, -errno.
 */
int ipk__futex_wait(_Atomic uint32_t *word, uint32_t expected, int timeout_ms);
/* Wake every sleeper on word. */
void ipk__futex_wake(_Atomic uint32_t *word);

#endif
