/*
 * pipe_parent_child.c - notes section 6.1 with ipckit: make a pipe, fork,
 * and let each process close the end it does not use.  The parent sends
 * three messages; the child prints them until the stream ends (-EPIPE).
 */
#include <ipckit.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int
child(ipk_chan *rd)
{
	char buf[256];
	ssize_t n;
	int got;
	for (got = 0; (n = ipk_recv(rd, buf, sizeof(buf), 2000)) >= 0; got++)
		printf("child: got \"%.*s\"\n", (int)n, buf);
	printf("child: end of stream after %d messages (%s)\n", got,
	       ipk_strerror((int)n));
	ipk_close(rd);
	return n == -EPIPE && got == 3 ? 0 : 1;
}

int
main(void)
{
	static const char *const msgs[] = {"hello", "from", "the parent"};
	ipk_chan *rd, *wr;
	int rc = ipk_pair("pipe:", &rd, &wr), status;
	if (rc < 0) {
		fprintf(stderr, "ipk_pair: %s\n", ipk_strerror(rc));
		return 1;
	}
	fflush(stdout); /* nothing buffered may be printed twice */
	pid_t pid = fork();
	if (pid < 0)
		return perror("fork"), 1;
	if (pid == 0) {
		ipk_close(wr); /* the child only reads */
		exit(child(rd));
	}
	ipk_close(rd); /* the parent only writes */
	for (size_t i = 0; rc == 0 && i < 3; i++)
		rc = ipk_send(wr, msgs[i], strlen(msgs[i]), 2000);
	if (rc < 0)
		fprintf(stderr, "ipk_send: %s\n", ipk_strerror(rc));
	else
		printf("parent: sent 3 messages\n");
	ipk_close(wr); /* the child now sees the end of the stream */
	if (waitpid(pid, &status, 0) < 0)
		return perror("waitpid"), 1;
	return rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
