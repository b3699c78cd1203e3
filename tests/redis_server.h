/*
 * redis_server.h - a redis-server of a test's own: started on a free
 * loopback port with its own directory, registered with th_defer_kill
 * and th_defer_remove so the suite's .fini (th_cleanup) stops and removes
 * it even when an assertion fails.  Shared by redis_test and contract_test.
 */
#ifndef IPK_TEST_REDIS_SERVER_H
#define IPK_TEST_REDIS_SERVER_H

#include "helpers.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct rs {
	pid_t pid;
	int port;
	char dir[256], args[256];
};

static inline int
rs_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, len) == 0 &&
	          getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* (Re)start the server of s on its port and directory; wait for PONG. */
static inline void
rs_run(struct rs *s)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
	         "exec redis-server --port %d --bind 127.0.0.1 --dir %s "
	         "--save '' --logfile %s/log --daemonize no %s",
	         s->port, s->dir, s->dir, s->args);
	fflush(NULL);
	s->pid = fork();
	cr_assert_geq(s->pid, 0);
	if (s->pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	th_defer_kill(s->pid);
	long long end = th_now_ms() + 5000LL * th_mult();
	while (th_sh("redis-cli -p %d ping 2>/dev/null | grep -q -e PONG "
	             "-e NOAUTH",
	             s->port) != 0) {
		cr_assert(th_now_ms() < end, "redis-server did not start: %s",
		          cmd);
		cr_assert_eq(waitpid(s->pid, NULL, WNOHANG), 0,
		             "redis-server exited (is it installed? "
		             "scripts/deps.sh)");
		usleep(10000);
	}
}

/* A new server with extra arguments (NULL: none) in a fresh directory. */
static inline void
rs_start(struct rs *s, const char *args)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s", th_path("redis"));
	cr_assert_eq(th_sh("mkdir -p %s", s->dir), 0);
	th_defer_remove(s->dir);
	snprintf(s->args, sizeof(s->args), "%s", args ? args : "");
	s->port = rs_free_port();
	rs_run(s);
}

static inline void
rs_kill(struct rs *s, int sig)
{
	kill(s->pid, sig);
	if (sig == SIGKILL || sig == SIGTERM)
		waitpid(s->pid, NULL, 0);
}

/* "redis://127.0.0.1:PORT/<key><query>" in one of a few static slots. */
static inline const char *
rs_url(const struct rs *s, const char *key, const char *query)
{
	static char slot[8][512];
	static int n;
	char *u = slot[n++ % 8];
	snprintf(u, sizeof(slot[0]), "redis://127.0.0.1:%d/%s%s", s->port, key,
	         query);
	return u;
}

#endif
