/*
 * sysvsem.c - "sysvsem:KEY?nsems=N&index=I": member I of a System V
 * semaphore set, the semget/semctl/semop steps of notes section 6.4.
 * The creator marks the set initialised with a semop (sem_otime), which
 * openers wait for; ?undo asks the kernel to give a P back at exit.
 */
#include "../core/sysvkey.h"
#include "sem.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <time.h>
#include <unistd.h>

#define SYSV_VALUE_MAX 32767 /* SEMVMX */
#define SYSV_NSEMS_MAX 32000 /* SEMMSL's default */
#define SYSV_INIT_MS 1000    /* how long an opener waits for sem_otime */

static const char *const sysv_options[] = {"nsems", "index", "undo", NULL};

union sysv_arg {
	int val;
	struct semid_ds *ds;
	unsigned short *array;
};

/* KEY, ?nsems= (0 when not given) and ?index=. */
static int
sysv_parse(struct ipk_sem *s, const struct ipk_url *u, key_t *key,
           long long *nsems)
{
	long long index = 0;
	*nsems = 0;
	if (ipk__url_num(u, "nsems", 1, SYSV_NSEMS_MAX, nsems) < 0 ||
	    ipk__url_num(u, "index", 0, SYSV_NSEMS_MAX - 1, &index) < 0)
		return -EINVAL;
	if (*nsems && index >= *nsems)
		return -EINVAL;
	s->index = (unsigned short)index;
	return ipk__sysv_key(u->rest, key);
}

static int
sysv_semop(const struct ipk_sem *s, struct sembuf *ops, size_t n)
{
	if (semop(s->id, ops, n) == 0)
		return 0;
	return errno == EINVAL ? -EIDRM : errno == ERANGE ? -EOVERFLOW : -errno;
}

/*
 * semget(2): a new set's values are not defined until SETALL, and an
 * opener cannot tell a set being initialised from one that is ready
 * unless the creator does a semop afterwards (sem_otime becomes set).
 * A +1 and a -1 in one atomic semop change nothing else.
 */
static int
sysv_init(struct ipk_sem *s, int nsems, unsigned value)
{
	unsigned short *v = malloc(sizeof(*v) * (size_t)nsems);
	if (!v)
		return -ENOMEM;
	for (int i = 0; i < nsems; i++)
		v[i] = (unsigned short)value;
	union sysv_arg arg = {.array = v};
	int rc = semctl(s->id, 0, SETALL, arg) < 0 ? -errno : 0;
	free(v);
	short first = value < SYSV_VALUE_MAX ? 1 : -1;
	struct sembuf mark[2] = {{0, first, 0}, {0, (short)-first, 0}};
	return rc < 0 ? rc : sysv_semop(s, mark, 2);
}

static int
sysv_create(struct ipk_sem *s, const struct ipk_url *u, unsigned value)
{
	key_t key;
	long long nsems;
	int rc = sysv_parse(s, u, &key, &nsems);
	if (rc < 0 || value > SYSV_VALUE_MAX)
		return rc < 0 ? rc : -EINVAL;
	if (!nsems)
		nsems = 1;
	if (s->index >= nsems)
		return -EINVAL;
	/* SysV ignores the umask: the mode given here is the mode it gets. */
	s->id = semget(key, (int)nsems, IPC_CREAT | IPC_EXCL | (int)s->mode);
	if (s->id < 0)
		return -errno;
	rc = sysv_init(s, (int)nsems, value);
	if (rc < 0)
		semctl(s->id, 0, IPC_RMID);
	return rc;
}

/* Ours (creator and owner) and no wider than the mode asked for. */
static int
sysv_check(const struct ipk_sem *s, const struct semid_ds *ds)
{
	if (ds->sem_perm.cuid != geteuid())
		return -EPERM;
	struct stat st = {.st_uid = ds->sem_perm.uid,
	                  .st_mode = ds->sem_perm.mode & 0777};
	return ipk__check_owner(&st, s->mode);
}

