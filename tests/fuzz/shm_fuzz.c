/*
 * shm_fuzz.c - the attach and read path of shm: (src/transport/shm.c,
 * src/shm/seg.c, src/shm/ring.c) against a segment whose every byte the
 * fuzzer chooses.  The input is the segment: written to a fresh POSIX
 * shared-memory object, with a lock on byte 0 held as a live listener's
 * would be, then a dialer attaches and receives until the ring ends or
 * breaks.  The checks: never a crash or an access out of bounds (ASan),
 * errors only of the documented kinds, every message within bounds.
 */
#include "fuzz.h"

#include <ipckit.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SHM_FUZZ_MAX (64u * 1024)

static bool
shm_fuzz_err_ok(int rc)
{
	return rc == -EPROTO || rc == -EBADMSG || rc == -EAGAIN ||
	       rc == -ETIMEDOUT || rc == -EPIPE || rc == -EMSGSIZE;
}

/* The object holding the input, locked as a live listener's. */
static int
shm_fuzz_make(const char *name, const uint8_t *data, size_t size)
{
	int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return -1;
	struct flock fl = {.l_type = F_WRLCK,
	                   .l_whence = SEEK_SET,
	                   .l_start = 0,
	                   .l_len = 1};
	bool ok = write(fd, data, size) == (ssize_t)size &&
	          fcntl(fd, F_OFD_SETLK, &fl) == 0;
	if (!ok) {
		close(fd);
		shm_unlink(name);
		return -1;
	}
	return fd;
}

static void
shm_fuzz_read(ipk_chan *d)
{
	char buf[256];
	for (int i = 0; i < 1024; i++) {
		ssize_t n = ipk_recv(d, buf, sizeof(buf), 0);
		if (n >= 0) {
			FUZZ_ASSERT((size_t)n <= sizeof(buf));
			continue;
		}
		FUZZ_ASSERT(shm_fuzz_err_ok((int)n));
		if (n != -EMSGSIZE)
			return;
		const void *p;
		size_t len;
		if (ipk_peek(d, &p, &len, 0) == 0) {
			FUZZ_ASSERT(len <= SHM_FUZZ_MAX);
			volatile const char *c = p;
			if (len)
				(void)c[len - 1]; /* within the mapping */
			ipk_release(d);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > SHM_FUZZ_MAX)
		return 0;
	char name[64], url[96];
	snprintf(name, sizeof(name), "/ipk-fuzz-%d", (int)getpid());
	snprintf(url, sizeof(url), "shm:%s?timeout=0", name);
	shm_unlink(name);
	int fd = shm_fuzz_make(name, data, size);
	if (fd < 0)
		return 0;
	ipk_chan *d;
	int rc = ipk_dial(url, &d);
	if (rc == 0) {
		shm_fuzz_read(d);
		for (int i = 0; i < 4; i++) { /* the producer's side of it */
			rc = ipk_send(d, "fuzz", 4, 0);
			FUZZ_ASSERT(rc == 0 || shm_fuzz_err_ok(rc));
		}
		ipk_close(d);
	} else {
		FUZZ_ASSERT(shm_fuzz_err_ok(rc));
	}
	close(fd);
	shm_unlink(name);
	return 0;
}
