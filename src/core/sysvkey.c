/*
 * sysvkey.c - parses the KEY of the System V URLs: a number in any C
 * spelling, IPC_PRIVATE, or "path:proj" turned into a key by ftok(3).
 * sysvmsg: and sysvsem: (and sysvshm:) share it.
 */
#include "sysvkey.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>

static int
sysvkey_ftok(const char *rest, const char *colon, key_t *key)
{
	char *end;
	errno = 0;
	long proj = strtol(colon + 1, &end, 0);
	if (errno || end == colon + 1 || *end || proj < 1 || proj > 255 ||
	    colon == rest)
		return -EINVAL;
	char path[PATH_MAX];
	size_t len = (size_t)(colon - rest);
	if (len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, rest, len);
	path[len] = '\0';
	*key = ftok(path, (int)proj);
	return *key == -1 ? -errno : 0;
}

int
ipk__sysv_key(const char *rest, key_t *key)
{
	if (strcmp(rest, "IPC_PRIVATE") == 0) {
		*key = IPC_PRIVATE;
		return 0;
	}
	const char *colon = strrchr(rest, ':');
	if (colon)
		return sysvkey_ftok(rest, colon, key);
	char *end;
	errno = 0;
	long long n = strtoll(rest, &end, 0);
	if (errno || end == rest || *end || n < INT32_MIN || n > UINT32_MAX)
		return -EINVAL;
	/* key_t is an int: its negative and its unsigned spellings both do. */
	*key = n < 0 ? (key_t)n : (key_t)(uint32_t)n;
	return 0;
}
