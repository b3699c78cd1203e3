/*
 * shm.c - the raw baseline of shm: a spin ring.  Before the fork the
 * coordinator maps anonymous shared memory holding two single-producer
 * single-consumer rings of the ipckit row's ring size.  A message is a
 * 4-byte length and the payload, padded to 8 bytes; a length of ~0
 * wraps to the start.  Indices count bytes forever and are published
 * with release stores, read with acquire loads.  A waiting side spins
 * (pause), yielding every 1024 turns; it never sleeps.  No batch call.
 * send and recv are reserve + copy + commit and peek + copy + release;
 * the zero-copy phase calls those four without the copies.
 *
 * raw_sysvshm is the notes' design (6.3 + 6.4) as a plain program writes
 * it: the same rings, and a System V semaphore per direction that the
 * writer V's after every message and the reader P's before every read
 * (semtimedop for a finite timeout): a semop ping-pong.
 */
#include "raw.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <time.h>

#define RING_WRAP UINT32_MAX
#define RING_HDR 8
#define RING_TURNS 1024

struct ring_ctl {
	_Alignas(64) _Atomic uint64_t head;
	_Alignas(64) _Atomic uint64_t tail;
};

struct ring {
	struct ring_ctl *ctl;
	unsigned char *data;
	uint64_t size;
	uint64_t at;  /* the index of the record reserved or peeked */
	uint32_t len; /* peeked: its length */
};

struct raw_shm {
	struct ring tx, rx;
	int timeout;
	int semid;          /* raw_sysvshm: the set; -1 for the spin ring */
	int sem_tx, sem_rx; /* its members: V after a send, P before a read */
};

/* P (or V with op 1) on member num; ms < 0 waits for ever. */
static int
shm_semop(const struct raw_shm *s, int num, int op, int ms)
{
	struct sembuf b = {.sem_num = (unsigned short)num, .sem_op = (short)op};
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	for (;;) {
		int r = op > 0 || ms < 0 ? semop(s->semid, &b, 1)
		                         : semtimedop(s->semid, &b, 1, &ts);
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
	}
}

static inline void
ring_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* One turn of a wait: pause, sometimes yield, and watch the deadline. */
static int
ring_turn(unsigned *turn, double deadline)
{
	ring_pause();
	if (++*turn % RING_TURNS)
		return 0;
	sched_yield();
	return deadline > 0 && bench_now_us() > deadline ? -ETIMEDOUT : 0;
}

static double
ring_deadline(int ms)
{
	return ms < 0 ? 0 : bench_now_us() + ms * 1e3;
}

static size_t
ring_need(size_t len)
{
	return RING_HDR + ((len + 7) & ~(size_t)7);
}

/* Room for a record of len bytes at the head, waited for; not yet sent. */
static int
shm_rreserve(void *ctx, size_t len, void **ptr)
{
	struct raw_shm *s = ctx;
	struct ring *r = &s->tx;
	uint64_t head =
	        atomic_load_explicit(&r->ctl->head, memory_order_relaxed);
	uint64_t pos = head & (r->size - 1), need = ring_need(len);
	uint64_t skip = r->size - pos < need ? r->size - pos : 0;
	if (need > r->size / 2)
		return -EMSGSIZE;
	unsigned turn = 0;
	double dl = ring_deadline(s->timeout);
	while (head + skip + need -
	               atomic_load_explicit(&r->ctl->tail,
	                                    memory_order_acquire) >
	       r->size)
		if (ring_turn(&turn, dl) < 0)
			return -ETIMEDOUT;
	uint32_t l32 = RING_WRAP;
	if (skip)
		memcpy(r->data + pos, &l32, 4), pos = 0;
	r->at = head + skip;
	*ptr = r->data + pos + RING_HDR;
	return 0;
}

/* Publish the reserved record (raw_sysvshm: and V the reader). */
static int
shm_rcommit(void *ctx, size_t len)
{
	struct raw_shm *s = ctx;
	struct ring *r = &s->tx;
	uint32_t l32 = (uint32_t)len;
	memcpy(r->data + (r->at & (r->size - 1)), &l32, 4);
	atomic_store_explicit(&r->ctl->head, r->at + ring_need(len),
	                      memory_order_release);
	return s->semid < 0 ? 0 : shm_semop(s, s->sem_tx, 1, -1);
}

