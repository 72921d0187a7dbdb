/* vm-tests/guest/iowork.c - deterministic I/O workload for the VM suite.
 * Built on the host by vm-tests/run with `gcc -static -O2` and installed in the guest as
 * /vm-tests/bin/iowork (every *.c in vm-tests/guest/ becomes /vm-tests/bin/<name>).
 *
 *   iowork OP PATH COUNT SIZE [FLAG...]
 *     OP:    write | pwrite | pwritev2 | read | pread | preadv2 | copy_file_range | splice |
 *            aio_pread
 *            (the copies read PATH and write PATH.OP: copy_file_range directly, splice
 *            through a pipe, one call each way per SIZE; aio_pread: Linux AIO, each iocb
 *            submitted with io_submit and reaped with io_getevents before the next)
 *     FLAG:  fsync (fsync once at the end), direct (O_DIRECT), sync (O_SYNC)
 *
 * Issues exactly COUNT syscalls of SIZE bytes at consecutive offsets (writes create/truncate
 * PATH) and prints one line: IOWORK op=OP calls=N bytes=B pid=P
 * Exit status 1 on any short or failed call, so record tests can trust the counts. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/aio_abi.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: iowork write|pwrite|pwritev2|read|pread|preadv2|copy_file_range|splice|aio_pread PATH COUNT SIZE "
			"[fsync|direct|sync]...\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 5)
		return usage();
	const char *op = argv[1], *path = argv[2];
	long count = atol(argv[3]), size = atol(argv[4]);
	int do_fsync = 0, flags = 0;
	for (int i = 5; i < argc; i++) {
		if (!strcmp(argv[i], "fsync")) do_fsync = 1;
		else if (!strcmp(argv[i], "direct")) flags |= O_DIRECT;
		else if (!strcmp(argv[i], "sync")) flags |= O_SYNC;
		else return usage();
	}
	int is_write = strstr(op, "write") != NULL;
	int copy = !strcmp(op, "copy_file_range") || !strcmp(op, "splice");
	if (count < 0 || size <= 0 || (strcmp(op, "write") && strcmp(op, "pwrite") && strcmp(op, "pwritev2") &&
	    strcmp(op, "read") && strcmp(op, "pread") && strcmp(op, "preadv2") && strcmp(op, "aio_pread") && !copy))
		return usage();

	char *buf;
	if (posix_memalign((void **)&buf, 4096, size)) { perror("posix_memalign"); return 1; }
	memset(buf, 'i', size);
	int fd = open(path, is_write ? (O_WRONLY | O_CREAT | O_TRUNC | flags) : (O_RDONLY | flags), 0644);
	if (fd < 0) { fprintf(stderr, "open %s: %s\n", path, strerror(errno)); return 1; }
	int out = -1, p[2] = { -1, -1 };
	aio_context_t ctx = 0;
	if (!strcmp(op, "aio_pread") && syscall(SYS_io_setup, 1, &ctx)) { perror("io_setup"); return 1; }
	if (copy) {
		char to[4096];
		snprintf(to, sizeof(to), "%s.%s", path, op);
		out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (out < 0 || pipe(p)) { fprintf(stderr, "open %s / pipe: %s\n", to, strerror(errno)); return 1; }
	}

	long long bytes = 0;
	long calls = 0;
	for (long i = 0; i < count; i++) {
		off_t off = (off_t)i * size;
		struct iovec iov = { buf, (size_t)size };
		ssize_t r;
		if (!strcmp(op, "write")) r = write(fd, buf, size);
		else if (!strcmp(op, "pwrite")) r = pwrite(fd, buf, size, off);
		else if (!strcmp(op, "pwritev2")) r = syscall(SYS_pwritev2, fd, &iov, 1, (long)off, 0L, 0);
		else if (!strcmp(op, "read")) r = read(fd, buf, size);
		else if (!strcmp(op, "pread")) r = pread(fd, buf, size, off);
		else if (!strcmp(op, "preadv2")) r = syscall(SYS_preadv2, fd, &iov, 1, (long)off, 0L, 0);
		else if (!strcmp(op, "copy_file_range")) r = syscall(SYS_copy_file_range, fd, NULL, out, NULL, size, 0);
		else if (!strcmp(op, "aio_pread")) {
			struct iocb cb = { .aio_lio_opcode = IOCB_CMD_PREAD, .aio_fildes = (unsigned)fd,
					   .aio_buf = (unsigned long)buf, .aio_nbytes = (unsigned long)size, .aio_offset = off };
			struct iocb *one = &cb;
			struct io_event ev;
			r = syscall(SYS_io_submit, ctx, 1L, &one) == 1 && syscall(SYS_io_getevents, ctx, 1L, 1L, &ev, NULL) == 1
				? ev.res : -1;
		}
		else if ((r = syscall(SYS_splice, fd, NULL, p[1], NULL, size, 0)) == size)
			r = syscall(SYS_splice, p[0], NULL, out, NULL, size, 0);
		calls++;
		if (r != size) {
			fprintf(stderr, "%s #%ld: %zd (%s)\n", op, i, r, r < 0 ? strerror(errno) : "short");
			return 1;
		}
		bytes += r;
	}
	if (do_fsync && fsync(fd)) { perror("fsync"); return 1; }
	close(fd);
	if (copy && (close(out) || close(p[0]) || close(p[1]))) { perror("close"); return 1; }
	if (ctx && syscall(SYS_io_destroy, ctx)) { perror("io_destroy"); return 1; }
	printf("IOWORK op=%s calls=%ld bytes=%lld pid=%d\n", op, calls, bytes, (int)getpid());
	return 0;
}
