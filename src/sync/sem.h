/*
 * sem.h - what the semaphore files share: the handle, the two kinds
 * (sem.c: POSIX named, whose ?lock token is semlock.c; sysvsem.c: a
 * member of a SysV set) and the wait helpers they use.  Nothing here is public.
 */
#ifndef IPK_SEM_H
#define IPK_SEM_H

#include "../core/core.h"

#include <semaphore.h>

enum {
	SEM_F_KEEP = 1u << 0,    /* ?keep: close leaves it */
	SEM_F_UNDO = 1u << 1,    /* ?undo: SEM_UNDO on P and V */
	SEM_F_LOCK = 1u << 2,    /* ?lock: liveness token beside it */
	SEM_F_INHERIT = 1u << 3, /* ?inherit: the token survives exec */
	SEM_F_GONE = 1u << 4,    /* unlinked: close removes nothing */
};

struct ipk_sem;

/* One kind of semaphore: its scheme, its options, its operations. */
struct ipk__sem_kind {
	const char *scheme;
	const char *const *options; /* beside "mode", "keep" and "share" */
	int (*create)(struct ipk_sem *s, const struct ipk_url *u,
	              unsigned value);
	int (*open)(struct ipk_sem *s, const struct ipk_url *u, bool share);
	int (*wait)(struct ipk_sem *s, int64_t deadline);
	int (*post)(struct ipk_sem *s);
	int (*value)(struct ipk_sem *s);
	int (*unlink)(struct ipk_sem *s);
	void (*close)(struct ipk_sem *s);
};

struct ipk_sem {
	const struct ipk__sem_kind *kind;
	pid_t owner; /* the creating process: its close removes; 0 opened */
	struct ipk__owner *record; /* owner record (core.h), or NULL */
	unsigned flags;
	mode_t mode; /* ?mode= | 0600 */
	/* sem: */
	char *name; /* "/name" */
	sem_t *ps;
	int lockfd; /* ?lock: the token file, or -1 */
	bool held;  /* ?lock: this handle holds the lock */
	/* sysvsem: */
	int id;
	unsigned short index;
};

extern const struct ipk__sem_kind ipk__psem, ipk__sysvsem;

#define PSEM_DIR "/dev/shm/"
#define PSEM_LOCK_PREFIX "ipckit-semlock."

/* sem.c: /dev/shm/PREFIXname into buf; the checks on an open file. */
void ipk__psem_path(const struct ipk_sem *s, const char *prefix, char *buf,
                    size_t n);
int ipk__psem_check(const struct ipk_sem *s, int fd, struct stat *st);
/* P on the sem_t: 0, -EAGAIN, -ETIMEDOUT, -ECANCELED, -errno. */
int ipk__psem_take(struct ipk_sem *s, int64_t deadline);

/* semlock.c: ?lock, the liveness token (see there). */
int ipk__semlock_create(struct ipk_sem *s);
int ipk__semlock_hold(struct ipk_sem *s);
int ipk__semlock_open(struct ipk_sem *s, bool share);
int ipk__semlock_wait(struct ipk_sem *s, int64_t deadline);
int ipk__semlock_post(struct ipk_sem *s);
void ipk__semlock_unlink(const struct ipk_sem *s);

/* After a failed wait with errno err: 0 to retry (EINTR, not
 * cancelled), else -EAGAIN / -ETIMEDOUT / -ECANCELED / -err. */
int ipk__sem_retry(int err, int64_t deadline);
/* After a first try that never blocks failed with err: 1 to go on and
 * block, or -EAGAIN (deadline 0), -ECANCELED (cancel already readable:
 * a signal may have come before the wait could be interrupted), -err. */
int ipk__sem_first(int err, int64_t deadline);
/* Sleep up to ms unless the cancel descriptor is readable: 0, -ECANCELED. */
int ipk__sem_nap(int ms);

#endif
