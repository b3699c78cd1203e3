/*
 * stream_fuzz.c - the frame decoder of byte streams (io.c, and
 * fdstream.c for unix:), read by ipk_recv or by ipk_peek (zc.c).  The
 * input is written whole to one end of a pipe: or unix: pair, the writer
 * closes, and the reader receives until an error; every message and the
 * final error are checked against a plain reading of the same bytes.
 *
 * Input: two control bytes (the first: bits 0-2 ?max=, 3 raw, 4 unix:,
 * 5-7 the receive buffer; the second: bit 0 peek instead of recv), then
 * the bytes of the stream.
 */
#include "fuzz.h"

#include "ipckit.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

static const size_t stream_maxes[8] = {0,   1,    4,     16,
                                       100, 4096, 65536, 16u << 20};
static const size_t stream_caps[8] = {0, 1, 3, 16, 100, 4096, 65536, 70000};

struct stream_case {
	const uint8_t *in;
	size_t len, at; /* at: where the reference reader is */
	size_t max, cap;
	bool raw, peek;
};

static int
stream_open(const struct stream_case *k, bool unix_pair, ipk_chan **rd)
{
	char url[64];
	snprintf(url, sizeof(url), "%s:?max=%zu%s", unix_pair ? "unix" : "pipe",
	         k->max, k->raw ? "&raw" : "");
	ipk_chan *wr;
	int rc = ipk_pair(url, rd, &wr);
	if (rc < 0)
		fprintf(stderr, "ipk_pair %s: %s\n", url, ipk_strerror(rc));
	FUZZ_ASSERT(rc == 0); /* EMFILE here would be a descriptor leak */
	size_t done = 0;
	while (done < k->len) {
		ssize_t n = write(ipk_fd(wr), k->in + done, k->len - done);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	ipk_close(wr);
	FUZZ_ASSERT(done == k->len); /* the input fits the pipe */
	return 0;
}

static uint32_t
stream_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* A peeked message stays the same until released. */
static ssize_t
stream_peek(ipk_chan *rd, uint8_t *buf)
{
	const void *p, *again;
	size_t len, len2;
	int rc = ipk_peek(rd, &p, &len, 0);
	if (rc < 0)
		return rc;
	FUZZ_ASSERT(ipk_peek(rd, &again, &len2, 0) == 0);
	FUZZ_ASSERT(again == p && len2 == len && len <= FUZZ_MAX_INPUT);
	memcpy(buf, p, len);
	FUZZ_ASSERT(ipk_release(rd) == 0);
	FUZZ_ASSERT(ipk_release(rd) == -EINVAL);
	return (ssize_t)len;
}

/* One receive; a message too big for the buffer is read with a bigger. */
static ssize_t
stream_recv(ipk_chan *rd, struct stream_case *k, uint8_t *buf)
{
	if (k->peek)
		return stream_peek(rd, buf);
	struct ipk_msg m = {.buf = buf, .len = k->cap};
	ssize_t r = ipk_recvmsg(rd, &m, 0);
	if (r == -EMSGSIZE && m.len <= k->max && m.len <= k->len) {
		FUZZ_ASSERT(m.len > k->cap); /* or it would have fitted */
		m.len = k->len;
		r = ipk_recvmsg(rd, &m, 0);
	}
	return r;
}

/* What the reader must return next, from the bytes alone. */
static ssize_t
stream_expect(const struct stream_case *k, size_t *flen)
{
	size_t left = k->len - k->at;
	if (k->raw) {
		*flen = left < k->cap ? left : k->cap;
		return left ? (ssize_t)*flen : -EPIPE;
	}
	if (left == 0)
		return -EPIPE;
	if (left < IPK_FRAME_HEADER)
		return -ECONNRESET;
	*flen = stream_be32(k->in + k->at);
	if (*flen > k->max)
		return -EMSGSIZE;
	if (*flen > left - IPK_FRAME_HEADER)
		return -ECONNRESET;
	return (ssize_t)*flen;
}

static void
stream_run(ipk_chan *rd, struct stream_case *k, uint8_t *buf)
{
	for (;;) {
		size_t flen = 0;
		ssize_t want = stream_expect(k, &flen);
		ssize_t got = stream_recv(rd, k, buf);
		bool ok = k->raw && want > 0 ? got > 0 && got <= want
		                             : got == want;
		if (!ok)
			fprintf(stderr, "at %zu: want %zd, got %zd\n", k->at,
			        want, got);
		FUZZ_ASSERT(ok);
		if (got < 0)
			break;
		if (k->raw)
			flen = (size_t)got; /* a read may bring less */
		size_t hdr = k->raw ? 0 : IPK_FRAME_HEADER;
		FUZZ_ASSERT(memcmp(buf, k->in + k->at + hdr, flen) == 0);
		k->at += hdr + flen;
	}
	/* After the end, the end again (a broken stream stays broken). */
	ssize_t again = stream_recv(rd, k, buf);
	FUZZ_ASSERT(again == -EPIPE || again == -ECONNRESET);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > FUZZ_MAX_INPUT + 2)
		return 0;
	struct stream_case k = {
	        .in = data + 2,
	        .len = size - 2,
	        .max = stream_maxes[data[0] & 7],
	        .cap = stream_caps[data[0] >> 5],
	        .raw = data[0] & 8,
	        .peek = data[1] & 1,
	};
	if (k.peek)
		k.cap = k.len + 1; /* peek's buffer grows to the message */
	if (k.raw && k.cap == 0)
		k.cap = 1; /* raw with no room would read nothing forever */
	uint8_t *buf = malloc(k.len > k.cap ? k.len : k.cap ? k.cap : 1);
	ipk_chan *rd;
	if (buf && stream_open(&k, data[0] & 16, &rd) == 0) {
		stream_run(rd, &k, buf);
		ipk_close(rd);
	}
	free(buf);
	return 0;
}
