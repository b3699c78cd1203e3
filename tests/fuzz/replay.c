/*
 * replay.c - main() of a fuzz target built without libFuzzer: runs the
 * target once on every file named, or in a directory named, on the
 * command line.  CTest runs it on tests/fuzz/corpus/<target>/, so every
 * seed and every committed crash reproducer is checked in `make test`.
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	static uint8_t buf[FUZZ_MAX_INPUT + 1];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	/* A copy of exactly n bytes, so ASan sees reads past the input. */
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		return -1;
	memcpy(copy, buf, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	return 1;
}

static int
replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	int count = 0;
	struct dirent *e;
	char path[4096];
	while ((e = readdir(d)) != NULL && count >= 0) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		int rc = replay_file(path);
		count = rc < 0 ? rc : count + rc;
	}
	closedir(d);
	return count;
}

int
main(int argc, char **argv)
{
	int total = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int rc = stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)
		                 ? replay_dir(argv[i])
		                 : replay_file(argv[i]);
		if (rc < 0)
			return 1;
		total += rc;
	}
	printf("%s: %d inputs replayed\n", argv[0], total);
	return total > 0 ? 0 : 1; /* an empty corpus is a mistake */
}
