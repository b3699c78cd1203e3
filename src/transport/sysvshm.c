/*
 * sysvshm.c - "sysvshm:KEY", the notes' design of section 6.3 + 6.4: a
 * System V segment (shmget/shmat) holding the two rings of src/shm/seg.c,
 * and a System V semaphore set (semget/semop) to sleep and wake on:
 *   0, 1  the listener and the dialer are alive: each holds its own at 1
 *         with SEM_UNDO, so the kernel gives it back when that side dies;
 *   2..5  data and room of ring 0, then of ring 1: plain V and P, no
 *         SEM_UNDO (an undone V would vanish when its sender exits).
 * KEY may be IPC_PRIVATE: nobody finds the objects by key, so ipk_name
 * of the listener says their ids, "sysvshm:IPC_PRIVATE?shmid=N&semid=M",
 * and a dialer (a child, or a process it was told) dials that.
 */
#include "../core/sysvkey.h"
#include "../shm/seg.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#define NSEMS 6
#define ALIVE_L 0
#define ALIVE_D 1
#define WAITS 2

struct svshm_chan {
	struct ipk__seg seg;
	key_t key;
	int shmid, semid;
	int url_shmid, url_semid; /* a private pair's, from the dial URL */
	bool alive_held;          /* this side's alive semaphore is at 1 */
};

static int
svshm_op(int semid, unsigned short num, short op, short flags)
{
	struct sembuf b = {.sem_num = num, .sem_op = op, .sem_flg = flags};
	return semop(semid, &b, 1) < 0 ? -errno : 0;
}

static bool
svshm_alive(void *ctx)
{
	const struct svshm_chan *s = ctx;
	int peer = s->seg.listener ? ALIVE_D : ALIVE_L;
	return semctl(s->semid, peer, GETVAL) > 0;
}

/* The semaphore that stands for a sequence word of the header. */
static unsigned short
svshm_num(const struct svshm_chan *s, _Atomic uint32_t *seq)
{
	for (unsigned short i = 0; i < 2; i++) {
		if (seq == &s->seg.hdr->ring[i].data_seq)
			return (unsigned short)(WAITS + 2 * i);
		if (seq == &s->seg.hdr->ring[i].room_seq)
			return (unsigned short)(WAITS + 2 * i + 1);
	}
	return WAITS; /* not reached: the ring passes its own words */
}

/* P with a timeout; a removed set ends like a timeout, so alive says. */
static int
svshm_sleep(void *ctx, _Atomic uint32_t *seq, uint32_t seen, int ms)
{
	struct svshm_chan *s = ctx;
	(void)seen; /* a V before the P is kept by the semaphore */
	struct sembuf b = {.sem_num = svshm_num(s, seq), .sem_op = -1};
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	if (semtimedop(s->semid, &b, 1, &ts) == 0)
		return 0;
	return errno == EINTR ? -EINTR : -ETIMEDOUT;
}

static void
svshm_wake(void *ctx, _Atomic uint32_t *seq)
{
	struct svshm_chan *s = ctx;
	svshm_op(s->semid, svshm_num(s, seq), 1, IPC_NOWAIT);
}

static const struct ipk__seg_ops svshm_ops = {svshm_alive, svshm_sleep,
                                              svshm_wake};

/* Created by us, owned by us, no wider than the mode asked for. */
static int
svshm_check_perm(const struct ipc_perm *p, mode_t want)
{
	if (p->cuid != geteuid())
		return -EPERM;
	struct stat st = {.st_uid = p->uid, .st_mode = p->mode & 0777};
	return ipk__check_owner(&st, want);
}

/* A segment and set of ours whose listener died: removed. */
static int
svshm_remove_stale(const struct svshm_chan *s)
{
	mode_t want = s->seg.base.mode | 0600;
	int shmid = shmget(s->key, 0, 0), semid = semget(s->key, 0, 0);
	struct shmid_ds sd;
	struct semid_ds ss;
	union semun {
		int val;
		struct semid_ds *buf;
	} arg = {.buf = &ss};
	int rc = 0;
	if (shmid >= 0 && shmctl(shmid, IPC_STAT, &sd) == 0)
		rc = svshm_check_perm(&sd.shm_perm, want);
	if (rc == 0 && semid >= 0 && semctl(semid, 0, IPC_STAT, arg) == 0)
		rc = svshm_check_perm(&ss.sem_perm, want);
	if (rc == 0 && semid >= 0 && semctl(semid, ALIVE_L, GETVAL) > 0)
		rc = -EADDRINUSE;
	if (rc < 0)
		return rc;
	if (shmid >= 0)
		shmctl(shmid, IPC_RMID, NULL);
	if (semid >= 0)
		semctl(semid, 0, IPC_RMID);
	return 0;
}

