/*
 * tcptrace_out.c - how tcp-trace prints its timeline: one event a line
 * (milliseconds since the start, the side, a state change or a packet in
 * the notes' notation: seq=j, ack=j+1, with the absolute numbers beside),
 * then TIME_WAIT's remaining time; or the same as one JSON object.
 */
#include "cli.h"
#include "tcptrace.h"

#include <errno.h>
#include <string.h>

static const char *const out_side[] = {"client", "server"};

/* "SYN+ACK", "FIN+ACK", "RST", ... */
void
tt_flags(uint8_t f, char *buf, size_t size)
{
	static const struct {
		uint8_t bit;
		const char *name;
	} names[] = {{TT_SYN, "SYN"},
	             {TT_FIN, "FIN"},
	             {TT_RST, "RST"},
	             {TT_PSH, "PSH"},
	             {TT_ACK, "ACK"}};
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(f & names[i].bit))
			continue;
		if (buf[0])
			strncat(buf, "+", size - strlen(buf) - 1);
		strncat(buf, names[i].name, size - strlen(buf) - 1);
	}
}

/* v relative to side's ISN as the notes write it: "j", "k+1". */
void
tt_rel(const struct tt_trace *tr, int side, uint32_t v, char *buf, size_t size)
{
	char sym = side == TT_CLIENT ? 'j' : 'k';
	uint32_t d = v - tr->isn[side];
	if (!tr->have_isn[side])
		snprintf(buf, size, "%u", v);
	else if (d == 0)
		snprintf(buf, size, "%c", sym);
	else
		snprintf(buf, size, "%c+%u", sym, d);
}

/* The new state as shown: a hand-over to a timewait socket is TIME_WAIT. */
const char *
tt_shown_state(const struct tt_event *e)
{
	return e->timewait ? "TIME_WAIT" : tt_state_name(e->newst);
}

static void
out_state(FILE *f, const struct tt_event *e)
{
	fprintf(f, "%s -> %s",
	        e->oldst ? tt_state_name(e->oldst) : "(first seen)",
	        tt_shown_state(e));
	if (e->timewait)
		fputs("  (kernel: -> CLOSE, a timewait socket takes over)", f);
	if (e->sampled)
		fputs("  (sampled)", f);
}

static void
out_packet(FILE *f, const struct tt_trace *tr, const struct tt_event *e)
{
	char fl[32], seq[24], ack[24] = "";
	tt_flags(e->flags, fl, sizeof(fl));
	tt_rel(tr, e->side, e->seq, seq, sizeof(seq));
	if (e->flags & TT_ACK)
		tt_rel(tr, !e->side, e->ack, ack, sizeof(ack));
	fprintf(f, "--> %-8s seq=%-6s%s%-6s len=%-5u (seq %u", fl, seq,
	        ack[0] ? " ack=" : "     ", ack, e->len, e->seq);
	if (e->flags & TT_ACK)
		fprintf(f, " ack %u", e->ack);
	putc(')', f);
}

static void
out_timewait_text(FILE *f, const struct tt_trace *tr)
{
	int n = 0;
	for (int s = 0; s < 2; s++) {
		if (tr->tw_ms[s] < 0)
			continue;
		fprintf(f,
		        "TIME_WAIT: the %s's socket, %.1f s left at the end of "
		        "the trace (kernel timer, sock_diag)%s\n",
		        out_side[s], tr->tw_ms[s] / 1000.0,
		        tr->waited ? "; sat out" : "; --wait sits it out");
		n++;
	}
	if (!n)
		fputs("TIME_WAIT: none (no side closed with a FIN first, or "
		      "it was over)\n",
		      f);
}

static const char *
out_result(int err)
{
	return err ? strerror(-err) : "ok";
}

static void
out_restart_text(FILE *f, const struct tt_trace *tr)
{
	if (!tr->restarted)
		return;
	fprintf(f,
	        "restart: a new listener on port %d: without SO_REUSEADDR: "
	        "%s; with SO_REUSEADDR: %s\n",
	        tr->port, out_result(tr->restart[0]),
	        out_result(tr->restart[1]));
	if (tr->restart[0] == -EADDRINUSE && tr->tw_ms[TT_SERVER] >= 0)
		fputs("restart: the server's end of the old connection holds "
		      "the port in TIME_WAIT; SO_REUSEADDR lets a listener "
		      "bind beside it\n",
		      f);
}