/* Wait, bounded, for the creator's first semop (see sysv_init). */
static int
sysv_ready(const struct ipk_sem *s, bool share)
{
	int64_t deadline = ipk__deadline(SYSV_INIT_MS);
	int step = 1;
	for (;;) {
		struct semid_ds ds;
		union sysv_arg arg = {.ds = &ds};
		if (semctl(s->id, 0, IPC_STAT, arg) < 0)
			return errno == EINVAL ? -EIDRM : -errno;
		if (ds.sem_otime != 0)
			return 0;
		int left = ipk__remaining(deadline);
		if (left == 0)
			return share ? 0 : -ETIMEDOUT;
		int rc = ipk__sem_nap(step < left ? step : left);
		if (rc < 0)
			return rc;
		step = step < 50 ? step * 2 : step;
	}
}

static int
sysv_open(struct ipk_sem *s, const struct ipk_url *u, bool share)
{
	key_t key;
	long long nsems;
	int rc = sysv_parse(s, u, &key, &nsems);
	if (rc < 0 || key == IPC_PRIVATE)
		return rc < 0 ? rc : -EINVAL;
	s->id = semget(key, 0, 0);
	if (s->id < 0)
		return -errno;
	struct semid_ds ds;
	union sysv_arg arg = {.ds = &ds};
	if (semctl(s->id, 0, IPC_STAT, arg) < 0)
		return -errno;
	if (s->index >= ds.sem_nsems ||
	    (nsems && (unsigned long)nsems != ds.sem_nsems))
		return -EINVAL;
	rc = share ? 0 : sysv_check(s, &ds);
	return rc < 0 ? rc : sysv_ready(s, share);
}

static int
sysv_first(int err, int64_t deadline)
{
	if (err == EIDRM || err == EINVAL)
		return -EIDRM;
	return err == ERANGE ? -EOVERFLOW : ipk__sem_first(err, deadline);
}

/* semtimedop's timeout is relative: recomputed from the deadline. */
static int
sysv_wait(struct ipk_sem *s, int64_t deadline)
{
	short flg = (s->flags & SEM_F_UNDO) ? SEM_UNDO : 0;
	struct sembuf op = {s->index, -1, flg | IPC_NOWAIT};
	int rc = semop(s->id, &op, 1) == 0 ? 0 : sysv_first(errno, deadline);
	if (rc <= 0)
		return rc;
	for (;;) {
		op.sem_flg = flg;
		int left = ipk__remaining(deadline);
		struct timespec ts = {left / 1000, (left % 1000) * 1000000L};
		if (left == 0)
			op.sem_flg |= IPC_NOWAIT;
		if (semtimedop(s->id, &op, 1, left < 0 ? NULL : &ts) == 0)
			return 0;
		if (errno == EIDRM || errno == EINVAL)
			return -EIDRM;
		rc = ipk__sem_retry(errno, deadline);
		if (rc < 0)
			return rc;
	}
}

static int
sysv_post(struct ipk_sem *s)
{
	short flg = (s->flags & SEM_F_UNDO) ? SEM_UNDO : 0;
	struct sembuf op = {s->index, 1, flg};
	return sysv_semop(s, &op, 1);
}

static int
sysv_value(struct ipk_sem *s)
{
	int v = semctl(s->id, s->index, GETVAL);
	if (v >= 0)
		return v;
	return errno == EINVAL ? -EIDRM : -errno;
}

static int
sysv_unlink(struct ipk_sem *s)
{
	return semctl(s->id, 0, IPC_RMID) < 0 ? -errno : 0;
}

static void
sysv_close(struct ipk_sem *s)
{
	(void)s; /* a SysV set has nothing to close: only the id is held */
}

const struct ipk__sem_kind ipk__sysvsem = {
        .scheme = "sysvsem",
        .options = sysv_options,
        .create = sysv_create,
        .open = sysv_open,
        .wait = sysv_wait,
        .post = sysv_post,
        .value = sysv_value,
        .unlink = sysv_unlink,
        .close = sysv_close,
};
