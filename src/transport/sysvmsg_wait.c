/*
 * sysvmsg_wait.c - msgrcv has no timeout and no descriptor, so a sysvmsg:
 * receive that must watch a deadline or a cancel descriptor hands the
 * sleeping to a thread of the channel: it waits in msgrcv with a size of
 * 0, which the kernel ends with E2BIG when a message arrives and leaves
 * that message queued, then writes an eventfd the receive polls.
 */
#include "sysvmsg_wait.h"

#include "../core/core.h"
#include "../sync/futex.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/msg.h>
#include <unistd.h>

/* The thread only sleeps; what unwinding a cancel needs fits easily. */
#define WAIT_STACK (256 * 1024)

/*
 * phase: IDLE until the first arm; ARMED: the thread waits in msgrcv (the
 * receive moves it there); TOLD: the thread wrote efd and sleeps on the
 * futex until armed again; STOP: the thread must end.  Only the thread
 * moves ARMED to TOLD, and it writes efd before, so a receive that sees
 * TOLD can drain efd and arm again without a wake-up getting lost.
 */
enum { WAIT_IDLE, WAIT_ARMED, WAIT_TOLD, WAIT_STOP };

/* A fresh eventfd on the number w->efd had, so ipk_fd stays valid. */
static void
wait_new_efd(struct ipk__svmq_waiter *w)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd >= 0 && dup3(fd, w->efd, O_CLOEXEC) >= 0) {
		close(fd);
		return;
	}
	if (fd >= 0)
		close(fd);
	close(w->efd);
	w->efd = -1;
}

/*
 * The state is this process's.  After fork the child has no thread: it
 * starts over, and a held 0-byte message stays the parent's.
 */
static void
wait_adopt(struct ipk__svmq_waiter *w)
{
	unsigned me = ipk__fork_gen();
	if (w->gen == me)
		return;
	if (w->gen && w->efd >= 0)
		wait_new_efd(w);
	w->gen = me;
	w->phase = WAIT_IDLE;
	w->err = 0;
	w->held = w->done = false;
	w->running = w->drained = false;
}

void
ipk__svmq_waiter_init(struct ipk__svmq_waiter *w)
{
	w->efd = -1;
	w->gen = 0;
	pthread_mutex_init(&w->lock, NULL);
}

/*
 * The lock, taken anew in a child after fork (it may have been held by a
 * thread that the child does not have).
 */
static void
wait_lock(struct ipk__svmq_waiter *w)
{
	unsigned g = atomic_load(&w->gen);
	if (g && g != ipk__fork_gen())
		pthread_mutex_init(&w->lock, NULL);
	pthread_mutex_lock(&w->lock);
}

/* Cancelled as msgrcv returned a 0-byte message: keep it. */
static void
wait_took(void *arg)
{
	struct ipk__svmq_waiter *w = arg;
	if (!w->probe)
		return;
	w->held_type = w->probe;
	atomic_store(&w->held, true);
}

/*
 * Sleep until a message for sel is queued: 0 (a 0-byte message was taken
 * whole: w->probe is its type), -E2BIG (one is queued), or -errno.  Only
 * here may a cancel end the thread; msgrcv's mtype tells whether the
 * kernel had already handed over a message.
 */
static int
wait_probe(struct ipk__svmq_waiter *w, long sel)
{
	int rc;
	w->probe = 0;
	pthread_cleanup_push(wait_took, w);
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	rc = msgrcv(w->qid, &w->probe, 0, sel, 0) < 0 ? -errno : 0;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_cleanup_pop(0);
	return rc;
}

/* After a probe: publish what the receive must learn, then tell it. */
static bool
wait_tell(struct ipk__svmq_waiter *w, int rc)
{
	uint64_t one = 1;
	if (rc == 0) {
		w->held_type = w->probe;
		atomic_store(&w->held, true);
	} else if (rc != -E2BIG) {
		atomic_store(&w->err, rc); /* -EIDRM: the queue was removed */
	}
	if (write(w->efd, &one, sizeof(one)) < 0) {
		/* one write per arm, drained before the next: no overflow */
	}
	uint32_t armed = WAIT_ARMED;
	return atomic_compare_exchange_strong(&w->phase, &armed, WAIT_TOLD) &&
	       (rc == 0 || rc == -E2BIG); /* an error ends the thread */
}

static void *
wait_main(void *arg)
{
	struct ipk__svmq_waiter *w = arg;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	for (;;) {
		uint32_t ph = atomic_load(&w->phase);
		if (ph == WAIT_STOP)
			break;
		if (ph != WAIT_ARMED) {
			ipk__futex_wait(&w->phase, ph, -1);
			continue;
		}
		int rc = wait_probe(w, w->sel);
		if (rc != -EINTR && !wait_tell(w, rc))
			break;
	}
	atomic_store(&w->done, true);
	return NULL;
}

