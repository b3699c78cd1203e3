/*
 * fs.c - the private runtime directory and the owner checks that every
 * transport applies to objects it finds already there (tmux's and
 * opencryptoki's rules: ours, owner-only, checked on the open object).
 */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
ipk__check_owner(const struct stat *st, mode_t want)
{
	if (st->st_uid != geteuid())
		return -EPERM;
	/* Wider bits than the creator asked for mean someone changed it. */
	if ((st->st_mode & 07777 & ~want) != 0)
		return -EPERM;
	return 0;
}

static int
fs_rundir(char *out, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;
	if (xdg && xdg[0] == '/')
		n = snprintf(out, size, "%s/ipckit", xdg);
	else
		n = snprintf(out, size, "/tmp/ipckit-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return -errno;
	struct stat st;
	if (lstat(out, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -EPERM;
	return ipk__check_owner(&st, 0700);
}

int
ipk__runtime_path(const char *name, char *out, size_t size)
{
	if (strchr(name, '/')) {
		if (strlen(name) >= size)
			return -ENAMETOOLONG;
		strcpy(out, name);
		return 0;
	}
	if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	int rc = fs_rundir(out, size);
	if (rc < 0)
		return rc;
	size_t dl = strlen(out);
	int n = snprintf(out + dl, size - dl, "/%s", name);
	if (n < 0 || (size_t)n >= size - dl)
		return -ENAMETOOLONG;
	return 0;
}

int
ipk__posix_name(const char *name, size_t maxlen)
{
	if (name[0] != '/' || name[1] == '\0' || strchr(name + 1, '/') ||
	    strcmp(name, "/.") == 0 || strcmp(name, "/..") == 0)
		return -EINVAL;
	return strlen(name + 1) > maxlen ? -ENAMETOOLONG : 0;
}
