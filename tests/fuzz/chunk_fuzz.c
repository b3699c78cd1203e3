/*
 * chunk_fuzz.c - the decoder of FIFO chunks (src/core/chunk.c), the
 * reader's side of fifo: messages above PIPE_BUF.  The input is written
 * whole to a pipe: pair, the writer closes, and ipk__chunk_recv is called
 * on the read end until the stream ends or breaks.
 *
 * Input: one control byte (bits 0-2 ?max=, 5-7 the receive buffer),
 * then the bytes of the stream (chunks, plain frames, or neither).
 */
#include "fuzz.h"

#include "core/core.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static const size_t chunk_maxes[8] = {0,    100,   4096,     4097,
                                      8192, 65536, 1u << 20, 16u << 20};
static const size_t chunk_caps[8] = {0, 1, 16, 4096, 4097, 8192, 65536, 70000};

static int
chunk_open(const uint8_t *in, size_t len, size_t max, ipk_chan **rd)
{
	char url[64];
	snprintf(url, sizeof(url), "pipe:?max=%zu", max);
	ipk_chan *wr;
	int rc = ipk_pair(url, rd, &wr);
	if (rc < 0)
		fprintf(stderr, "ipk_pair %s: %s\n", url, ipk_strerror(rc));
	FUZZ_ASSERT(rc == 0); /* EMFILE here would be a descriptor leak */
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(ipk_fd(wr), in + done, len - done);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	ipk_close(wr);
	FUZZ_ASSERT(done == len); /* the input fits the pipe */
	return 0;
}

/* One message; 1 to go on, 0 at the end of the stream. */
static int
chunk_step(ipk_chan *rd, uint8_t *buf, size_t cap, size_t len)
{
	struct ipk_msg m = {.buf = buf, .len = cap};
	ssize_t r = ipk__chunk_recv(rd, &m, 0);
	if (r >= 0) {
		FUZZ_ASSERT((size_t)r <= cap && (size_t)r <= rd->max);
		FUZZ_ASSERT((size_t)r <= len && m.len == (size_t)r);
		return 1;
	}
	if (r == -ECONNRESET)
		return 1; /* a cut message; what follows is read on */
	if (r == -EMSGSIZE && rd->broken == 0) {
		/* Too big for the buffer only: kept for a bigger one. */
		FUZZ_ASSERT(m.len > cap && m.len <= rd->max && m.len <= len);
		size_t need = m.len;
		m.len = len;
		r = ipk__chunk_recv(rd, &m, 0);
		FUZZ_ASSERT(r >= 0 && (size_t)r == need);
		return 1;
	}
	FUZZ_ASSERT(r == -EPIPE || (r == -EMSGSIZE && rd->broken));
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > FUZZ_MAX_INPUT + 1)
		return 0;
	size_t len = size - 1;
	size_t max = chunk_maxes[data[0] & 7];
	size_t cap = chunk_caps[data[0] >> 5];
	uint8_t *buf = malloc(len > cap ? len : cap ? cap : 1);
	ipk_chan *rd;
	if (buf && chunk_open(data + 1, len, max, &rd) == 0) {
		/* Each step consumes a header or ends a message: bounded. */
		size_t steps = 0;
		while (chunk_step(rd, buf, cap, len))
			FUZZ_ASSERT(++steps <= 2 * len + 8);
		ipk_close(rd);
	}
	free(buf);
	return 0;
}