void
tt_out_event(FILE *f, const struct tt_trace *tr, const struct tt_event *e)
{
	fprintf(f, "%10.3f  %-6s  ", (e->t - tr->t0) * 1e3, out_side[e->side]);
	if (e->kind == TT_STATE)
		out_state(f, e);
	else
		out_packet(f, tr, e);
	putc('\n', f);
}

void
tt_out_text(FILE *f, const struct tt_trace *tr)
{
	fprintf(f,
	        "tcp-trace: %s port %d (client) -> port %d (server); "
	        "states: %s; packets: %s\n",
	        tr->v6 ? "::1" : "127.0.0.1", tr->cport, tr->port, tr->states,
	        tr->packets ? "libpcap on lo" : "none");
	fprintf(f, "%10s  %-6s  %s\n", "ms", "side", "event");
	for (size_t i = 0; i < tr->n; i++)
		tt_out_event(f, tr, &tr->ev[i]);
	if (!tr->packets)
		fprintf(f, "packets: not captured: %s\n", tr->nopkt);
	out_timewait_text(f, tr);
	out_restart_text(f, tr);
}

static void
out_json_event(FILE *f, const struct tt_trace *tr, const struct tt_event *e)
{
	fprintf(f, "{\"t_ms\":%.3f,\"side\":\"%s\",", (e->t - tr->t0) * 1e3,
	        out_side[e->side]);
	if (e->kind == TT_STATE) {
		fprintf(f,
		        "\"type\":\"state\",\"old\":\"%s\",\"new\":\"%s\","
		        "\"sampled\":%s,\"kernel_new\":\"%s\"}",
		        e->oldst ? tt_state_name(e->oldst) : "",
		        tt_shown_state(e), e->sampled ? "true" : "false",
		        tt_state_name(e->newst));
		return;
	}
	char fl[32], seq[24], ack[24] = "";
	tt_flags(e->flags, fl, sizeof(fl));
	tt_rel(tr, e->side, e->seq, seq, sizeof(seq));
	tt_rel(tr, !e->side, e->ack, ack, sizeof(ack));
	fprintf(f,
	        "\"type\":\"packet\",\"flags\":\"%s\",\"seq\":%u,"
	        "\"ack\":%u,\"len\":%u,\"rel_seq\":\"%s\",\"rel_ack\":",
	        fl, e->seq, e->ack, e->len, seq);
	if (e->flags & TT_ACK)
		fprintf(f, "\"%s\"}", ack);
	else
		fputs("null}", f);
}

void
tt_out_json(FILE *f, const struct tt_trace *tr)
{
	fprintf(f,
	        "{\"address\":\"%s\",\"port\":%d,\"client_port\":%d,"
	        "\"states\":\"%s\",\"packets\":",
	        tr->v6 ? "::1" : "127.0.0.1", tr->port, tr->cport, tr->states);
	if (tr->packets)
		fprintf(f, "\"%s\"", tr->packets);
	else
		fputs("null", f);
	fputs(",\"isn\":{", f);
	for (int s = 0; s < 2; s++)
		if (tr->have_isn[s])
			fprintf(f, "%s\"%s\":%u",
			        s && tr->have_isn[0] ? "," : "", out_side[s],
			        tr->isn[s]);
	fputs("},\"events\":[", f);
	for (size_t i = 0; i < tr->n; i++) {
		fputs(i ? ",\n" : "\n", f);
		out_json_event(f, tr, &tr->ev[i]);
	}
	fputs("],\n\"time_wait\":", f);
	putc('[', f);
	for (int s = 0, n = 0; s < 2; s++)
		if (tr->tw_ms[s] >= 0)
			fprintf(f, "%s{\"side\":\"%s\",\"remaining_ms\":%lld}",
			        n++ ? "," : "", out_side[s], tr->tw_ms[s]);
	putc(']', f);
	if (tr->restarted)
		fprintf(f,
		        ",\n\"restart\":{\"without_reuseaddr\":\"%s\","
		        "\"with_reuseaddr\":\"%s\"}",
		        out_result(tr->restart[0]), out_result(tr->restart[1]));
	fputs("}\n", f);
}
