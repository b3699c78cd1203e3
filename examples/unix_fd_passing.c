/*
 * unix_fd_passing.c - notes section 6.6, what only Unix sockets can do:
 * a child opens a file and passes the open descriptor (SCM_RIGHTS) with
 * a message; the parent reads the file through it without ever opening
 * it.  Received descriptors are close-on-exec; the socket file goes away
 * with ipk_close.
 */
#include <ipckit.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

static int
child(const char *url, const char *file)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	ipk_chan *ch;
	if (fd < 0 || ipk_dial(url, &ch) < 0)
		return 1;
	struct ipk_msg m = {
	        .buf = "here is a file", .len = 14, .fds = &fd, .nfds = 1};
	int rc = ipk_sendmsg(ch, &m, 2000);
	ipk_close(ch);
	close(fd); /* the parent holds its own copy now */
	return rc < 0;
}

int
main(void)
{
	char file[64], url[96], buf[64];
	snprintf(file, sizeof(file), "/tmp/ipckit-example-%d.txt", getpid());
	snprintf(url, sizeof(url), "unix:/tmp/ipckit-example-%d.sock",
	         getpid());
	FILE *f = fopen(file, "w");
	if (!f || fputs("secret content\n", f) < 0 || fclose(f))
		return perror(file), 1;
	ipk_chan *l, *c;
	int rc = ipk_listen(url, &l);
	pid_t pid = rc == 0 ? fork() : -1;
	if (pid == 0)
		exit(child(url, file));
	int fd = -1;
	struct ipk_msg m = {
	        .buf = buf, .len = sizeof(buf), .fds = &fd, .nfds = 1};
	if (rc == 0 && (rc = ipk_accept(l, &c, 2000)) == 0) {
		ssize_t n = ipk_recvmsg(c, &m, 2000);
		rc = n < 0 ? (int)n : 0;
		printf("parent: got \"%.*s\" with %zu descriptor\n", (int)m.len,
		       buf, m.nfds);
		ipk_close(c);
	}
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
	if (n > 0)
		printf("parent: read through it: %.*s", (int)n, buf);
	ipk_close(l); /* removes the socket file */
	unlink(file);
	int status;
	waitpid(pid, &status, 0);
	if (rc < 0)
		fprintf(stderr, "parent: %s\n", ipk_strerror(rc));
	return rc < 0 || n <= 0;
}