static int
svshm_attach(struct svshm_chan *s, size_t len)
{
	void *p = shmat(s->shmid, NULL, 0);
	if (p == (void *)-1)
		return -errno;
	s->seg.map = p;
	s->seg.maplen = len;
	s->seg.hdr = p;
	return 0;
}

/* The doorbells' path: by key, or by segment id for IPC_PRIVATE. */
static void
svshm_bell(struct svshm_chan *s)
{
	if (s->key == IPC_PRIVATE)
		snprintf(s->seg.bell, sizeof(s->seg.bell),
		         "/dev/shm/ipckit-sysvshm-id%d.bell", s->shmid);
	else
		snprintf(s->seg.bell, sizeof(s->seg.bell),
		         "/dev/shm/ipckit-sysvshm-0x%08x.bell",
		         (unsigned)s->key);
}

/* SysV ignores the umask: the mode given is the mode it gets. */
static int
svshm_create(struct svshm_chan *s, uint64_t size)
{
	int flags = IPC_CREAT | IPC_EXCL | (int)(s->seg.base.mode | 0600);
	size_t len = ipk__seg_len(size);
	for (int tries = 0; tries < 2; tries++) {
		s->shmid = shmget(s->key, len, flags);
		if (s->shmid >= 0)
			s->semid = semget(s->key, NSEMS, flags);
		if (s->shmid >= 0 && s->semid >= 0)
			break;
		int e = errno;
		if (s->shmid >= 0)
			shmctl(s->shmid, IPC_RMID, NULL);
		s->shmid = s->semid = -1;
		if (e != EEXIST || tries)
			return e == EEXIST ? -EADDRINUSE : -e;
		int rc = svshm_remove_stale(s);
		if (rc < 0)
			return rc;
	}
	svshm_bell(s); /* a private pair's by its id, known now */
	/* Alive, and sem_otime set: a dialer knows the set is ready. */
	int rc = svshm_op(s->semid, ALIVE_L, 1, SEM_UNDO);
	s->alive_held = rc == 0;
	if (rc == 0)
		rc = svshm_attach(s, len);
	if (rc == 0)
		ipk__seg_format(&s->seg, size);
	return rc;
}

static void
svshm_undo(struct svshm_chan *s)
{
	if (s->seg.map)
		shmdt(s->seg.map);
	s->seg.map = s->seg.hdr = NULL;
	if (s->alive_held)
		svshm_op(s->semid, s->seg.listener ? ALIVE_L : ALIVE_D, -1,
		         SEM_UNDO | IPC_NOWAIT);
	s->alive_held = false;
	if (s->seg.listener && s->shmid >= 0)
		shmctl(s->shmid, IPC_RMID, NULL);
	if (s->seg.listener && s->semid >= 0)
		semctl(s->semid, 0, IPC_RMID);
	s->shmid = s->semid = -1;
}

static const char *const svshm_options[] = {"size", "wait", "shmid", "semid",
                                            NULL};

/* ?shmid=&semid= name a private pair, for dialers only (both or none). */
static int
svshm_parse(struct svshm_chan *s, const struct ipk_url *u, uint64_t *size)
{
	s->shmid = s->semid = -1;
	int rc = ipk__seg_parse(&s->seg, u, size);
	if (rc == 0)
		rc = ipk__sysv_key(u->rest, &s->key);
	long long shmid = -1, semid = -1;
	if (rc == 0 && (ipk__url_num(u, "shmid", 0, INT_MAX, &shmid) < 0 ||
	                ipk__url_num(u, "semid", 0, INT_MAX, &semid) < 0))
		rc = -EINVAL;
	bool ids = shmid >= 0 || semid >= 0;
	bool dial_private = !s->seg.listener && s->key == IPC_PRIVATE;
	if (rc == 0 &&
	    (ids != dial_private || (ids && (shmid < 0 || semid < 0))))
		rc = -EINVAL; /* a private pair is dialled by its ids */
	s->shmid = s->url_shmid = (int)shmid;
	s->url_semid = (int)semid;
	svshm_bell(s);
	return rc;
}

