/*
 * out.c - how recv writes a message: the bytes as they are, text lines,
 * hex, or one JSON object per line ("text" when the payload is valid
 * UTF-8, else "base64").  Returns the output's error so recv can stop.
 */
#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

/* Length of the valid UTF-8 sequence at p (1 to 4), or 0. */
static size_t
out_utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	if (c >= 0x80 && (c < 0xc2 || c > 0xf4))
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong 3/4-byte forms, surrogates, above U+10FFFF. */
	if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0) ||
	    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
		return 0;
	return len;
}

static bool
out_utf8_valid(const unsigned char *p, size_t n)
{
	for (size_t i = 0, u; i < n; i += u)
		if ((u = out_utf8_len(p + i, n - i)) == 0)
			return false;
	return true;
}

/*
 * A JSON string of UTF-8 text p.  ls prints file names with it, which
 * need not be UTF-8: a byte outside a valid sequence becomes \u00XX, so
 * the JSON stays valid.
 */
void
out_json_text(FILE *f, const unsigned char *p, size_t n)
{
	putc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = p[i];
		size_t u = ch < 0x80 ? 1 : out_utf8_len(p + i, n - i);
		if (u > 1) {
			fwrite(p + i, 1, u, f);
			i += u - 1;
		} else if (ch == '\n') {
			fputs("\\n", f);
		} else if (u == 0 || ch < 0x20 || ch == 0x7f) {
			fprintf(f, "\\u%04x", ch);
		} else if (ch == '"' || ch == '\\') {
			fprintf(f, "\\%c", ch);
		} else {
			putc(ch, f);
		}
	}
	putc('"', f);
}

static void
out_base64(FILE *f, const unsigned char *p, size_t n)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                          "abcdefghijklmnopqrstuvwxyz0123456789+/";
	putc('"', f);
	for (size_t i = 0; i < n; i += 3) {
		unsigned long v = (unsigned long)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned long)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		putc(abc[v >> 18 & 63], f);
		putc(abc[v >> 12 & 63], f);
		putc(i + 1 < n ? abc[v >> 6 & 63] : '=', f);
		putc(i + 2 < n ? abc[v & 63] : '=', f);
	}
	putc('"', f);
}

/* The sender's address as text and port (0 if none); false if none. */
static bool
out_addr(const struct ipk_peer *p, char *buf, size_t size, int *port)
{
	const struct sockaddr_storage *ss = &p->addr;
	*port = 0;
	if (p->addrlen == 0)
		return false;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;
		*port = ntohs(a->sin_port);
		return inet_ntop(AF_INET, &a->sin_addr, buf, (socklen_t)size);
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;
		*port = ntohs(a->sin6_port);
		return inet_ntop(AF_INET6, &a->sin6_addr, buf, (socklen_t)size);
	}
	const struct sockaddr_un *a = (const void *)ss;
	size_t n = p->addrlen - offsetof(struct sockaddr_un, sun_path);
	if (ss->ss_family != AF_UNIX || p->addrlen <= sizeof(sa_family_t) ||
	    a->sun_path[0] == '\0' || n >= size)
		return false;
	snprintf(buf, size, "%.*s", (int)n, a->sun_path);
	return true;
}

static void
out_peer_json(FILE *f, const struct ipk_peer *p)
{
	char addr[INET6_ADDRSTRLEN + 108];
	int port;
	const char *sep = "";
	fputs(",\"peer\":{", f);
	if (p->pid > 0) {
		fprintf(f, "\"pid\":%d,\"uid\":%u,\"gid\":%u", (int)p->pid,
		        (unsigned)p->uid, (unsigned)p->gid);
		sep = ",";
	}
	if (out_addr(p, addr, sizeof(addr), &port)) {
		fprintf(f, "%s\"address\":", sep);
		out_json_text(f, (const unsigned char *)addr, strlen(addr));
		if (port)
			fprintf(f, ",\"port\":%d", port);
	}
	putc('}', f);
}

static void
out_peer_text(FILE *f, const struct ipk_peer *p)
{
	char addr[INET6_ADDRSTRLEN + 108];
	int port;
	if (p->pid > 0)
		fprintf(f, "[pid %d uid %u gid %u] ", (int)p->pid,
		        (unsigned)p->uid, (unsigned)p->gid);
	else if (out_addr(p, addr, sizeof(addr), &port) && port)
		fprintf(f, "[%s port %d] ", addr, port);
	else if (out_addr(p, addr, sizeof(addr), &port))
		fprintf(f, "[%s] ", addr);
	else
		fputs("[unknown] ", f);
}

static void
out_json(const struct cli_out *out, const struct cli_meta *meta, size_t len)
{
	const unsigned char *p = meta->m->buf;
	FILE *f = out->f;
	bool text = out_utf8_valid(p, len);
	fprintf(f, "{\"len\":%zu,\"%s\":", len, text ? "text" : "base64");
	if (text)
		out_json_text(f, p, len);
	else
		out_base64(f, p, len);
	if (!strcmp(meta->scheme, "sysvmsg"))
		fprintf(f, ",\"type\":%ld", meta->m->type);
	if (!strcmp(meta->scheme, "mq"))
		fprintf(f, ",\"prio\":%u", meta->m->prio);
	if (meta->m->nfds)
		fprintf(f, ",\"fds\":%zu", meta->m->nfds);
	if (meta->dropped >= 0)
		fprintf(f, ",\"dropped\":%lld", meta->dropped);
	if (out->peer)
		out_peer_json(f, meta->m->peer);
	fputs("}\n", f);
}

static void
out_plain(const struct cli_out *out, const struct cli_meta *meta, size_t len)
{
	const unsigned char *p = meta->m->buf;
	FILE *f = out->f;
	if (out->peer)
		out_peer_text(f, meta->m->peer);
	if (out->hex)
		for (size_t i = 0; i < len; i++)
			fprintf(f, "%02x", p[i]);
	else
		fwrite(p, 1, len, f);
	if (out->hex || !out->raw)
		putc('\n', f);
	if (meta->m->nfds && !out->hex)
		fprintf(f, "(with %zu descriptors)\n", meta->m->nfds);
}

int
cli_out_msg(const struct cli_out *out, const struct cli_meta *meta, size_t len)
{
	if (out->json)
		out_json(out, meta, len);
	else if (out->bytes)
		fwrite(meta->m->buf, 1, len, out->f);
	else
		out_plain(out, meta, len);
	if (fflush(out->f) == EOF || ferror(out->f))
		return errno ? -errno : -EIO;
	return 0;
}
