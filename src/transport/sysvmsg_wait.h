/*
 * sysvmsg_wait.h - the helper thread that lets a sysvmsg: receive with a
 * deadline or a cancel descriptor sleep in the kernel.  It waits in
 * msgrcv with no room (E2BIG: a message is there, left queued) and tells
 * the channel through an eventfd, which is also the channel's ipk_fd.
 */
#ifndef IPK_SYSVMSG_WAIT_H
#define IPK_SYSVMSG_WAIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The receive side (the channel's caller) and the thread hand over
 * through phase alone: the receive arms, the thread waits in msgrcv and
 * then writes the eventfd and marks it told.  Fields a side writes are
 * published by its store to phase (or held).
 */
struct ipk__svmq_waiter {
	pthread_t thread;
	/* Held by each call below: ipk_fd may come from any thread beside
	 * the receiving one.  A child after fork starts it anew. */
	pthread_mutex_t lock;
	_Atomic unsigned gen; /* ipk__fork_gen of its process; 0: unused */
	int efd;              /* readable: a message for sel is queued */
	int qid;
	long sel;                /* set by the receive before it arms */
	long probe;              /* msgrcv's mtype: set by a 0-byte message */
	long held_type;          /* the type of that message, while held */
	_Atomic uint32_t phase;  /* see sysvmsg_wait.c */
	_Atomic int err;         /* why the thread's msgrcv failed, or 0 */
	_Atomic bool held;       /* the thread took a 0-byte message */
	_Atomic bool done;       /* the thread ended (an error) */
	bool running;            /* started and not joined (receive side) */
	bool drained;            /* the receive read efd since it was told */
	_Atomic bool persistent; /* ipk_fd was asked: re-arm every receive */
};

/* Before first use (the channel is zeroed): no thread, no descriptor. */
void ipk__svmq_waiter_init(struct ipk__svmq_waiter *w);
/*
 * Make the thread wait (in this process) for a message that selector sel
 * takes from queue qid: 0; 1 when it holds a 0-byte message sel takes
 * (receive again); or -errno when no thread or eventfd could be made.  A
 * thread waiting with another selector is replaced.
 */
int ipk__svmq_arm(struct ipk__svmq_waiter *w, int qid, long sel);
/* After efd polled readable: read it, so it polls readable only anew. */
void ipk__svmq_drain(struct ipk__svmq_waiter *w);
/* The error the thread's msgrcv ended with (-EIDRM...), or 0. */
int ipk__svmq_error(const struct ipk__svmq_waiter *w);
/* Take the 0-byte message the thread holds if sel accepts it: its type. */
bool ipk__svmq_take_held(struct ipk__svmq_waiter *w, long sel, long *type);
/* The eventfd, made (and armed for sel) on first use; or -errno. */
int ipk__svmq_fd(struct ipk__svmq_waiter *w, int qid, long sel);
/*
 * End the thread and close the eventfd.  A held 0-byte message goes back
 * to the queue unless the queue is being removed (removing).
 */
void ipk__svmq_waiter_close(struct ipk__svmq_waiter *w, bool removing);

#endif
