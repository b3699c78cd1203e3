/*
 * sigpipe.c - writes to pipes and FIFOs without SIGPIPE.  Linux has no
 * MSG_NOSIGNAL for them, so unless SIGPIPE was ignored when the channel
 * was made, the thread blocks it around the write and takes back a
 * SIGPIPE the write raised; one hold may span a whole batch.
 */
#include "core.h"

#include <errno.h>
#include <signal.h>
#include <sys/uio.h>

static _Thread_local struct ipk__sigguard *sp_guard;

void
ipk__sigpipe_hold(const struct ipk_chan *c, struct ipk__sigguard *g)
{
	g->active = !sp_guard && !(c->flags & (IPK__SOCK | IPK__NOSIGPIPE));
	if (!g->active)
		return;
	sigset_t set, pend;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
	g->was_blocked = sigismember(&g->old, SIGPIPE);
	g->was_pending = false;
	if (g->was_blocked && sigpending(&pend) == 0)
		g->was_pending = sigismember(&pend, SIGPIPE);
	g->raised = false;
	sp_guard = g;
}

void
ipk__sigpipe_release(struct ipk__sigguard *g)
{
	if (!g->active)
		return;
	sp_guard = NULL;
	int e = errno;
	if (g->raised && !g->was_pending) { /* ours: take it back */
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		struct timespec zero = {0, 0};
		sigtimedwait(&set, NULL, &zero);
	}
	if (!g->was_blocked)
		pthread_sigmask(SIG_SETMASK, &g->old, NULL);
	errno = e;
}

/* One writev, or a pwritev2 that must not block on a blocking pipe. */
static ssize_t
sp_writev(int fd, const struct iovec *iov, int n, bool nowait)
{
	if (nowait)
		return pwritev2(fd, iov, n, -1, RWF_NOWAIT);
	return writev(fd, iov, n);
}

ssize_t
ipk__pipe_writev(const struct ipk_chan *c, const struct iovec *iov, int n,
                 bool nowait)
{
	struct ipk__sigguard g;
	ipk__sigpipe_hold(c,
	                  &g); /* nothing if ignored, or in a caller's hold */
	ssize_t r = sp_writev(c->fd, iov, n, nowait);
	if (r < 0 && errno == EPIPE && sp_guard)
		sp_guard->raised = true;
	ipk__sigpipe_release(&g);
	return r;
}
