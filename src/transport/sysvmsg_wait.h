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
#include <sys/types.h>

struct ipk__svmq_waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* armed or stop changed */
	pthread_t thread;
	pid_t pid; /* the process the thread runs in; 0: none */
	int efd;   /* readable: the waited-for message is queued */
	int qid;
	long sel;        /* the selector the thread waits with */
	long probe;      /* msgrcv's mtype: nonzero when it took a 0-byte one */
	long held_type;  /* a 0-byte message the probe took, if held */
	int err;         /* why the probe's msgrcv failed (-errno), or 0 */
	bool running;    /* the thread was started and not joined */
	bool done;       /* it ended (stop, or an error) */
	bool armed;      /* a receive wants the thread to wait */
	bool busy;       /* the thread is inside msgrcv */
	bool ready;      /* efd was written and not drained */
	bool stop;       /* the thread must end */
	bool held;       /* see held_type */
	bool persistent; /* ipk_fd was asked: re-arm after every receive */
};

/* Before first use (the channel is zeroed): no thread, no descriptor. */
void ipk__svmq_waiter_init(struct ipk__svmq_waiter *w);
/*
 * Make the thread wait (in this process) for a message that selector sel
 * takes from queue qid: 0, or -errno when no thread or eventfd could be
 * made.  A thread waiting with another selector is replaced.  Drains
 * the eventfd first: it becomes readable again only when the thread sees
 * a message.
 */
int ipk__svmq_arm(struct ipk__svmq_waiter *w, int qid, long sel);
/* The error the thread's msgrcv ended with (-EIDRM...), or 0. */
int ipk__svmq_error(struct ipk__svmq_waiter *w);
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
