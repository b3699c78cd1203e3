/*
 * inspect.h - what `ipckit ls` and `ipckit rm` know of the IPC objects on
 * this machine: one table filled from /proc/sysvipc, /dev/shm,
 * /dev/mqueue, /proc/net and /proc/[pid]/fd (inspect_*.c), with the
 * owner records of src/core/owner.c laid over it (inspect_rec.c).
 */
#ifndef IPK_CLI_INSPECT_H
#define IPK_CLI_INSPECT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#define INS_NAME 1024
#define INS_NA (-1LL) /* a figure this kind does not have */

enum ins_state { INS_UNKNOWN, INS_LIVE, INS_STALE };

struct ins_obj {
	char kind[12];       /* the URL scheme: sysvmsg, mq, fifo, tcp ... */
	char name[INS_NAME]; /* path, /name, 0xKEY, or address:port */
	long long key, id;   /* SysV key and id, else INS_NA */
	dev_t dev;           /* with ino: the object's file, or socket */
	unsigned long long ino;
	bool is_sock;  /* ino is a socket inode (from /proc/net) */
	long long uid; /* INS_NA: not known (abstract sockets) */
	int mode;      /* permission bits, -1 none (sockets) */
	/* Figures, INS_NA where the kind has none. */
	long long bytes, messages, nattch, nsems, conns, value, txq;
	pid_t creator; /* from the record, or SysV shm cpid; 0 unknown */
	pid_t *pids;   /* processes holding it open */
	size_t npids;
	char sock_state[12]; /* LISTEN, ESTABLISHED ... for sockets */
	enum ins_state state;
	char reason[160];
	char record[INS_NAME]; /* owner record path, or "" */
	long long id2;         /* sysvshm record: the set's id */
};

struct ins_list {
	struct ins_obj *v;
	size_t n, cap;
	char **orphans; /* records of a dead owner whose object is gone */
	size_t norphans;
};

/* One process holding one open file or socket, or mapping a shared-memory
 * object (inspect_proc.c). */
struct ins_fd {
	dev_t dev;
	unsigned long long ino;
	pid_t pid;
	bool sock, fifo;
	bool sysv;  /* a SysV segment mapped: ino is its shm id */
	char *path; /* FIFOs only: where the link points */
};
struct ins_fds {
	struct ins_fd *v;
	size_t n, cap;
};

/* A new zeroed object of kind in l (figures INS_NA), or NULL. */
struct ins_obj *ins_add(struct ins_list *l, const char *kind);
void ins_free(struct ins_list *l);
/* Everything: objects, holders, records, states.  0 or -errno. */
int ins_scan(struct ins_list *l);

int ins_scan_fds(struct ins_fds *f);
void ins_fds_free(struct ins_fds *f);
/* Give o the pids in f that hold (dev, ino) (sockets: by inode; SysV
 * segments: by id, from maps). */
void ins_holders(struct ins_obj *o, const struct ins_fds *f);

int ins_scan_sysv(struct ins_list *l);
int ins_scan_posix(struct ins_list *l); /* /dev/shm and /dev/mqueue */
/* FIFOs some process holds open, outside /dev/shm's (inspect_proc.c). */
void ins_scan_fifos(struct ins_list *l, const struct ins_fds *f);
int ins_scan_net(struct ins_list *l); /* unix, tcp, udp */
/* Lay the owner records over l; adds what only a record shows. */
void ins_scan_records(struct ins_list *l);
/* live / stale / unknown with the reason, for every object. */
void ins_judge(struct ins_list *l);

bool ins_mqueue_mounted(void);
/* "kind:name" as ipckit takes it, into buf. */
void ins_url(const struct ins_obj *o, char *buf, size_t size);
/* User name of uid, or its number, into buf. */
void ins_user(uid_t uid, char *buf, size_t size);
bool ins_pid_alive(pid_t pid);
/* Take the record's lock: true when its owner is gone for good. */
bool ins_record_claim(const char *path, int *fd);

#endif
