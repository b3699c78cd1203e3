/*
 * sysvkey.h - the KEY of a System V URL ("sysvmsg:KEY", "sysvsem:KEY",
 * "sysvshm:KEY"), parsed once for every SysV mechanism (sysvkey.c).
 */
#ifndef IPK_SYSVKEY_H
#define IPK_SYSVKEY_H

#include <sys/types.h>

/*
 * "0x1234", "4660", "-5", "IPC_PRIVATE" (or 0), or "path:proj" (ftok, proj
 * 1 to 255) into *out: 0, -EINVAL, -ENAMETOOLONG, or ftok's -errno.
 */
int ipk__sysv_key(const char *rest, key_t *out);

#endif
