/*
 * url_test.c - URL parsing and the options every channel has: unknown
 * schemes, unknown options and malformed values are errors, never
 * ignored (CLI-01's parser half).
 */
#include "core/core.h"
#include "helpers.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

Test(url, splits_scheme_rest_query)
{
	struct ipk_url u;
	cr_assert_eq(ipk__url_parse("fifo:/run/x?mode=0640&raw&max=10", &u), 0);
	cr_assert_str_eq(u.scheme, "fifo");
	cr_assert_str_eq(u.rest, "/run/x");
	cr_assert_eq(u.nq, 3);
	cr_assert_str_eq(ipk__url_get(&u, "mode"), "0640");
	cr_assert_str_eq(ipk__url_get(&u, "raw"), "");
	cr_assert_null(ipk__url_get(&u, "keep"));
	long long n = 0;
	cr_assert_eq(ipk__url_num(&u, "max", 0, 100, &n), 1);
	cr_assert_eq(n, 10);
	cr_assert_eq(ipk__url_num(&u, "mode", 0, 0777, &n), 1);
	cr_assert_eq(n, 0640);
	ipk__url_free(&u);
}

Test(url, strips_double_slash)
{
	struct ipk_url u;
	cr_assert_eq(ipk__url_parse("tcp://127.0.0.1:9000", &u), 0);
	cr_assert_str_eq(u.rest, "127.0.0.1:9000");
	ipk__url_free(&u);
	cr_assert_eq(ipk__url_parse("pipe:", &u), 0);
	cr_assert_str_eq(u.rest, "");
	ipk__url_free(&u);
}

Test(url, rejects_malformed)
{
	static const char *const bad[] = {
	        "",           "noscheme",    ":rest",
	        "FIFO:/x",    "fi fo:/x",    "fifo:/x?&a",
	        "fifo:/x?=1", "fifo:/x?a&a", "fifo:/x?a=1&&b",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ipk_url u;
		cr_expect_eq(ipk__url_parse(bad[i], &u), -EINVAL, "%s", bad[i]);
	}
}

Test(url, rejects_huge_and_many)
{
	static char big[70000];
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "fifo:/", 6);
	struct ipk_url u;
	cr_assert_eq(ipk__url_parse(big, &u), -EINVAL);
	char many[512] = "fifo:/x?";
	for (int i = 0; i < IPK_URL_MAXQ + 1; i++)
		sprintf(many + strlen(many), "%sk%d", i ? "&" : "", i);
	cr_assert_eq(ipk__url_parse(many, &u), -EINVAL);
}

Test(url, numbers_checked)
{
	struct ipk_url u;
	long long n = 7;
	cr_assert_eq(
	        ipk__url_parse("x:?a=12x&b=&c=99999999999999999999&d=-1", &u),
	        0);
	cr_assert_eq(ipk__url_num(&u, "a", 0, 100, &n), -EINVAL);
	cr_assert_eq(ipk__url_num(&u, "b", 0, 100, &n), -EINVAL);
	cr_assert_eq(ipk__url_num(&u, "c", 0, 100, &n), -EINVAL);
	cr_assert_eq(ipk__url_num(&u, "d", 0, 100, &n), -EINVAL);
	cr_assert_eq(ipk__url_num(&u, "zz", 0, 100, &n), 0);
	cr_assert_eq(n, 7);
	ipk__url_free(&u);
}

Test(url, channel_options_refused_when_wrong)
{
	static const char *const bad[] = {
	        "fifo:/tmp/ipk-u?mode=0999",
	        "fifo:/tmp/ipk-u?mode=04600",
	        "fifo:/tmp/ipk-u?max=-1",
	        "fifo:/tmp/ipk-u?max=18446744073709551616",
	        "fifo:/tmp/ipk-u?raw=2",
	        "fifo:/tmp/ipk-u?bogus",
	        "fifo:/tmp/ipk-u?timeout=x",
	        "pipe:?atomic=yes",
	        "pipe:extra",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ipk_chan *a = NULL, *b = NULL;
		int rc = strncmp(bad[i], "pipe", 4) ? ipk_listen(bad[i], &a)
		                                    : ipk_pair(bad[i], &a, &b);
		cr_expect_eq(rc, -EINVAL, "%s gave %d", bad[i], rc);
		cr_expect_null(a);
		ipk_close(a);
		ipk_close(b);
	}
}

