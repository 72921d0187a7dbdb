/* tests/workloads/ia32.c - a 64-bit program that does its file I/O through the 32-bit syscall
 * ABI (int $0x80: ia32 numbers, arguments in ebx..ebp, 32-bit pointers, 64-bit offsets split in
 * two registers, struct compat_iovec, compat_off_t), as tests/record_syscalls.rs expects it.
 *
 *   ia32 DIR
 *
 * On DIR/a: open; write 3 x 1000; pwrite64 1000 at 3000 (the write run goes on); pwrite64 1000
 * at 5 GiB (the offset's high half); _llseek to 5 GiB + 1000 and writev 2 x 500 (compat iovecs:
 * the run goes on only if 5 GiB was read whole); fsync; fdatasync; pread64 2000 at 0; preadv
 * 2 x 500 at 2000; Linux AIO: one IOCB_CMD_PREAD of 100 at 0 (io_submit's 32-bit iocb pointers);
 * mmap2 4096 shared, read-only (counted as mmap), and old_mmap (90: its arguments in a struct,
 * not seen) 8192 private.
 * On DIR/b (openat): sendfile 300 of a from offset 100 (compat_off_t *), sendfile64 200 from
 * 1000 (loff_t *), copy_file_range 100 from a at 4000. Then both closed.
 * Exit status 1 on any failed or short call (its name on stderr), 2 on usage. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* asm/unistd_32.h */
enum {
	NR_read = 3, NR_write = 4, NR_open = 5, NR_close = 6, NR_llseek = 140, NR_fsync = 118, NR_writev = 146,
	NR_fdatasync = 148, NR_pread64 = 180, NR_pwrite64 = 181, NR_sendfile = 187, NR_sendfile64 = 239,
	NR_io_setup = 245, NR_io_getevents = 247, NR_io_submit = 248, NR_openat = 295, NR_preadv = 333,
	NR_copy_file_range = 377, NR_old_mmap = 90, NR_mmap2 = 192,
};

#define O_LARGEFILE32 0100000 /* x86's; implied in 64-bit syscalls */
#define GIB5 (5ULL << 30)

static long sys32(long nr, long a, long b, long c, long d, long e, long f)
{
	long ret;

	/* ebp carries the sixth argument: saved around the call, being the frame pointer */
	asm volatile("push %%rbp\n\tmov %7, %%rbp\n\tint $0x80\n\tpop %%rbp"
		     : "=a"(ret)
		     : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e), "r"(f)
		     : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

static int failed;

static long check(const char *what, long got, long want)
{
	if (got != want) {
		fprintf(stderr, "%s: %ld, expected %ld\n", what, got, want);
		failed = 1;
	}
	return got;
}

static long fd_of(const char *what, long fd)
{
	if (fd < 0) {
		fprintf(stderr, "%s: %ld\n", what, fd);
		failed = 1;
	}
	return fd;
}

/* Everything a 32-bit syscall points at lives below 4 GiB. */
struct low {
	char a[4096], b[4096];
	char buf[8192];
	uint32_t iov[4]; /* struct compat_iovec[2] */
	int32_t off32;
	int64_t off64, off_in, pos;
	uint32_t ctx, iocbp;
	struct iocb cb;
	struct io_event ev;
	uint32_t old_mmap[6]; /* struct mmap_arg_struct32 */
};

int main(int argc, char **argv)
{
	if (argc != 2)
		return fprintf(stderr, "usage: ia32 DIR\n"), 2;
	struct low *m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (m == MAP_FAILED)
		return perror("mmap MAP_32BIT"), 1;
	snprintf(m->a, sizeof(m->a), "%s/a", argv[1]);
	snprintf(m->b, sizeof(m->b), "%s/b", argv[1]);
	memset(m->buf, 'x', sizeof(m->buf));
	long buf = (long)m->buf;

	long a = fd_of("open", sys32(NR_open, (long)m->a, O_RDWR | O_CREAT | O_TRUNC | O_LARGEFILE32, 0644, 0, 0, 0));
	for (int i = 0; i < 3; i++)
		check("write", sys32(NR_write, a, buf, 1000, 0, 0, 0), 1000);
	check("pwrite64 3000", sys32(NR_pwrite64, a, buf, 1000, 3000, 0, 0), 1000);
	check("pwrite64 5G", sys32(NR_pwrite64, a, buf, 1000, (uint32_t)GIB5, GIB5 >> 32, 0), 1000);
	check("_llseek", sys32(NR_llseek, a, (GIB5 + 1000) >> 32, (uint32_t)(GIB5 + 1000), (long)&m->pos, SEEK_SET, 0), 0);
	m->iov[0] = (uint32_t)buf, m->iov[1] = 500, m->iov[2] = (uint32_t)buf, m->iov[3] = 500;
	check("writev", sys32(NR_writev, a, (long)m->iov, 2, 0, 0, 0), 1000);
	check("fsync", sys32(NR_fsync, a, 0, 0, 0, 0, 0), 0);
	check("fdatasync", sys32(NR_fdatasync, a, 0, 0, 0, 0, 0), 0);
	check("pread64", sys32(NR_pread64, a, buf, 2000, 0, 0, 0), 2000);
	check("preadv", sys32(NR_preadv, a, (long)m->iov, 2, 2000, 0, 0), 1000);

	check("io_setup", sys32(NR_io_setup, 1, (long)&m->ctx, 0, 0, 0, 0), 0);
	m->cb = (struct iocb){ .aio_lio_opcode = IOCB_CMD_PREAD, .aio_fildes = (uint32_t)a, .aio_buf = (uint64_t)buf,
			       .aio_nbytes = 100, .aio_offset = 0 };
	m->iocbp = (uint32_t)(long)&m->cb;
	check("io_submit", sys32(NR_io_submit, m->ctx, 1, (long)&m->iocbp, 0, 0, 0), 1);
	check("io_getevents", sys32(NR_io_getevents, m->ctx, 1, 1, (long)&m->ev, 0, 0), 1);
	check("aio res", m->ev.res, 100);
	long map = sys32(NR_mmap2, 0, 4096, PROT_READ, MAP_SHARED, a, 0);
	check("mmap2", map > 0 && map < (1L << 32), 1);
	memcpy(m->old_mmap, (uint32_t[]){ 0, 8192, PROT_READ, MAP_PRIVATE, (uint32_t)a, 0 }, sizeof(m->old_mmap));
	map = sys32(NR_old_mmap, (long)m->old_mmap, 0, 0, 0, 0, 0);
	check("old_mmap", map > 0 && map < (1L << 32), 1);

	long b = fd_of("openat", sys32(NR_openat, AT_FDCWD, (long)m->b, O_WRONLY | O_CREAT | O_TRUNC, 0644, 0, 0));
	m->off32 = 100;
	check("sendfile", sys32(NR_sendfile, b, a, (long)&m->off32, 300, 0, 0), 300);
	check("sendfile off", m->off32, 400);
	m->off64 = 1000;
	check("sendfile64", sys32(NR_sendfile64, b, a, (long)&m->off64, 200, 0, 0), 200);
	m->off_in = 4000;
	check("copy_file_range", sys32(NR_copy_file_range, a, (long)&m->off_in, b, 0, 100, 0), 100);
	check("close b", sys32(NR_close, b, 0, 0, 0, 0, 0), 0);
	check("close a", sys32(NR_close, a, 0, 0, 0, 0, 0), 0);
	return failed;
}
