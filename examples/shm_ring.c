/*
 * shm_ring.c - notes section 6.3 the fast way: a POSIX shared-memory
 * ring with no copy on either side.  The writer reserves room in the
 * ring, writes in place and commits; the reader peeks at the message
 * where it lies and releases it.  The listener's close removes the
 * segment from /dev/shm.
 */
#include <ipckit.h>

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define COUNT 3

static int
writer(const char *url)
{
	ipk_chan *w;
	if (ipk_dial(url, &w) < 0)
		return 1;
	for (int i = 1; i <= COUNT; i++) {
		void *p;
		if (ipk_reserve(w, 64, &p, 2000) < 0)
			return 2;
		int n = snprintf(p, 64, "frame %d written in place", i);
		ipk_commit(w, (size_t)n); /* never blocks on shm: */
	}
	ipk_close(w);
	return 0;
}

int
main(void)
{
	char url[64];
	snprintf(url, sizeof(url), "shm:/ipckit-example-%d?size=65536",
	         (int)getpid());
	ipk_chan *r;
	int rc = ipk_listen(url, &r);
	if (rc < 0) {
		fprintf(stderr, "listen %s: %s\n", url, ipk_strerror(rc));
		return 1;
	}
	pid_t pid = fork();
	if (pid == 0)
		_exit(writer(url));
	for (int i = 0; i < COUNT; i++) {
		const void *p;
		size_t len;
		rc = ipk_peek(r, &p, &len, 2000);
		if (rc < 0)
			break;
		printf("reader: \"%.*s\" (%zu bytes, in the ring)\n", (int)len,
		       (const char *)p, len);
		ipk_release(r);
	}
	int st;
	waitpid(pid, &st, 0);
	ipk_close(r);
	snprintf(url, sizeof(url), "/dev/shm/ipckit-example-%d", (int)getpid());
	printf("segment %s\n", access(url, F_OK) ? "removed" : "left!");
	return rc < 0 || !WIFEXITED(st) || WEXITSTATUS(st) ? 1 : 0;
}