Test(url, unknown_scheme)
{
	ipk_chan *c = (ipk_chan *)1;
	cr_assert_eq(ipk_listen("carrier-pigeon:/x", &c), -EPROTONOSUPPORT);
	cr_assert_null(c);
	cr_assert_eq(ipk_dial(NULL, &c), -EINVAL);
	cr_assert_eq(ipk_pair("fifo:/x", &c, &c), -ENOTSUP);
}

Test(url, strerror_covers_everything)
{
	cr_assert_str_eq(ipk_strerror(-EMSGSIZE), "Message too long");
	cr_assert_str_eq(ipk_strerror(0), "Success");
	cr_assert_not_null(ipk_strerror(-100000));
	cr_assert_not_null(ipk_strerror(100000));
}

/* Ports out of 0..65535 or not numbers: -EINVAL at once, for both calls. */
Test(url, ports_checked_tcp_udp)
{
	static const char *const ports[] = {
	        "99999", "65536", "-1",   "80x",        "",
	        "+80",   " 80",   "0x50", "4294967377", /* 2^32 + 81: must not
	                                                   wrap to 81 */
	};
	static const char *const schemes[] = {"tcp", "udp"};
	for (size_t s = 0; s < 2; s++)
		for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
			char u[128];
			snprintf(u, sizeof(u), "%s://127.0.0.1:%s?timeout=5000",
			         schemes[s], ports[i]);
			ipk_chan *c = NULL;
			long long t0 = th_now_ms();
			int rc = ipk_dial(u, &c);
			cr_expect_eq(rc, -EINVAL, "dial %s: %s", u,
			             ipk_strerror(rc));
			cr_expect_lt(th_now_ms() - t0, 1000, "dial %s waited",
			             u);
			cr_expect_null(c);
			snprintf(u, sizeof(u), "%s://127.0.0.1:%s", schemes[s],
			         ports[i]);
			rc = ipk_listen(u, &c);
			cr_expect_eq(rc, -EINVAL, "listen %s: %s", u,
			             ipk_strerror(rc));
			cr_expect_null(c);
			ipk_close(c);
			cr_expect_eq(ipk_url_check(u, NULL, 0), -EINVAL, "%s",
			             u);
		}
}

Test(url, port_bounds_accepted)
{
	ipk_chan *l = NULL;
	cr_assert_eq(ipk_listen("tcp://127.0.0.1:0", &l), 0);
	ipk_close(l);
	cr_expect_eq(ipk_url_check("tcp://127.0.0.1:65535", NULL, 0), 0);
	cr_expect_eq(ipk_url_check("udp://127.0.0.1:0", NULL, 0), 0);
}

Test(url, unresolvable_host_is_enxio)
{
	static const char *const urls[] = {
	        "tcp://no-such-host.invalid:80",
	        "udp://no-such-host.invalid:80",
	};
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		ipk_chan *c = NULL;
		char u[128];
		snprintf(u, sizeof(u), "%s?timeout=0", urls[i]);
		int rc = ipk_dial(u, &c);
		cr_expect_eq(rc, -ENXIO, "dial %s: %s", u, ipk_strerror(rc));
		cr_expect_null(c);
		rc = ipk_listen(urls[i], &c);
		cr_expect_eq(rc, -ENXIO, "listen %s: %s", urls[i],
		             ipk_strerror(rc));
		cr_expect_null(c);
	}
}
