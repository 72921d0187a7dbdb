/*
 * preads.c - a 4 KiB random pread64 (or pwrite64) loop for scripts/bench.d/pair
 * (compiled there with gcc).
 *
 *   preads FILE SECONDS [write]
 *
 * Waits for one byte on stdin (the gate: the tracers attach before it runs),
 * then reads (writes) 4 KiB at random 4 KiB-aligned offsets of FILE for
 * SECONDS. Prints "OPS ELAPSED_SECONDS" on stdout. Exits 1 with one line on
 * stderr on error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096
#define CHECK_EVERY 256

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "preads: %s: %s\n", what, errno ? strerror(errno) : "unexpected");
	exit(1);
}

int main(int argc, char **argv)
{
	static char buf[BLOCK];
	unsigned long ops = 0, x = 88172645463325252UL; /* xorshift64 */
	int write_mode = argc == 4 && !strcmp(argv[3], "write");
	double seconds, start, elapsed;
	off_t blocks;
	char gate;
	int fd;

	if (argc != 3 && !write_mode) {
		fprintf(stderr, "usage: preads FILE SECONDS [write]\n");
		return 2;
	}
	seconds = atof(argv[2]);
	fd = open(argv[1], write_mode ? O_RDWR : O_RDONLY);
	if (fd < 0)
		die(argv[1]);
	blocks = lseek(fd, 0, SEEK_END) / BLOCK;
	if (blocks <= 0)
		die("file smaller than 4 KiB");
	if (read(0, &gate, 1) != 1)
		die("gate");
	start = now();
	do {
		for (int i = 0; i < CHECK_EVERY; i++) {
			off_t off;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			off = (off_t)(x % blocks) * BLOCK;
			if ((write_mode ? pwrite(fd, buf, BLOCK, off) : pread(fd, buf, BLOCK, off)) != BLOCK)
				die(write_mode ? "pwrite" : "pread");
		}
		ops += CHECK_EVERY;
		elapsed = now() - start;
	} while (elapsed < seconds);
	printf("%lu %.3f\n", ops, elapsed);
	return 0;
}
