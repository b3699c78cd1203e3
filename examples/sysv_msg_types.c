/*
 * sysv_msg_types.c - notes section 6.5 with ipckit: a System V queue
 * made with IPC_PRIVATE (no key anyone could guess), handed to a child by
 * fork.  The child sends typed messages; the parent picks them with the
 * msgrcv rule: N takes type N, -N the lowest type <= N, 0 the first.
 */
#include <ipckit.h>

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct {
	long type;
	const char *text;
} sent[] = {{3, "three"}, {1, "first one"}, {2, "two"}, {1, "second one"}};

int
main(void)
{
	ipk_chan *q;
	int rc = ipk_listen("sysvmsg:IPC_PRIVATE", &q);
	if (rc < 0)
		return fprintf(stderr, "listen: %s\n", ipk_strerror(rc)), 1;
	pid_t pid = fork();
	if (pid == 0) { /* same queue; its close does not remove it */
		for (int i = 0; rc == 0 && i < 4; i++) {
			struct ipk_msg m = {.buf = (void *)sent[i].text,
			                    .len = strlen(sent[i].text),
			                    .type = sent[i].type};
			rc = ipk_sendmsg(q, &m, 2000);
		}
		printf("child: sent 4 messages (types 3, 1, 2, 1)\n");
		ipk_close(q);
		return rc < 0;
	}
	int status;
	waitpid(pid, &status, 0); /* all four are queued now */
	static const long selectors[] = {2, -3, -3, 0};
	for (int i = 0; rc >= 0 && i < 4; i++) {
		char buf[64];
		struct ipk_msg m = {
		        .buf = buf, .len = sizeof(buf), .type = selectors[i]};
		ssize_t n = ipk_recvmsg(q, &m, 2000);
		if (n < 0)
			rc = (int)n;
		else
			printf("parent: --type %ld got type %ld \"%.*s\"\n",
			       selectors[i], m.type, (int)n, buf);
	}
	if (rc < 0)
		fprintf(stderr, "parent: %s\n", ipk_strerror(rc));
	ipk_close(q); /* IPC_RMID: the creator removes the queue */
	return rc < 0 || !WIFEXITED(status) || WEXITSTATUS(status);
}
