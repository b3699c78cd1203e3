/*
 * sysinfo.c - the machine a run measured: CPU model, kernel, CPUs, load
 * average and the jiffies of /proc/stat at start and end, from which the
 * steal time and the CPU other processes took during the run follow.
 */
#include "run.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void
sys_cpu_model(char *out, size_t n)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];
	snprintf(out, n, "unknown CPU");
	while (f && fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ':');
		if (strncmp(line, "model name", 10) || !v)
			continue;
		v += strspn(v + 1, " ") + 1;
		v[strcspn(v, "\n")] = '\0';
		snprintf(out, n, "%s", v);
		break;
	}
	if (f)
		fclose(f);
}

static void
sys_stat(struct bench_machine *m)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "r");
	if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	                &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) >= 4) {
		m->busy = v[0] + v[1] + v[2] + v[5] + v[6];
		m->steal = v[7];
		m->total = m->busy + v[3] + v[4] + v[7];
	}
	if (f)
		fclose(f);
}

void
bench_machine(struct bench_machine *m)
{
	struct utsname u;
	memset(m, 0, sizeof(*m));
	sys_cpu_model(m->cpu, sizeof(m->cpu));
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof(m->kernel), "%s %s %s", u.sysname,
		         u.release, u.machine);
	m->ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	FILE *f = fopen("/proc/loadavg", "r");
	if (!f || fscanf(f, "%lf %lf %lf", &m->load[0], &m->load[1],
	                 &m->load[2]) != 3)
		m->load[0] = m->load[1] = m->load[2] = -1;
	if (f)
		fclose(f);
	sys_stat(m);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	m->at = ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU seconds of this process and all its reaped children. */
static double
sys_our_cpu(void)
{
	struct rusage a, b;
	getrusage(RUSAGE_SELF, &a);
	getrusage(RUSAGE_CHILDREN, &b);
	return a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec +
	       b.ru_stime.tv_sec +
	       (a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec +
	        b.ru_stime.tv_usec) /
	               1e6;
}

void
bench_conditions(struct bench_report *rep)
{
	const struct bench_machine *a = &rep->start, *b = &rep->end;
	double hz = (double)sysconf(_SC_CLK_TCK), wall = b->at - a->at;
	double total = (double)(b->total - a->total);
	rep->seconds = wall;
	rep->steal_pct = total > 0 ? (b->steal - a->steal) / total * 100 : 0;
	double others = (b->busy - a->busy) / hz - sys_our_cpu();
	rep->others_pct =
	        wall > 0 && a->ncpu > 0 ? others / (wall * a->ncpu) * 100 : 0;
	if (rep->others_pct < 0)
		rep->others_pct = 0;
	const char *why = a->load[0] >= 0.5      ? "load average"
	                  : rep->others_pct > 10 ? "other processes"
	                  : rep->steal_pct > 2   ? "steal time"
	                                         : NULL;
	if (why)
		snprintf(rep->warn, sizeof(rep->warn),
		         "warning: the machine was busy (%s: load %.2f at "
		         "start, "
		         "%.2f at end; other processes %.0f%% of the CPUs; "
		         "steal %.1f%%): expect noise",
		         why, a->load[0], b->load[0], rep->others_pct,
		         rep->steal_pct);
}

const char *
bench_describe(const struct bench_report *rep, char *buf, size_t n)
{
	const struct bench_machine *m = &rep->start;
	char t[32], pin[64];
	time_t at = (time_t)m->at;
	strftime(t, sizeof(t), "%Y-%m-%d %H:%M UTC", gmtime(&at));
	if (rep->cpu_a == rep->cpu_b)
		snprintf(pin, sizeof(pin), "SAME CPU: both processes on CPU %d",
		         rep->cpu_a);
	else
		snprintf(pin, sizeof(pin), "driver on CPU %d, server on CPU %d",
		         rep->cpu_a, rep->cpu_b);
	snprintf(buf, n,
	         "%s; %s; %d CPUs; %s; %s.\nLoad %.2f at start, %.2f at end; "
	         "steal %.1f%%; other processes %.0f%% of the CPUs; %.1f s; "
	         "%d repeat(s).",
	         m->cpu, m->kernel, m->ncpu, t, pin, m->load[0],
	         rep->end.load[0], rep->steal_pct, rep->others_pct,
	         rep->seconds, rep->p.repeat);
	return buf;
}
