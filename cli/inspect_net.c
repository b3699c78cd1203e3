/*
 * inspect_net.c - sockets: bound Unix sockets from /proc/net/unix (one
 * row per listening or bound socket, its accepted connections counted),
 * TCP and UDP from /proc/net/{tcp,tcp6,udp,udp6} with their states.
 */
#include "inspect.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define UNIX_ACCEPTCON 0x10000 /* __SO_ACCEPTCON: a listening socket */

static const char *const tcp_states[] = {
        "?",          "ESTABLISHED", "SYN_SENT",  "SYN_RECV",
        "FIN_WAIT1",  "FIN_WAIT2",   "TIME_WAIT", "CLOSE",
        "CLOSE_WAIT", "LAST_ACK",    "LISTEN",    "CLOSING",
};

static const char *
unix_kind(unsigned type)
{
	return type == 2 ? "unixgram" : type == 5 ? "unixpacket" : "unix";
}

static struct ins_obj *
unix_find(struct ins_list *l, const char *kind, const char *path)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].kind, kind) && !strcmp(l->v[i].name, path))
			return &l->v[i];
	return NULL;
}

/* A path socket's file gives owner and mode; an abstract one has none. */
static void
unix_file(struct ins_obj *o)
{
	struct stat st;
	if (o->name[0] != '/' || stat(o->name, &st) < 0)
		return;
	o->uid = st.st_uid;
	o->mode = st.st_mode & 07777;
}

static void
unix_line(struct ins_list *l, const char *line)
{
	unsigned long flags, ino;
	unsigned type, st;
	int at = 0;
	if (sscanf(line, "%*s %*s %*s %lx %x %x %lu %n", &flags, &type, &st,
	           &ino, &at) != 4 ||
	    !at || !line[at])
		return; /* unbound: no name to show */
	char path[INS_NAME];
	snprintf(path, sizeof(path), "%s", line + at);
	path[strcspn(path, "\n")] = '\0';
	const char *kind = unix_kind(type);
	bool server = (flags & UNIX_ACCEPTCON) || (type == 2 && st == 1);
	struct ins_obj *o = unix_find(l, kind, path);
	if (!o && (o = ins_add(l, kind))) {
		snprintf(o->name, sizeof(o->name), "%s", path);
		snprintf(o->sock_state, sizeof(o->sock_state), "CONNECTED");
		o->conns = 0;
	}
	if (!o || (server && o->ino))
		return;
	if (!server) {
		o->conns++; /* an accepted connection at that path */
		return;
	}
	o->ino = ino;
	o->is_sock = true;
	snprintf(o->sock_state, sizeof(o->sock_state), "%s",
	         type == 2 ? "BOUND" : "LISTEN");
	unix_file(o);
}

static void
net_addr(const char *hex, bool v6, char *out, size_t size)
{
	unsigned char raw[16];
	unsigned w[4] = {0};
	int words = v6 ? 4 : 1;
	for (int i = 0; i < words; i++)
		sscanf(hex + 8 * i, "%8x", &w[i]);
	memcpy(raw, w, sizeof(w)); /* the kernel prints the words as held */
	char ip[INET6_ADDRSTRLEN] = "?";
	inet_ntop(v6 ? AF_INET6 : AF_INET, raw, ip, sizeof(ip));
	unsigned port = 0;
	const char *colon = strchr(hex, ':');
	if (colon)
		sscanf(colon + 1, "%x", &port);
	snprintf(out, size, v6 ? "[%s]:%u" : "%s:%u", ip, port);
}

static void
inet_line(struct ins_list *l, const char *kind, bool v6, const char *line)
{
	char local[80], remote[80], a[64], b[64];
	unsigned st, uid;
	unsigned long tx, rx, ino;
	if (sscanf(line, "%*s %79s %79s %x %lx:%lx %*s %*s %u %*s %lu", local,
	           remote, &st, &tx, &rx, &uid, &ino) != 7)
		return;
	struct ins_obj *o = ins_add(l, kind);
	if (!o)
		return;
	net_addr(local, v6, a, sizeof(a));
	net_addr(remote, v6, b, sizeof(b));
	bool peer = strcmp(b, "0.0.0.0:0") && strcmp(b, "[::]:0");
	snprintf(o->name, sizeof(o->name), peer ? "%s->%s" : "%s", a, b);
	o->uid = uid;
	o->ino = ino;
	o->is_sock = true;
	o->bytes = (long long)rx;
	o->txq = (long long)tx;
	const char *sn = st < sizeof(tcp_states) / sizeof(tcp_states[0])
	                         ? tcp_states[st]
	                         : "?";
	if (!strcmp(kind, "udp"))
		sn = st == 1 ? "CONNECTED" : "UNCONN";
	snprintf(o->sock_state, sizeof(o->sock_state), "%s", sn);
}

static void
net_file(struct ins_list *l, const char *path, const char *kind, bool v6)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	char line[1024];
	bool head = true;
	while (fgets(line, sizeof(line), f)) {
		if (head)
			head = false;
		else if (!kind)
			unix_line(l, line);
		else
			inet_line(l, kind, v6, line);
	}
	fclose(f);
}

int
ins_scan_net(struct ins_list *l)
{
	net_file(l, "/proc/net/unix", NULL, false);
	net_file(l, "/proc/net/tcp", "tcp", false);
	net_file(l, "/proc/net/tcp6", "tcp", true);
	net_file(l, "/proc/net/udp", "udp", false);
	net_file(l, "/proc/net/udp6", "udp", true);
	return 0;
}