static int
svshm_name(const struct ipk_chan *c, char *buf, size_t size)
{
	const struct svshm_chan *s = (const struct svshm_chan *)c;
	if (s->key != IPC_PRIVATE || !s->seg.listener || s->shmid < 0)
		return -ENOTSUP; /* the URL as given */
	int n = snprintf(buf, size, "sysvshm:IPC_PRIVATE?shmid=%d&semid=%d",
	                 s->shmid, s->semid);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int
svshm_listen(struct ipk_chan *c, const struct ipk_url *u)
{
	struct svshm_chan *s = (struct svshm_chan *)c;
	uint64_t size;
	s->seg.listener = true;
	int rc = svshm_parse(s, u, &size);
	if (rc == 0)
		rc = svshm_create(s, size);
	if (rc == 0)
		rc = ipk__seg_start(&s->seg, &svshm_ops);
	if (rc < 0)
		svshm_undo(s);
	return rc;
}

union svshm_semun {
	int val;
	struct semid_ds *buf;
};

/* Both objects ours and of our shape; 1 when the listener is not ready. */
static int
svshm_check(struct svshm_chan *s, struct shmid_ds *sd)
{
	mode_t want = s->seg.base.mode | 0600;
	if (shmctl(s->shmid, IPC_STAT, sd) < 0)
		return errno == EIDRM || errno == EINVAL ? 1 : -errno;
	int rc = svshm_check_perm(&sd->shm_perm, want);
	bool private = s->key == IPC_PRIVATE; /* ?semid= says which */
	s->semid = rc < 0 ? -1 : private ? s->url_semid : semget(s->key, 0, 0);
	if (rc == 0 && s->semid < 0)
		return errno == ENOENT ? 1 : -errno;
	struct semid_ds ss;
	union svshm_semun arg = {.buf = &ss};
	if (rc == 0 && semctl(s->semid, 0, IPC_STAT, arg) < 0)
		return errno == EIDRM || errno == EINVAL ? 1 : -errno;
	if (rc == 0)
		rc = svshm_check_perm(&ss.sem_perm, want);
	if (rc == 0 && (ss.sem_nsems != NSEMS || sd->shm_segsz < IPK__SEG_HDR))
		rc = -EPROTO;
	if (rc == 0 &&
	    (ss.sem_otime == 0 || semctl(s->semid, ALIVE_L, GETVAL) <= 0))
		rc = 1; /* being made, or its listener died */
	return rc;
}

/* This side's alive semaphore, if no other dialer holds it. */
static int
svshm_take_dialer(struct svshm_chan *s)
{
	struct sembuf b[2] = {
	        {.sem_num = ALIVE_D, .sem_op = 0, .sem_flg = IPC_NOWAIT},
	        {.sem_num = ALIVE_D, .sem_op = 1, .sem_flg = SEM_UNDO}};
	if (semop(s->semid, b, 2) < 0)
		return errno == EAGAIN ? -EBUSY : -errno;
	s->alive_held = true;
	return 0;
}

static int
svshm_dial_once(struct ipk__seg *seg)
{
	struct svshm_chan *s = (struct svshm_chan *)seg;
	bool private = s->key == IPC_PRIVATE; /* ?shmid= says which */
	s->shmid = private ? s->url_shmid : shmget(s->key, 0, 0);
	struct shmid_ds sd;
	int rc = 0;
	if (s->shmid < 0)
		rc = errno == ENOENT ? 1 : -errno;
	if (rc == 0)
		rc = svshm_check(s, &sd);
	if (rc == 0)
		rc = svshm_attach(s, sd.shm_segsz);
	uint64_t size;
	if (rc == 0)
		rc = ipk__seg_check(s->seg.hdr, sd.shm_segsz, &size);
	if (rc == 0)
		rc = svshm_take_dialer(s);
	if (rc != 0)
		svshm_undo(s);
	return rc;
}

static int
svshm_dial(struct ipk_chan *c, const struct ipk_url *u)
{
	struct svshm_chan *s = (struct svshm_chan *)c;
	uint64_t size;
	int rc = svshm_parse(s, u, &size);
	if (rc == 0)
		rc = ipk__seg_dial(&s->seg, svshm_dial_once, &svshm_ops);
	if (rc < 0)
		svshm_undo(s);
	return rc;
}

static void
svshm_close(struct ipk_chan *c)
{
	struct svshm_chan *s = (struct svshm_chan *)c;
	ipk__seg_leave(&s->seg, &svshm_ops);
	if (c->flags & IPK__KEEP)
		s->seg.listener = false; /* svshm_undo removes nothing */
	svshm_undo(s);
}

const struct ipk_transport ipk__sysvshm = {
        .scheme = "sysvshm",
        .size = sizeof(struct svshm_chan),
        .caps = IPK_CAP_DUPLEX | IPK_CAP_MESSAGES | IPK_CAP_FD,
        .options = svshm_options,
        .listen = svshm_listen,
        .dial = svshm_dial,
        .send = ipk__seg_send,
        .recv = ipk__seg_recv,
        .send_batch = ipk__seg_send_batch,
        .reserve = ipk__seg_reserve,
        .commit = ipk__seg_commit,
        .peek = ipk__seg_peek,
        .release = ipk__seg_release,
        .drops = ipk__seg_drops,
        .pollfd = ipk__seg_pollfd,
        .name = svshm_name,
        .close = svshm_close,
};
