/*
 * ring_test.c - the shared-memory ring (src/shm/ring.c) between two
 * threads of one process, through one mapping, so that ThreadSanitizer
 * sees every access of both sides at the same address and checks the
 * release/acquire and fence argument of ring.c (SHM-08).  Sequence-
 * numbered messages of varied sizes, random yields on both sides, in
 * each wait mode and with batched publishing.  A plain program (like
 * threads_test: Criterion cannot run under TSan); exit 0 when all pass.
 */
#include "shm/ring.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#define COUNT 200000
#else
#define COUNT 2000000
#endif
#define SIZE 16384
#define WAIT_NEVER INT64_MAX

struct side {
	struct ipk__ring r;
	struct ipk__ring_waiter w;
	int mode;
	bool batch;
	int failed;
};

static struct ipk__ring_ctl *ctl;
static unsigned char *data;

static bool
always(void *ctx)
{
	(void)ctx;
	return true;
}

static size_t
len_of(uint32_t s)
{
	return 4 + (s * 2654435761u >> 24) % 200;
}

static void *
producer(void *arg)
{
	struct side *p = arg;
	unsigned seed = 1;
	for (uint32_t s = 0; s < COUNT; s++) {
		void *at;
		if (ipk__ring_reserve(&p->r, len_of(s), &at, WAIT_NEVER) < 0) {
			p->failed = 1;
			return NULL;
		}
		memset(at, (int)(s & 0xff), len_of(s));
		memcpy(at, &s, 4);
		bool publish = !p->batch || s % 16 == 15 || s == COUNT - 1;
		ipk__ring_commit(&p->r, len_of(s), publish);
		if (rand_r(&seed) % 1024 == 0)
			sched_yield();
	}
	return NULL;
}

static int
consume(struct side *c)
{
	unsigned seed = 2;
	for (uint32_t s = 0; s < COUNT; s++) {
		const void *at;
		size_t len;
		int rc = ipk__ring_peek(&c->r, &at, &len, WAIT_NEVER);
		if (rc < 0) {
			fprintf(stderr, "peek at %u: %d\n", s, rc);
			return 1;
		}
		uint32_t got;
		memcpy(&got, at, 4);
		const unsigned char *b = at;
		if (got != s || len != len_of(s) ||
		    (len > 4 && b[len - 1] != (s & 0xff))) {
			fprintf(stderr, "at %u: got %u, %zu bytes\n", s, got,
			        len);
			return 1;
		}
		ipk__ring_release(&c->r);
		if (rand_r(&seed) % 1024 == 0)
			sched_yield();
	}
	return 0;
}

static int
run(const char *name, int mode, bool batch)
{
	memset(ctl, 0, sizeof(*ctl));
	struct side p = {.mode = mode, .batch = batch}, c = {.mode = mode};
	p.w = (struct ipk__ring_waiter){
	        .mode = mode, .cancel = NULL, .alive = always};
	c.w = p.w;
	if (ipk__ring_attach(&p.r, ctl, data, SIZE, true, &p.w) < 0 ||
	    ipk__ring_attach(&c.r, ctl, data, SIZE, false, &c.w) < 0)
		return 1;
	pthread_t t;
	pthread_create(&t, NULL, producer, &p);
	int rc = consume(&c);
	pthread_join(t, NULL);
	rc |= p.failed;
	printf("%s - %s\n", rc ? "not ok" : "ok", name);
	return rc;
}

int
main(void)
{
	ctl = aligned_alloc(64, sizeof(*ctl));
	data = aligned_alloc(64, SIZE);
	if (!ctl || !data)
		return 1;
	alarm(600);
	int rc = 0;
	rc |= run("spin", IPK__WAIT_SPIN, false);
	rc |= run("adaptive", IPK__WAIT_ADAPTIVE, false);
	rc |= run("sleep", IPK__WAIT_SLEEP, false);
	rc |= run("sleep, batched publishing", IPK__WAIT_SLEEP, true);
	rc |= run("adaptive, batched publishing", IPK__WAIT_ADAPTIVE, true);
	free(ctl);
	free(data);
	return rc;
}
