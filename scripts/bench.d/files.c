/*
 * files.c - many-files workload for scripts/bench (compiled there with gcc).
 *
 *   files DIR NFILES BYTES SECONDS
 *
 * Cycles over NFILES files DIR/dNNN/fNNNNNN (1000 per directory; DIR and
 * the directories are created when missing): open(O_WRONLY|O_CREAT|O_TRUNC),
 * write BYTES bytes, close. With SECONDS > 0 it keeps cycling until SECONDS
 * have passed (checked every 64 files); with SECONDS = 0 it does exactly one
 * pass. Prints "FILES ELAPSED_SECONDS" on stdout: files opened, written and
 * closed, and the time that took. Exits 1 with one line on stderr on error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FILES_PER_DIR 1000
#define CHECK_EVERY 64

static void die(const char *what, const char *path)
{
	fprintf(stderr, "files: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void make_dirs(const char *dir, long nfiles)
{
	char path[PATH_MAX];

	if (mkdir(dir, 0755) && errno != EEXIST)
		die("cannot create", dir);
	for (long d = 0; d * FILES_PER_DIR < nfiles; d++) {
		snprintf(path, sizeof(path), "%s/d%03ld", dir, d);
		if (mkdir(path, 0755) && errno != EEXIST)
			die("cannot create", path);
	}
}

static void write_file(const char *dir, long i, const char *buf, size_t bytes)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/d%03ld/f%06ld", dir, i / FILES_PER_DIR, i);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("cannot open", path);
	if (write(fd, buf, bytes) != (ssize_t)bytes)
		die("cannot write", path);
	if (close(fd))
		die("cannot close", path);
}

int main(int argc, char **argv)
{
	long nfiles, done = 0;
	size_t bytes;
	double seconds, start, elapsed;
	char *buf;

	if (argc != 5) {
		fprintf(stderr, "usage: files DIR NFILES BYTES SECONDS\n");
		return 2;
	}
	nfiles = atol(argv[2]);
	bytes = strtoul(argv[3], NULL, 10);
	seconds = atof(argv[4]);
	if (nfiles <= 0 || bytes == 0) {
		fprintf(stderr, "files: NFILES and BYTES must be positive\n");
		return 2;
	}
	buf = malloc(bytes);
	if (!buf)
		die("cannot allocate", "buffer");
	memset(buf, 'x', bytes);
	make_dirs(argv[1], nfiles);

	start = now();
	for (;;) {
		write_file(argv[1], done % nfiles, buf, bytes);
		done++;
		if (seconds == 0 && done == nfiles)
			break;
		if (seconds > 0 && done % CHECK_EVERY == 0 && now() - start >= seconds)
			break;
	}
	elapsed = now() - start;
	printf("%ld %.6f\n", done, elapsed);
	return 0;
}
