/*
 * budget.c - ?rxbudget=: a bound on the memory that the connections of
 * one listener hold in partly received messages.  Each connection is
 * charged for its receive buffer beyond the base every stream has; past
 * the bound the one holding the most is dropped (-ENOBUFS), so a crowd
 * of peers announcing huge messages cannot take the process's memory.
 */
#include "core.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

struct ipk__budget *
ipk__budget_new(size_t limit)
{
	struct ipk__budget *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	pthread_mutex_init(&b->lock, NULL);
	b->limit = limit;
	return b;
}

static void
budget_unlink(struct ipk__budget *b, struct ipk_chan *c)
{
	if (!c->blinked)
		return;
	if (c->bprev)
		c->bprev->bnext = c->bnext;
	else
		b->head = c->bnext;
	if (c->bnext)
		c->bnext->bprev = c->bprev;
	c->bnext = c->bprev = NULL;
	c->blinked = false;
	b->used -= c->charged;
	c->charged = 0;
}

void
ipk__budget_join(struct ipk__budget *b, struct ipk_chan *c)
{
	pthread_mutex_lock(&b->lock);
	b->refs++;
	c->budget = b;
	c->bnext = b->head;
	c->bprev = NULL;
	if (b->head)
		b->head->bprev = c;
	b->head = c;
	c->blinked = true;
	pthread_mutex_unlock(&b->lock);
}

void
ipk__budget_leave(struct ipk_chan *c)
{
	struct ipk__budget *b = c->budget;
	pthread_mutex_lock(&b->lock);
	budget_unlink(b, c);
	bool last = --b->refs == 0;
	pthread_mutex_unlock(&b->lock);
	c->budget = NULL;
	if (last) {
		pthread_mutex_destroy(&b->lock);
		free(b);
	}
}

static struct ipk_chan *
budget_largest(const struct ipk__budget *b)
{
	struct ipk_chan *big = b->head;
	for (struct ipk_chan *c = b->head; c; c = c->bnext)
		if (c->charged > big->charged)
			big = c;
	return big;
}

/*
 * Drop victim: its next receive returns -ENOBUFS and frees its buffer.
 * Its descriptor is still open (it leaves the budget, under this lock,
 * before ipk_close closes it), so shutdown wakes a thread waiting on it.
 */
static void
budget_drop(struct ipk__budget *b, struct ipk_chan *victim)
{
	budget_unlink(b, victim);
	victim->broken = -ENOBUFS;
	b->shed++;
	if (victim->fd >= 0)
		shutdown(victim->fd, SHUT_RDWR);
}

int
ipk__budget_charge(struct ipk_chan *c, size_t bytes)
{
	struct ipk__budget *b = c->budget;
	int rc = 0;
	pthread_mutex_lock(&b->lock);
	if (!c->blinked) {
		rc = -ENOBUFS; /* dropped already */
		goto out;
	}
	b->used += bytes - c->charged; /* wraps back when it shrinks */
	c->charged = bytes;
	while (b->used > b->limit && b->head) {
		struct ipk_chan *victim = budget_largest(b);
		if (victim->charged == 0)
			break;
		budget_drop(b, victim);
		if (victim == c) {
			rc = -ENOBUFS;
			break;
		}
	}
out:
	pthread_mutex_unlock(&b->lock);
	return rc;
}

long long
ipk__budget_shed(const struct ipk__budget *b)
{
	return b->shed;
}
