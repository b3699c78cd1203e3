/*
 * stop.c - how the command stops: SIGINT/SIGTERM write a byte to a
 * self-pipe, and the library's waits watch it (ipk_set_cancel).  An
 * epoll set over the pipe and, for recv, stdout makes one descriptor that
 * is readable on a signal and on a closed stdout alike.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

volatile sig_atomic_t cli_stop;

static int stop_pipe[2] = {-1, -1};
static int stop_set = -1; /* epoll over stop_pipe[0] (and stdout) */

static void
stop_on_signal(int sig)
{
	int saved = errno;
	if (!cli_stop)
		cli_stop = sig;
	if (stop_pipe[1] >= 0 && write(stop_pipe[1], "x", 1) < 0)
		errno = saved; /* full pipe: it is readable already */
	errno = saved;
}

static void
stop_make_set(void)
{
	struct epoll_event ev = {.events = EPOLLIN};
	stop_set = epoll_create1(EPOLL_CLOEXEC);
	if (stop_set >= 0 &&
	    epoll_ctl(stop_set, EPOLL_CTL_ADD, stop_pipe[0], &ev) < 0) {
		close(stop_set);
		stop_set = -1;
	}
}

void
cli_signals(void)
{
	if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
		stop_make_set();
		ipk_set_cancel(NULL, cli_cancel_fd());
	}
	/* No SA_RESTART: a read of stdin returns EINTR on a signal. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = stop_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
cli_cancel_fd(void)
{
	return stop_set >= 0 ? stop_set : stop_pipe[0];
}

void
cli_watch_stdout(void)
{
	/* Events 0: epoll still reports EPOLLERR/EPOLLHUP, which a pipe or
	 * socket shows once its reader is gone.  Files cannot be watched
	 * (EPERM) and never close under us. */
	struct epoll_event ev = {.events = 0};
	if (stop_set >= 0)
		epoll_ctl(stop_set, EPOLL_CTL_ADD, STDOUT_FILENO, &ev);
}

bool
cli_stdout_gone(void)
{
	struct pollfd p = {.fd = STDOUT_FILENO, .events = 0};
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP));
}

bool
cli_stopping(void)
{
	int fd = cli_cancel_fd();
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return cli_stop || (fd >= 0 && poll(&p, 1, 0) > 0);
}

int
cli_exit_code(int rc)
{
	return cli_stop ? 128 + cli_stop : rc;
}

ssize_t
cli_read(int fd, void *buf, size_t n, int timeout_ms)
{
	for (;;) {
		struct pollfd p[2] = {
		        {.fd = fd, .events = POLLIN},
		        {.fd = cli_cancel_fd(), .events = POLLIN}};
		int k = poll(p, 2, timeout_ms);
		if (k < 0 && errno != EINTR)
			return -errno;
		if (p[1].revents || cli_stop)
			return -ECANCELED;
		if (k == 0)
			return -ETIMEDOUT;
		if (k < 0)
			continue;
		ssize_t r = read(fd, buf, n);
		if (r >= 0 || (errno != EINTR && errno != EAGAIN))
			return r < 0 ? -errno : r;
	}
}