/* The thread starts with every signal blocked: they are the caller's. */
static int
wait_start(struct ipk__svmq_waiter *w)
{
	if (w->efd < 0)
		w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0)
		return -errno;
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WAIT_STACK);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	w->phase = WAIT_IDLE;
	w->err = 0;
	w->done = false;
	int rc = pthread_create(&w->thread, &attr, wait_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc)
		return -rc;
	w->running = true;
	return 0;
}

/*
 * A waiting msgrcv of size 0 takes nothing but a 0-byte message, which
 * wait_took keeps, so cancelling it loses nothing.
 */
static void
wait_stop(struct ipk__svmq_waiter *w)
{
	atomic_store(&w->phase, WAIT_STOP);
	ipk__futex_wake(&w->phase);
	pthread_cancel(w->thread);
	pthread_join(w->thread, NULL);
	w->running = false;
	w->drained = false;
}

static bool
wait_accepts(long sel, long type)
{
	return sel == 0 || type == sel || (sel < 0 && type <= -sel);
}

/*
 * Before arming: a held 0-byte message sel does not take goes back (the
 * thread probes only with nothing held).  The thread is not in msgrcv.
 */
static int
wait_put_back(struct ipk__svmq_waiter *w, long sel)
{
	if (!atomic_load(&w->held))
		return 0;
	if (wait_accepts(sel, w->held_type))
		return 1; /* the receive takes it first */
	if (msgsnd(w->qid, &w->held_type, 0, IPC_NOWAIT) < 0)
		return -errno;
	atomic_store(&w->held, false);
	return 0;
}

/* A thread in msgrcv with another selector, or one that ended, goes. */
static void
wait_reuse(struct ipk__svmq_waiter *w, long sel)
{
	if (!w->running)
		return;
	if (atomic_load(&w->done) ||
	    (atomic_load(&w->phase) == WAIT_ARMED && w->sel != sel))
		wait_stop(w);
}

/*
 * The phase; but a thread whose efd write was drained is past its msgrcv
 * even while it still says ARMED: wait the instant until it says TOLD.
 */
static uint32_t
wait_settle(struct ipk__svmq_waiter *w)
{
	uint32_t ph;
	while ((ph = atomic_load(&w->phase)) == WAIT_ARMED && w->drained)
		sched_yield();
	return ph;
}

static int
wait_arm(struct ipk__svmq_waiter *w, int qid, long sel)
{
	wait_adopt(w);
	wait_reuse(w, sel);
	if (w->running && wait_settle(w) == WAIT_ARMED)
		return 0; /* already waiting for sel */
	int rc = wait_put_back(w, sel);
	if (rc == 0 && !w->running) {
		w->qid = qid; /* before the thread reads it */
		rc = wait_start(w);
	}
	if (rc != 0)
		return rc;
	uint64_t n;
	if (!w->drained && read(w->efd, &n, sizeof(n)) < 0) {
		/* EAGAIN: nothing was written since the last drain */
	}
	w->drained = false;
	w->sel = sel;
	atomic_store(&w->phase, WAIT_ARMED);
	ipk__futex_wake(&w->phase);
	return 0;
}

int
ipk__svmq_arm(struct ipk__svmq_waiter *w, int qid, long sel)
{
	wait_lock(w);
	int rc = wait_arm(w, qid, sel);
	pthread_mutex_unlock(&w->lock);
	return rc;
}

void
ipk__svmq_drain(struct ipk__svmq_waiter *w)
{
	uint64_t n;
	wait_lock(w);
	w->drained = read(w->efd, &n, sizeof(n)) == sizeof(n);
	pthread_mutex_unlock(&w->lock);
}

int
ipk__svmq_error(const struct ipk__svmq_waiter *w)
{
	return atomic_load(&w->err);
}

bool
ipk__svmq_take_held(struct ipk__svmq_waiter *w, long sel, long *type)
{
	if (!atomic_load(&w->gen) || !atomic_load(&w->held))
		return false; /* never used, or nothing held: no lock */
	wait_lock(w);
	bool take = atomic_load(&w->held) && w->gen == ipk__fork_gen() &&
	            wait_accepts(sel, w->held_type);
	if (take) {
		*type = w->held_type;
		atomic_store(&w->held, false);
	}
	pthread_mutex_unlock(&w->lock);
	return take;
}

int
ipk__svmq_fd(struct ipk__svmq_waiter *w, int qid, long sel)
{
	wait_lock(w);
	int rc = 0;
	if (!(w->gen == ipk__fork_gen() && w->persistent && w->running))
		rc = wait_arm(w, qid, sel);
	if (rc >= 0)
		w->persistent = true;
	rc = rc < 0 ? rc : w->efd;
	pthread_mutex_unlock(&w->lock);
	return rc;
}

void
ipk__svmq_waiter_close(struct ipk__svmq_waiter *w, bool removing)
{
	bool mine = atomic_load(&w->gen) == ipk__fork_gen();
	if (mine && w->running)
		wait_stop(w);
	if (mine && w->held && !removing)
		msgsnd(w->qid, &w->held_type, 0, IPC_NOWAIT);
	if (w->efd >= 0)
		close(w->efd);
	w->efd = -1;
	pthread_mutex_destroy(&w->lock);
}
