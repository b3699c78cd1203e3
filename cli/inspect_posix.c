/*
 * inspect_posix.c - POSIX shared memory and named semaphores (files in
 * /dev/shm, "sem.NAME" for a semaphore) and POSIX message queues (files
 * in /dev/mqueue, whose text gives QSIZE; mq_getattr gives the count).
 * Looking opens nothing for writing and changes nothing.
 */
#include "inspect.h"

#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define MQUEUE_MAGIC 0x19800202

bool
ins_mqueue_mounted(void)
{
	struct statfs fs;
	return statfs("/dev/mqueue", &fs) == 0 && fs.f_type == MQUEUE_MAGIC;
}

static struct ins_obj *
posix_add(struct ins_list *l, const char *kind, const char *name,
          const struct stat *st)
{
	struct ins_obj *o = ins_add(l, kind);
	if (!o)
		return NULL;
	snprintf(o->name, sizeof(o->name), "%s", name);
	o->dev = st->st_dev;
	o->ino = (unsigned long long)st->st_ino;
	o->uid = st->st_uid;
	o->mode = st->st_mode & 07777;
	return o;
}

static void
posix_sem_value(struct ins_obj *o)
{
	sem_t *s = sem_open(o->name, 0);
	int v;
	if (s == SEM_FAILED)
		return;
	if (sem_getvalue(s, &v) == 0)
		o->value = v;
	sem_close(s);
}

/* The entry callbacks get the entry's name, full path and lstat. */
typedef void (*posix_entry_fn)(struct ins_list *l, const char *ent,
                               const char *path, const struct stat *st);

static void
posix_shm_entry(struct ins_list *l, const char *ent, const char *path,
                const struct stat *st)
{
	char name[INS_NAME];
	struct ins_obj *o = NULL;
	bool sem = !strncmp(ent, "sem.", 4);
	snprintf(name, sizeof(name), "/%s", sem ? ent + 4 : ent);
	if (S_ISFIFO(st->st_mode))
		posix_add(l, "fifo", path, st);
	else if (S_ISREG(st->st_mode) && sem &&
	         (o = posix_add(l, "sem", name, st)))
		posix_sem_value(o);
	else if (S_ISREG(st->st_mode) && !sem &&
	         (o = posix_add(l, "shm", name, st)))
		o->bytes = (long long)st->st_size;
}

static void
posix_mq_figures(struct ins_obj *o, const char *path)
{
	char text[256] = "";
	FILE *f = fopen(path, "re");
	if (f) {
		if (!fgets(text, sizeof(text), f))
			text[0] = '\0';
		fclose(f);
	}
	unsigned long long q;
	if (sscanf(text, "QSIZE:%llu", &q) == 1)
		o->bytes = (long long)q;
	mqd_t m = mq_open(o->name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct mq_attr a;
	if (m != (mqd_t)-1 && mq_getattr(m, &a) == 0)
		o->messages = a.mq_curmsgs;
	if (m != (mqd_t)-1)
		mq_close(m);
}

static void
posix_mq_entry(struct ins_list *l, const char *ent, const char *path,
               const struct stat *st)
{
	char name[INS_NAME];
	snprintf(name, sizeof(name), "/%s", ent);
	struct ins_obj *o =
	        S_ISREG(st->st_mode) ? posix_add(l, "mq", name, st) : NULL;
	if (o)
		posix_mq_figures(o, path);
}

static void
posix_dir(struct ins_list *l, const char *dir, posix_entry_fn entry)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char path[INS_NAME];
	struct stat st;
	while ((e = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_name[0] != '.' && lstat(path, &st) == 0)
			entry(l, e->d_name, path, &st);
	}
	closedir(d);
}

int
ins_scan_posix(struct ins_list *l)
{
	posix_dir(l, "/dev/shm", posix_shm_entry);
	if (ins_mqueue_mounted())
		posix_dir(l, "/dev/mqueue", posix_mq_entry);
	return 0;
}
