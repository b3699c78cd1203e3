/*
 * pipe.c - the raw baseline of pipe: two pipe(2)s made before the fork,
 * blocking descriptors; the driver writes the first and reads the
 * second.  Length-prefixed frames, a batch is one writev (common.c).
 */
#include "raw.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static int
pipe_prepare(struct raw_setup *s)
{
	if (pipe2(s->fd, O_CLOEXEC) < 0 || pipe2(s->fd + 2, O_CLOEXEC) < 0)
		return -errno;
	return 0;
}

static int
pipe_open(struct raw_setup *s, int role, struct bench_link *l)
{
	int r = role ? s->fd[0] : s->fd[2], w = role ? s->fd[3] : s->fd[1];
	raw_close_fds(s, r, w);
	return raw_fd_link(l, r, w, true, s->timeout);
}

static void
pipe_cleanup(struct raw_setup *s)
{
	raw_close_fds(s, -1, -1);
}

const struct raw_mech raw_pipe = {
        .name = "pipe",
        .prepare = pipe_prepare,
        .open = pipe_open,
        .cleanup = pipe_cleanup,
};
