/*
 * fifo_writer_reader.c - notes section 6.2 with ipckit: a reader process
 * makes a FIFO under /tmp and listens; a writer process opens it (waiting
 * for the reader, as the notes say, but with a timeout) and sends.  The
 * reader's ipk_close removes the FIFO: nothing is left behind.
 */
#include <ipckit.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int
writer(const char *url)
{
	ipk_chan *ch;
	int rc = ipk_dial(url, &ch); /* retries until the reader is there */
	for (int i = 1; rc == 0 && i <= 3; i++) {
		char msg[32];
		int len = snprintf(msg, sizeof(msg), "message %d of 3", i);
		rc = ipk_send(ch, msg, (size_t)len, 2000);
	}
	ipk_close(ch);
	if (rc < 0)
		fprintf(stderr, "writer: %s: %s\n", url, ipk_strerror(rc));
	return rc < 0;
}

int
main(void)
{
	char path[64], url[96], buf[64];
	snprintf(path, sizeof(path), "/tmp/ipckit-example-%d.fifo", getpid());
	snprintf(url, sizeof(url), "fifo:%s?timeout=2000", path);
	pid_t pid = fork(); /* before ipk_listen: the writer owns nothing */
	if (pid < 0)
		return perror("fork"), 1;
	if (pid == 0)
		exit(writer(url));
	ipk_chan *ch;
	ssize_t n = ipk_listen(url, &ch);
	if (n == 0)
		printf("reader: listening on %s\n", path);
	for (int i = 0; n >= 0 && i < 3; i++)
		if ((n = ipk_recv(ch, buf, sizeof(buf), 2000)) >= 0)
			printf("reader: got \"%.*s\"\n", (int)n, buf);
	if (n < 0)
		fprintf(stderr, "reader: %s: %s\n", url, ipk_strerror((int)n));
	ipk_close(ch); /* unlinks the FIFO (no ?keep) */
	int status;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return 1;
	if (access(path, F_OK) == 0)
		return fprintf(stderr, "reader: %s is still there\n", path), 1;
	printf("reader: done, %s removed\n", path);
	return n < 0 || WEXITSTATUS(status) != 0;
}
