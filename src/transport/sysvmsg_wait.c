/*
 * sysvmsg_wait.c - msgrcv has no timeout and no descriptor, so a sysvmsg:
 * receive that must watch a deadline or a cancel descriptor hands the
 * sleeping to a thread of the channel: it waits in msgrcv with a size of
 * 0, which the kernel ends with E2BIG when a message arrives and leaves
 * that message queued, then writes an eventfd the receive polls.
 */
#include "sysvmsg_wait.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/msg.h>
#include <unistd.h>

/* The thread only sleeps; what unwinding a cancel needs fits easily. */
#define WAIT_STACK (256 * 1024)

/* Read without the lock by a receive that finds nothing held. */
static void
wait_set_held(struct ipk__svmq_waiter *w, bool held)
{
	__atomic_store_n(&w->held, held, __ATOMIC_RELEASE);
}

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
	pid_t me = getpid();
	if (w->pid == me)
		return;
	if (w->pid && w->efd >= 0)
		wait_new_efd(w);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->pid = me;
	w->running = w->done = w->armed = w->busy = w->ready = false;
	w->stop = false;
	wait_set_held(w, false);
	w->err = 0;
}

void
ipk__svmq_waiter_init(struct ipk__svmq_waiter *w)
{
	w->efd = -1;
	w->pid = 0;
}

/* Under the lock: tell the receive, once until it re-arms. */
static void
wait_notify(struct ipk__svmq_waiter *w)
{
	uint64_t one = 1;
	w->armed = false;
	if (w->ready)
		return;
	w->ready = true;
	if (write(w->efd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow: one write per drain */
	}
}

/* Cancelled as msgrcv returned a 0-byte message: keep it. */
static void
wait_took(void *arg)
{
	struct ipk__svmq_waiter *w = arg;
	if (!w->probe)
		return;
	pthread_mutex_lock(&w->lock);
	w->held_type = w->probe;
	wait_set_held(w, true);
	pthread_mutex_unlock(&w->lock);
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

/* Under the lock, after a probe: what the receive must learn. */
static void
wait_record(struct ipk__svmq_waiter *w, int rc)
{
	if (rc == 0) {
		w->held_type = w->probe;
		wait_set_held(w, true);
	} else if (rc != -E2BIG) {
		w->err = rc; /* -EIDRM when the queue was removed */
	}
	wait_notify(w);
}

static void *
wait_main(void *arg)
{
	struct ipk__svmq_waiter *w = arg;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_mutex_lock(&w->lock);
	while (!w->stop && !w->err) {
		if (!w->armed || w->held) {
			pthread_cond_wait(&w->cond, &w->lock);
			continue;
		}
		long sel = w->sel;
		w->busy = true;
		pthread_mutex_unlock(&w->lock);
		int rc = wait_probe(w, sel);
		pthread_mutex_lock(&w->lock);
		w->busy = false;
		if (rc != -EINTR)
			wait_record(w, rc);
	}
	w->done = true;
	pthread_mutex_unlock(&w->lock);
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
	w->stop = w->done = false;
	w->err = 0;
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
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_cancel(w->thread);
	pthread_join(w->thread, NULL);
	w->running = w->armed = w->busy = w->stop = false;
}

static bool
wait_accepts(long sel, long type)
{
	return sel == 0 || type == sel || (sel < 0 && type <= -sel);
}

/* A held 0-byte message another selector does not take goes back. */
static int
wait_put_back(struct ipk__svmq_waiter *w, long sel)
{
	int rc = 0;
	pthread_mutex_lock(&w->lock);
	if (w->held && !wait_accepts(sel, w->held_type)) {
		rc = msgsnd(w->qid, &w->held_type, 0, IPC_NOWAIT) < 0 ? -errno
		                                                      : 0;
		if (rc == 0)
			wait_set_held(w, false);
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

int
ipk__svmq_arm(struct ipk__svmq_waiter *w, int qid, long sel)
{
	wait_adopt(w);
	pthread_mutex_lock(&w->lock);
	bool restart = w->running && (w->done || (w->busy && w->sel != sel));
	pthread_mutex_unlock(&w->lock);
	if (restart)
		wait_stop(w);
	int rc = wait_put_back(w, sel);
	if (rc == 0 && !w->running) {
		w->qid = qid; /* before the thread reads it */
		rc = wait_start(w);
	}
	if (rc < 0)
		return rc;
	uint64_t n;
	pthread_mutex_lock(&w->lock);
	if (w->ready && read(w->efd, &n, sizeof(n)) >= 0)
		w->ready = false;
	w->sel = sel;
	w->armed = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int
ipk__svmq_error(struct ipk__svmq_waiter *w)
{
	pthread_mutex_lock(&w->lock);
	int err = w->err;
	pthread_mutex_unlock(&w->lock);
	return err;
}

bool
ipk__svmq_take_held(struct ipk__svmq_waiter *w, long sel, long *type)
{
	if (!__atomic_load_n(&w->held, __ATOMIC_ACQUIRE) || w->pid != getpid())
		return false;
	pthread_mutex_lock(&w->lock);
	bool take = w->held && wait_accepts(sel, w->held_type);
	if (take) {
		*type = w->held_type;
		wait_set_held(w, false);
		pthread_cond_signal(&w->cond); /* may probe again */
	}
	pthread_mutex_unlock(&w->lock);
	return take;
}

int
ipk__svmq_fd(struct ipk__svmq_waiter *w, int qid, long sel)
{
	if (w->pid == getpid() && w->persistent && w->running)
		return w->efd;
	int rc = ipk__svmq_arm(w, qid, sel);
	if (rc < 0)
		return rc;
	w->persistent = true;
	return w->efd;
}

void
ipk__svmq_waiter_close(struct ipk__svmq_waiter *w, bool removing)
{
	bool mine = w->pid == getpid();
	if (mine && w->running)
		wait_stop(w);
	if (mine && w->held && !removing)
		msgsnd(w->qid, &w->held_type, 0, IPC_NOWAIT);
	if (w->efd >= 0)
		close(w->efd);
	w->efd = -1;
	if (mine) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
	}
}
