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
