/*
 * posix_mq_priorities.c - the POSIX side of notes section 6.5: a queue
 * ordered by priority, highest first and FIFO within one priority.  The
 * receiver creates it (mode 0600, depth 8, 64-byte messages), a sender
 * process fills it, and the receiver's close unlinks it.
 */
#include <ipckit.h>

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct {
	unsigned prio;
	const char *text;
} sent[] = {{1, "low"}, {9, "urgent"}, {5, "normal"}, {9, "urgent, second"}};

static int
sender(const char *url)
{
	ipk_chan *q;
	int rc = ipk_dial(url, &q);
	for (int i = 0; rc == 0 && i < 4; i++) {
		struct ipk_msg m = {.buf = (void *)sent[i].text,
		                    .len = strlen(sent[i].text),
		                    .prio = sent[i].prio};
		rc = ipk_sendmsg(q, &m, 2000);
	}
	ipk_close(q);
	return rc < 0;
}

int
main(void)
{
	char url[96], buf[64];
	snprintf(url, sizeof(url), "mq:/ipckit-example-%d?depth=8&msgsize=64",
	         (int)getpid());
	ipk_chan *q;
	int rc = ipk_listen(url, &q);
	if (rc < 0)
		return fprintf(stderr, "%s: %s\n", url, ipk_strerror(rc)), 1;
	pid_t pid = fork();
	if (pid == 0)
		_exit(sender(url));
	int status;
	waitpid(pid, &status, 0); /* all four are queued now */
	for (int i = 0; rc >= 0 && i < 4; i++) {
		struct ipk_msg m = {.buf = buf, .len = sizeof(buf)};
		ssize_t n = ipk_recvmsg(q, &m, 2000);
		if ((rc = n < 0 ? (int)n : 0) == 0)
			printf("receiver: prio %u \"%.*s\"\n", m.prio, (int)n,
			       buf);
	}
	if (rc < 0)
		fprintf(stderr, "receiver: %s\n", ipk_strerror(rc));
	ipk_close(q); /* mq_unlink */
	return rc < 0 || !WIFEXITED(status) || WEXITSTATUS(status);
}
