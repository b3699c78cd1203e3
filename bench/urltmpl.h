/*
 * urltmpl.h - fills the placeholders of the URL templates of
 * bench/targets.h and tests/contract_urls.h: {path}, {key} and {port}.
 */
#ifndef IPK_URLTMPL_H
#define IPK_URLTMPL_H

#include <stdio.h>
#include <string.h>

/* 0, or -1 when the result does not fit out (out is then ""). */
static inline int
url_template(const char *tmpl, char *out, size_t size, const char *path,
             long key, int port)
{
	char k[24], p[8];
	snprintf(k, sizeof(k), "%ld", key);
	snprintf(p, sizeof(p), "%d", port);
	size_t o = 0;
	for (const char *s = tmpl; s && *s;) {
		const char *rep = NULL;
		size_t skip = 1;
		if (!strncmp(s, "{path}", 6))
			rep = path, skip = 6;
		else if (!strncmp(s, "{key}", 5))
			rep = k, skip = 5;
		else if (!strncmp(s, "{port}", 6))
			rep = p, skip = 6;
		size_t n = rep ? strlen(rep) : 1;
		if (o + n >= size) {
			out[0] = '\0';
			return -1;
		}
		memcpy(out + o, rep ? rep : s, n);
		o += n;
		s += skip;
	}
	out[o] = '\0';
	return 0;
}

#endif
