/*
 * tcptrace_svg.c - tcp-trace's ladder diagram (--svg FILE): the client's
 * and the server's time lines side by side, one arrow per packet with
 * its flags and numbers in the notes' notation, each state change beside
 * its side's line, time running down.
 */
#include "cli.h"
#include "tcptrace.h"

#include <errno.h>

#define SVG_W 900
#define SVG_XC 260 /* the client's line */
#define SVG_XS 640 /* the server's line */
#define SVG_TOP 70
#define SVG_STEP 30

static void
svg_head(FILE *f, const struct tt_trace *tr, int h)
{
	fprintf(f,
	        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	        "height=\"%d\" font-family=\"monospace\" font-size=\"12\">\n"
	        "<defs><marker id=\"a\" markerWidth=\"10\" markerHeight=\"7\" "
	        "refX=\"10\" refY=\"3.5\" orient=\"auto\"><path "
	        "d=\"M0,0 L10,3.5 L0,7 z\"/></marker></defs>\n"
	        "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
	        SVG_W, h);
	fprintf(f,
	        "<text x=\"%d\" y=\"30\" text-anchor=\"middle\" "
	        "font-weight=\"bold\">client :%d</text>\n",
	        SVG_XC, tr->cport);
	fprintf(f,
	        "<text x=\"%d\" y=\"30\" text-anchor=\"middle\" "
	        "font-weight=\"bold\">server :%d</text>\n",
	        SVG_XS, tr->port);
	for (int x = SVG_XC; x <= SVG_XS; x += SVG_XS - SVG_XC)
		fprintf(f,
		        "<line x1=\"%d\" y1=\"40\" x2=\"%d\" y2=\"%d\" "
		        "stroke=\"black\" stroke-width=\"2\"/>\n",
		        x, x, h - 20);
}

static void
svg_packet(FILE *f, const struct tt_trace *tr, const struct tt_event *e, int y)
{
	char fl[32], seq[24], ack[24] = "";
	tt_flags(e->flags, fl, sizeof(fl));
	tt_rel(tr, e->side, e->seq, seq, sizeof(seq));
	if (e->flags & TT_ACK)
		tt_rel(tr, !e->side, e->ack, ack, sizeof(ack));
	int x1 = e->side == TT_CLIENT ? SVG_XC : SVG_XS;
	int x2 = e->side == TT_CLIENT ? SVG_XS : SVG_XC;
	const char *color = e->flags & TT_RST ? "red" : "navy";
	fprintf(f,
	        "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
	        "stroke=\"%s\" marker-end=\"url(#a)\"/>\n",
	        x1, y - 8, x2, y + 8, color);
	fprintf(f,
	        "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
	        "fill=\"%s\">%s seq=%s%s%s%s</text>\n",
	        (SVG_XC + SVG_XS) / 2, y - 6, color, fl, seq,
	        ack[0] ? " ack=" : "", ack, e->len ? " (data)" : "");
}

static void
svg_state(FILE *f, const struct tt_event *e, int y)
{
	bool client = e->side == TT_CLIENT;
	fprintf(f,
	        "<text x=\"%d\" y=\"%d\" text-anchor=\"%s\" "
	        "fill=\"darkgreen\">%s%s</text>\n",
	        client ? SVG_XC - 10 : SVG_XS + 10, y + 4,
	        client ? "end" : "start", tt_shown_state(e),
	        e->sampled ? " (sampled)" : "");
}

int
tt_out_svg(const char *file, const struct tt_trace *tr)
{
	FILE *f = fopen(file, "we");
	if (!f)
		return -1;
	int h = SVG_TOP + (int)tr->n * SVG_STEP + 40;
	svg_head(f, tr, h);
	for (size_t i = 0; i < tr->n; i++) {
		const struct tt_event *e = &tr->ev[i];
		int y = SVG_TOP + (int)i * SVG_STEP;
		fprintf(f,
		        "<text x=\"10\" y=\"%d\" fill=\"gray\">%.3f "
		        "ms</text>\n",
		        y + 4, (e->t - tr->t0) * 1e3);
		if (e->kind == TT_PACKET)
			svg_packet(f, tr, e, y);
		else
			svg_state(f, e, y);
	}
	for (int s = 0; s < 2; s++)
		if (tr->tw_ms[s] >= 0)
			fprintf(f,
			        "<text x=\"%d\" y=\"%d\">TIME_WAIT: %.1f s "
			        "left</text>\n",
			        s == TT_CLIENT ? SVG_XC - 60 : SVG_XS - 60,
			        h - 8, tr->tw_ms[s] / 1000.0);
	fputs("</svg>\n", f);
	int bad = ferror(f);
	if (fclose(f) || bad) {
		errno = errno ? errno : EIO;
		return -1;
	}
	return 0;
}