static int
shm_rsend(void *ctx, const void *buf, size_t len)
{
	void *p;
	int rc = shm_rreserve(ctx, len, &p);
	if (rc < 0)
		return rc;
	memcpy(p, buf, len);
	return shm_rcommit(ctx, len);
}

/* The record at the tail, in place (raw_sysvshm: after a P). */
static int
shm_rpeek(void *ctx, const void **ptr, size_t *len, int ms)
{
	struct raw_shm *s = ctx;
	struct ring *r = &s->rx;
	uint64_t tail =
	        atomic_load_explicit(&r->ctl->tail, memory_order_relaxed);
	unsigned turn = 0;
	double dl = ring_deadline(ms);
	int rc = s->semid < 0 ? 0 : shm_semop(s, s->sem_rx, -1, ms);
	if (rc < 0)
		return rc;
	for (;;) {
		while (atomic_load_explicit(&r->ctl->head,
		                            memory_order_acquire) == tail)
			if (ring_turn(&turn, dl) < 0)
				return -ETIMEDOUT;
		uint64_t pos = tail & (r->size - 1);
		uint32_t l32;
		memcpy(&l32, r->data + pos, 4);
		if (l32 == RING_WRAP) {
			tail += r->size - pos;
			continue;
		}
		r->at = tail;
		r->len = l32;
		*ptr = r->data + pos + RING_HDR;
		*len = l32;
		return 0;
	}
}

static int
shm_rrelease(void *ctx)
{
	struct ring *r = &((struct raw_shm *)ctx)->rx;
	atomic_store_explicit(&r->ctl->tail, r->at + ring_need(r->len),
	                      memory_order_release);
	return 0;
}

static ssize_t
shm_rrecv(void *ctx, void *buf, size_t cap, int ms)
{
	const void *p;
	size_t len;
	int rc = shm_rpeek(ctx, &p, &len, ms);
	if (rc < 0)
		return rc;
	if (len > cap)
		return -EMSGSIZE;
	memcpy(buf, p, len);
	shm_rrelease(ctx);
	return (ssize_t)len;
}

static const struct bench_ops shm_ops = {
        shm_rsend,   shm_rrecv, NULL,         shm_rreserve,
        shm_rcommit, shm_rpeek, shm_rrelease,
};

static size_t
shm_maplen(const struct raw_setup *s)
{
	return 2 * (sizeof(struct ring_ctl) + bench_ring_bytes(s->size));
}

static int
shm_prepare(struct raw_setup *s)
{
	void *p = mmap(NULL, shm_maplen(s), PROT_READ | PROT_WRITE,
	               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	s->map = p;
	return 0;
}

/* Ring i of the mapping: control blocks first, then the two data areas. */
static struct ring
shm_ring(const struct raw_setup *s, int i)
{
	struct ring_ctl *ctl = s->map;
	uint64_t size = bench_ring_bytes(s->size);
	unsigned char *data = (unsigned char *)(ctl + 2) + i * size;
	return (struct ring){.ctl = ctl + i, .data = data, .size = size};
}

static int
shm_ropen(struct raw_setup *s, int role, struct bench_link *l)
{
	struct raw_shm *r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->tx = shm_ring(s, role);
	r->rx = shm_ring(s, 1 - role);
	r->timeout = s->timeout;
	r->semid = s->mech == &raw_sysvshm ? (int)s->id[0] : -1;
	r->sem_tx = role;
	r->sem_rx = 1 - role;
	*l = (struct bench_link){&shm_ops, r, s->timeout, false};
	return 0;
}

static void
shm_cleanup(struct raw_setup *s)
{
	if (s->map)
		munmap(s->map, shm_maplen(s));
	if (s->mech == &raw_sysvshm && s->id[0] >= 0)
		semctl((int)s->id[0], 0, IPC_RMID);
}

/* The rings, and a private set of two semaphores at 0. */
static int
sysvshm_prepare(struct raw_setup *s)
{
	s->id[0] = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
	if (s->id[0] < 0)
		return -errno;
	int rc = shm_prepare(s);
	if (rc < 0)
		semctl((int)s->id[0], 0, IPC_RMID);
	return rc;
}

const struct raw_mech raw_sysvshm = {
        .name = "sysvshm",
        .zero_copy = true,
        .prepare = sysvshm_prepare,
        .open = shm_ropen,
        .cleanup = shm_cleanup,
};

const struct raw_mech raw_shm = {
        .name = "shm",
        .zero_copy = true,
        .prepare = shm_prepare,
        .open = shm_ropen,
        .cleanup = shm_cleanup,
};
