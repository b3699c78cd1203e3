/*
 * wait.c - time and waiting for every transport: the monotonic clock,
 * deadlines (-1 never, 0 now, >0 ms), poll beside the channel's cancel
 * descriptor, naps and backoff for retried opens.
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

int64_t
ipk__now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
ipk__now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Timeout 0 maps to deadline 0 ("now"), which ipk__wait reports as EAGAIN. */
int64_t
ipk__deadline(int timeout_ms)
{
	if (timeout_ms < 0)
		return IPK_NEVER;
	if (timeout_ms == 0)
		return 0;
	return ipk__now_ms() + timeout_ms;
}

int
ipk__remaining(int64_t deadline)
{
	if (deadline == IPK_NEVER)
		return -1;
	int64_t left = deadline - ipk__now_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

static int
io_expired(int64_t deadline)
{
	return deadline == 0 ? -EAGAIN : -ETIMEDOUT;
}

int
ipk__check_deadline(const struct ipk_chan *c, int64_t deadline)
{
	if (ipk__remaining(deadline) == 0)
		return io_expired(deadline);
	int fd = c->cancel;
	if (fd < 0)
		return 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, 0) > 0 ? -ECANCELED : 0;
}

bool
ipk__is_wait_end(int rc)
{
	return rc == -ETIMEDOUT || rc == -EAGAIN || rc == -ECANCELED;
}

/* poll fd (if >= 0) and c's cancel descriptor for at most ms. */
static int
io_poll(const struct ipk_chan *c, int fd, short events, int ms)
{
	struct pollfd p[2] = {{.fd = fd, .events = events},
	                      {.fd = c ? c->cancel : -1, .events = POLLIN}};
	int n = poll(p, 2, ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (p[1].revents)
		return -ECANCELED;
	if (p[0].revents & POLLNVAL)
		return -EBADF;
	return n;
}

int
ipk__wait(const struct ipk_chan *c, int fd, short events, int64_t deadline)
{
	for (;;) {
		int ms = ipk__remaining(deadline);
		int n = io_poll(c, fd, events, ms);
		if (n > 0)
			return 0;
		if (n < 0)
			return n;
		if (ms == 0)
			return io_expired(deadline);
	}
}

int
ipk__nap(const struct ipk_chan *c, long us)
{
	int fd = c ? c->cancel : -1;
	if (fd < 0) {
		struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
		nanosleep(&ts, NULL);
		return 0;
	}
	struct pollfd p = {.fd = fd, .events = POLLIN};
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	int n = ppoll(&p, 1, &ts, NULL);
	return n > 0 ? -ECANCELED : 0;
}

int
ipk__backoff(const struct ipk_chan *c, int *step_ms, int64_t deadline)
{
	int left = ipk__remaining(deadline);
	if (left == 0)
		return io_expired(deadline);
	int ms = *step_ms;
	if (left > 0 && ms > left)
		ms = left;
	if (*step_ms < 50)
		*step_ms *= 2;
	return ipk__nap(c, ms * 1000L);
}

int
ipk__set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

int
ipk__set_blockfd(struct ipk_chan *c)
{
	int fl = fcntl(c->fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if ((fl & O_NONBLOCK) && fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return -errno;
	c->flags |= IPK__BLOCKFD;
	return 0;
}

/* Bumped in every child fork makes (pthread_atfork, registered once). */
static _Atomic unsigned wait_fork_gen = 1;
static pthread_once_t wait_fork_once = PTHREAD_ONCE_INIT;

static void
wait_forked(void)
{
	wait_fork_gen++;
}

static void
wait_fork_init(void)
{
	pthread_atfork(NULL, NULL, wait_forked);
}

unsigned
ipk__fork_gen(void)
{
	pthread_once(&wait_fork_once, wait_fork_init);
	return wait_fork_gen;
}
