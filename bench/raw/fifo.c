/*
 * fifo.c - the raw baseline of fifo: two mkfifo(3) paths in /tmp; each
 * child opens the forward FIFO first (driver to write, server to read)
 * and then the way back, blocking opens and descriptors.
 * Length-prefixed frames, a batch is one writev (common.c).
 */
#include "raw.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static int
fifo_prepare(struct raw_setup *s)
{
	for (int i = 0; i < 2; i++) {
		raw_name(s, i, true);
		if (mkfifo(s->name[i], 0600) < 0)
			return -errno;
	}
	return 0;
}

static int
fifo_open(struct raw_setup *s, int role, struct bench_link *l)
{
	int a = open(s->name[0], (role ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
	int b = open(s->name[1], (role ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	if (a < 0 || b < 0)
		return -errno;
	return raw_fd_link(l, role ? a : b, role ? b : a, true, s->timeout);
}

static void
fifo_cleanup(struct raw_setup *s)
{
	for (int i = 0; i < 2; i++)
		if (s->name[i][0])
			unlink(s->name[i]);
}

const struct raw_mech raw_fifo = {
        .name = "fifo",
        .prepare = fifo_prepare,
        .open = fifo_open,
        .cleanup = fifo_cleanup,
};
