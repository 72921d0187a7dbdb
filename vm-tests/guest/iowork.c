/* vm-tests/guest/iowork.c - deterministic I/O workload for the VM suite.
 * Built on the host by vm-tests/run with `gcc -static -O2` and installed in the guest as
 * /vm-tests/bin/iowork (every *.c in vm-tests/guest/ becomes /vm-tests/bin/<name>).
 *
 *   iowork OP PATH COUNT SIZE [FLAG...]
 *     OP:    write | pwrite | pwritev2 | read | pread | preadv2 | copy_file_range | splice |
 *            aio_pread | uring_readv
 *            (the copies read PATH and write PATH.OP: copy_file_range directly, splice
 *            through a pipe, one call each way per SIZE; aio_pread: Linux AIO, each iocb
 *            submitted with io_submit and reaped with io_getevents before the next;
 *            uring_readv: one IORING_OP_READV (5.1) per SIZE through a ring of one entry,
 *            each submitted and waited for with one io_uring_enter; exit status 3 where
 *            the kernel has no io_uring)
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
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* An io_uring of one entry, by hand (no liburing in the guest). */
struct ring {
	int fd;
	unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static void *ring_map(int fd, size_t len, off_t what)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, what);
	return p == MAP_FAILED ? NULL : p;
}

static int ring_setup(struct ring *r)
{
	struct io_uring_params p;
	char *sq, *cq;

	memset(&p, 0, sizeof(p));
	if ((r->fd = syscall(SYS_io_uring_setup, 1, &p)) < 0)
		return -1;
	sq = ring_map(r->fd, p.sq_off.array + p.sq_entries * sizeof(unsigned), IORING_OFF_SQ_RING);
	cq = ring_map(r->fd, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe), IORING_OFF_CQ_RING);
	r->sqes = ring_map(r->fd, p.sq_entries * sizeof(struct io_uring_sqe), IORING_OFF_SQES);
	if (!sq || !cq || !r->sqes)
		return -1;
	r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)(sq + p.sq_off.array);
	r->cq_head = (unsigned *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/* One IORING_OP_READV of iov at off, submitted and waited for: its result. */
static long ring_readv(struct ring *r, int fd, struct iovec *iov, off_t off)
{
	unsigned tail = *r->sq_tail, i = tail & *r->sq_mask, head;
	struct io_uring_sqe *sqe = &r->sqes[i];
	long res;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_READV;
	sqe->fd = fd;
	sqe->addr = (unsigned long)iov;
	sqe->len = 1;
	sqe->off = off;
	r->sq_array[i] = i;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(SYS_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) != 1)
		return -1;
	head = *r->cq_head;
	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return -1;
	res = r->cqes[head & *r->cq_mask].res;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

static int usage(void)
{
	fprintf(stderr, "usage: iowork write|pwrite|pwritev2|read|pread|preadv2|copy_file_range|splice|aio_pread|uring_readv|mmap PATH COUNT SIZE "
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
	    strcmp(op, "read") && strcmp(op, "pread") && strcmp(op, "preadv2") && strcmp(op, "aio_pread") &&
	    strcmp(op, "uring_readv") && strcmp(op, "mmap") && !copy))
		return usage();

	char *buf;
	if (posix_memalign((void **)&buf, 4096, size)) { perror("posix_memalign"); return 1; }
	memset(buf, 'i', size);
	int fd = open(path, is_write ? (O_WRONLY | O_CREAT | O_TRUNC | flags) : (O_RDONLY | flags), 0644);
	if (fd < 0) { fprintf(stderr, "open %s: %s\n", path, strerror(errno)); return 1; }
	int out = -1, p[2] = { -1, -1 };
	aio_context_t ctx = 0;
	if (!strcmp(op, "aio_pread") && syscall(SYS_io_setup, 1, &ctx)) { perror("io_setup"); return 1; }
	struct ring ring = { .fd = -1 };
	if (!strcmp(op, "uring_readv") && ring_setup(&ring)) {
		if (errno == ENOSYS) { printf("IOWORK op=%s unsupported\n", op); return 3; }
		perror("io_uring_setup");
		return 1;
	}
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
		else if (!strcmp(op, "uring_readv")) r = ring_readv(&ring, fd, &iov, off);
		else if (!strcmp(op, "mmap")) {
			/* a shared read-only map of each block, touched and dropped */
			volatile char *m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, off);
			r = m == MAP_FAILED ? -1 : (m[0], munmap((void *)m, size) ? -1 : size);
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
	if (ring.fd >= 0) close(ring.fd);
	printf("IOWORK op=%s calls=%ld bytes=%lld pid=%d\n", op, calls, bytes, (int)getpid());
	return 0;
}
