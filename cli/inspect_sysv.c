/*
 * inspect_sysv.c - the System V objects of this IPC namespace, from
 * /proc/sysvipc/{msg,shm,sem}: the same rows ipcs(1) reads, so the
 * figures agree with it (key in decimal there, perms in octal).
 */
#include "inspect.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Each parser takes one line; false when it is not a row. */
typedef bool (*sysv_row_fn)(struct ins_obj *o, const char *line);

static bool
sysv_msg(struct ins_obj *o, const char *line)
{
	int key, id;
	unsigned mode, lspid, lrpid, uid;
	unsigned long long bytes, qnum;
	if (sscanf(line, "%d %d %o %llu %llu %u %u %u", &key, &id, &mode,
	           &bytes, &qnum, &lspid, &lrpid, &uid) != 8)
		return false;
	o->key = (unsigned)key, o->id = id, o->mode = mode & 0777;
	o->bytes = (long long)bytes, o->messages = (long long)qnum;
	o->uid = uid;
	snprintf(o->reason, sizeof(o->reason), "lspid %u, lrpid %u", lspid,
	         lrpid);
	return true;
}

static bool
sysv_shm(struct ins_obj *o, const char *line)
{
	int key, id;
	unsigned mode, cpid, lpid, uid;
	unsigned long long size, nattch;
	if (sscanf(line, "%d %d %o %llu %u %u %llu %u", &key, &id, &mode, &size,
	           &cpid, &lpid, &nattch, &uid) != 8)
		return false;
	o->key = (unsigned)key, o->id = id, o->mode = mode & 0777;
	o->bytes = (long long)size, o->nattch = (long long)nattch;
	o->uid = uid;
	o->creator = (pid_t)cpid;
	snprintf(o->reason, sizeof(o->reason),
	         "cpid %s, lpid %u, nattch %llu%s",
	         ins_pid_alive((pid_t)cpid) ? "lives" : "gone", lpid, nattch,
	         (mode & 01000) ? ", dest" : "");
	return true;
}

static bool
sysv_sem(struct ins_obj *o, const char *line)
{
	int key, id;
	unsigned mode, uid;
	unsigned long long nsems;
	if (sscanf(line, "%d %d %o %llu %u", &key, &id, &mode, &nsems, &uid) !=
	    5)
		return false;
	o->key = (unsigned)key, o->id = id, o->mode = mode & 0777;
	o->nsems = (long long)nsems;
	o->uid = uid;
	return true;
}

static int
sysv_file(struct ins_list *l, const char *path, const char *kind,
          sysv_row_fn row)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	char line[512];
	bool head = true;
	while (fgets(line, sizeof(line), f)) {
		if (head) {
			head = false;
			continue;
		}
		struct ins_obj *o = ins_add(l, kind);
		if (o && !row(o, line))
			l->n--; /* not a row: give the slot back */
		else if (o)
			snprintf(o->name, sizeof(o->name), "0x%08llx", o->key);
	}
	fclose(f);
	return 0;
}

int
ins_scan_sysv(struct ins_list *l)
{
	int rc = sysv_file(l, "/proc/sysvipc/msg", "sysvmsg", sysv_msg);
	if (rc == 0)
		rc = sysv_file(l, "/proc/sysvipc/shm", "sysvshm", sysv_shm);
	if (rc == 0)
		rc = sysv_file(l, "/proc/sysvipc/sem", "sysvsem", sysv_sem);
	return rc;
}
