/*
 * syscalls.c: a fixed sequence of file I/O with known sizes and offsets that
 * exercises every syscall `iotrace record` traces, for exact assertions
 * (tests/record_syscalls.rs). Build: gcc -static -O2 -Wall -o syscalls syscalls.c
 * Usage: syscalls DIR   (DIR must exist; the files below are (re)created in it)
 *
 * Every traced call is issued with syscall(SYS_...), never through a glibc
 * wrapper that might pick another syscall (strace -f -c agrees). Data files
 * are sized with ftruncate, which is not traced, so a file's profile holds
 * only the I/O of its phase. Each file belongs to exactly one phase. The
 * program checks every return value itself and exits 1 on the first surprise,
 * naming the phase; on success it prints nothing and exits 0.
 *
 * Offsets are those the kernel really uses. "run" = sequential run per open
 * file description; "rewrite" = write at the offset of the previous write
 * through the same open file description.
 *
 *  01-write        write 100, 200, 4096 at 0, 100, 300; close.
 *                  One run of 4396 bytes.
 *  02-read         size 1000. read 100 @0 -> 100, 300 @100 -> 300,
 *                  1000 @400 -> 600 (past EOF), 100 @1000 -> 0 (at EOF);
 *                  lseek 0; read 50 @0 -> 50; close. Runs 1000 and 50.
 *  03-readv        size 1000. readv [10,20,70] @0 -> 100, [400,600] @100
 *                  -> 900, [100] @1000 -> 0; close. One run of 1000.
 *  04-pread64      size 4096. pread64 512 @0 -> 512, 512 @512 -> 512,
 *                  100 @4000 -> 96, 100 @4096 -> 0, 10 @-1 -> EINVAL; close.
 *                  Runs 1024 and 96.
 *  05-preadv       size 2048. preadv [100,100] @1000 -> 200, [300] @1200
 *                  -> 300, [1000] @1500 -> 548, [8] @2048 -> 0; close.
 *                  One run of 1048.
 *  06-preadv2      size 1000. lseek 100. preadv2 [50] @-1 (=100) -> 50,
 *                  [50] @-1 (=150) -> 50, [200] @0 -> 200 (f_pos stays 200),
 *                  [100] @-1 (=200) -> 100, [1000] @900 -> 100; close.
 *                  Runs 100, 300 (0..300), 100.
 *  07-writev       writev [10,20,30] @0 -> 60, [4000,96] @60 -> 4096; close.
 *                  One run of 4156.
 *  08-pwrite64     pwrite64 100 @0, 100 @100, 50 @1000, 50 @1000 (rewrite),
 *                  10 @-1 -> EINVAL; close. Runs 200, 50, 50; 1 rewrite.
 *  09-pwritev      pwritev [100,28] @512 -> 128, [128] @640 -> 128,
 *                  [64] @0, [64] @0 (rewrite); close. Runs 256, 64, 64;
 *                  1 rewrite.
 *  10-pwritev2     pwritev2 [100] @-1 (=0), [100] @-1 (=100), [50] @200
 *                  (f_pos stays 200), [50] @-1 (=200: rewrite); close.
 *                  Runs 250, 50; 1 rewrite.
 *  11-sendfile-in  size 3000; 11-sendfile-out empty. sendfile(out, in):
 *                  NULL offset 1000 -> 1000 (in @0, out @0); offset=2000
 *                  500 -> 500 (in @2000, in's f_pos stays 1000; out @1000);
 *                  NULL 5000 -> 2000 (in @1000 to EOF; out @1500); NULL 100
 *                  -> 0 (in at EOF; out @3500); close in, close out.
 *                  in: sendfile_in only, runs 1000, 500, 2000.
 *                  out: sendfile_out only, one run of 3500.
 *  12-sendfile-pipe-in  size 200. sendfile to a pipe 100 (@0), to a unix
 *                  socket 100 (@100); both drained with read; write 5 bytes
 *                  into the pipe and the socket and read them back; close
 *                  everything. Only sendfile_in 2 x 100 on this file (one
 *                  run of 200); the pipe and the socket never appear.
 *  13-fsync        write 1000; fsync; write 2000, 3000; fdatasync; fsync;
 *                  write 10; close. fsync calls 3 (2 fsync + 1 fdatasync),
 *                  bytes between: 1000, 5000, 0; one run of 6010.
 *  14-wronly       O_WRONLY, size 100. read 10, readv [10], pread64 10 @0,
 *                  preadv [10] @0, preadv2 [10] @0, sendfile(pipe, this, 10):
 *                  each EBADF (not open for reading); close.
 *  14-rdonly       O_RDONLY, empty. write 10, writev [10], pwrite64 10 @0,
 *                  pwritev [10] @0, pwritev2 [10] @0, sendfile(this,
 *                  14-sfin, 10): each EBADF (not open for writing); close.
 *  14-sfin         size 100, the in-file of that sendfile: sendfile_in
 *                  EBADF; close.
 *  14-efault       size 100. read 10 into (void *)1, pread64 10 @0 into
 *                  (void *)1, write 10 from (void *)1: each EFAULT; close.
 *  15-append       O_APPEND. write 100 (@0), write 100 (@100), lseek 0,
 *                  writev [50,50] (@200), pwritev2 [100] @-1 (@300), lseek 0,
 *                  write 10 (@400): all at the end of file; close.
 *                  One run of 410, no rewrite.
 *  16-fork         write 100 (@0); fork: the child names itself
 *                  "syscalls-child" (prctl), writes 200 (@100) through the
 *                  inherited fd and _exits; the parent waits, writes 300
 *                  (@300); close. One run of 600 by comms syscalls and
 *                  syscalls-child.
 *
 * Phases whose truth iotrace is known to get wrong (see record_syscalls.rs):
 *  17-append-pwrite  O_APPEND. write 100 (@0), pwrite64 100 @0, pwrite64 100
 *                  @0: on O_APPEND files Linux ignores pwrite's offset and
 *                  appends (@100, @200); close. One run of 300, no rewrite.
 *  18-rwf-append   pwritev2 [100] @0 flags 0 (@0), pwritev2 [100] @0
 *                  RWF_APPEND (appends: @100); close. One run of 200, no
 *                  rewrite. (Kernels < 4.16: EOPNOTSUPP, noted on stdout.)
 *  19-dup-close    pwrite64 100 @0; dup; close the dup; pwrite64 100 @0
 *                  through the original fd (same open file description:
 *                  a rewrite); close. 1 rewrite, 2 closes.
 *  20-iov-many     writev of 200 iovecs of 1 byte -> 200; close.
 *                  request 200.
 *  21-reuse        10 times: open (no O_TRUNC), pwrite64 100 @0, then drop
 *                  the open file without close(2) (dup2 of /dev/null over
 *                  the fd, as exit or exec would). 10 open file
 *                  descriptions: 10 runs of 100, no rewrite, no close.
 *  21-reuse-other  then: open, pwrite64 100 @0, close. One run of 100.
 *
 * Copies between files, counted on both (a pipe end never appears):
 *  22-cfr-in       size 3000; 22-cfr-out empty. copy_file_range(in, out):
 *                  NULL offsets 1000 -> 1000 (in @0, out @0); off_in=2000
 *                  500 -> 500 (in @2000, in's f_pos stays 1000; out @1000);
 *                  off_out=5000 5000 -> 2000 (in @1000 to EOF, out @5000,
 *                  out's f_pos stays 1500); NULL 100 -> 0 (in at EOF, out
 *                  @1500); close in, close out.
 *                  in: copy_file_range_in only, runs 1000, 500, 2000.
 *                  out: copy_file_range_out only, runs 1500, 2000.
 *  23-splice-in    size 300; 23-splice-out empty; a pipe. splice(in, pipe):
 *                  NULL 100 -> 100 (in @0); off_in=200 100 -> 100 (in
 *                  @200); off_in=300 10 -> 0 (EOF). splice(pipe, out): NULL
 *                  150 -> 150 (out @0); off_out=1000 50 -> 50 (out @1000);
 *                  close everything.
 *                  in: splice_in only, runs 100, 100.
 *                  out: splice_out only, runs 150, 50.
 *
 *  24-open-flags   opened and closed 6 times: O_RDWR|O_CREAT, O_DIRECT,
 *                  O_SYNC, O_DSYNC, O_APPEND, O_DIRECT|O_DSYNC|O_APPEND.
 *                  opens 6: direct 2, sync 1, dsync 2, append 2; close 6.
 *                  (Every other file: opens 1, 15 and 17 append 1, 21-reuse 10.)
 *
 * A directory (in the profile's `directories`, not its files):
 *  25-dir          mkdir; open O_DIRECTORY; fsync, fsync, fdatasync; close.
 *                  fsync calls 3: fsync 2, fdatasync 1.
 *
 * Linux AIO (io_setup, io_submit, io_getevents; the CO-RE strategies):
 *  26-aio          O_RDWR, empty. io_submit of PWRITE 100 @0, PWRITEV
 *                  [60,40] @100, FDSYNC, FSYNC in one call; reap the 4
 *                  events (one io_getevents each, waiting for 1); then PREAD
 *                  300 @0 -> 200; PREAD 10 @0 into (void *)1 -> an event
 *                  with res -EFAULT; close. aio_pwrite 100, aio_pwritev
 *                  100, aio_fdsync 1, aio_fsync 1, aio_pread 300 -> 200 and
 *                  10 -> EFAULT. Writes at 0 and 100: one run of 200;
 *                  reads: one run of 200; fsync calls 2, bytes between 200
 *                  and 0.
 *
 * Memory maps (mmap: its calls, and the file's `mmap` counts):
 *  27-mmap         O_RDWR, size 8192, opened a second time O_RDONLY.
 *                  mmap 8192 @0 PROT_READ|PROT_WRITE MAP_SHARED (one byte
 *                  stored through it); 4096 @4096 PROT_READ MAP_PRIVATE;
 *                  4096 @0 PROT_READ MAP_SHARED_VALIDATE; 4096 PROT_WRITE
 *                  MAP_SHARED of the O_RDONLY fd -> EACCES; anonymous maps
 *                  with the fd and with -1 (not the file's); munmap all;
 *                  close both. mmap calls 4 (request 8192, 4096, 4096,
 *                  4096; 1 EACCES); shared 2 (12288 bytes), private 1
 *                  (4096), read 3, write 1, exec 0; opens 2, close 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <linux/aio_abi.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef RWF_APPEND
#define RWF_APPEND 0x10
#endif

static const char *dir;
static const char *phase = "setup";
static char buf[1 << 16];

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "syscalls: phase %s: ", phase);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* ret must be want (want >= 0), or -1 with errno want_errno. */
static long expect(long ret, long want, int want_errno, const char *what)
{
	if (want_errno) {
		if (ret != -1 || errno != want_errno)
			die("%s: returned %ld (%s), want error %s", what, ret, strerror(errno), strerror(want_errno));
	} else if (ret != want) {
		die("%s: returned %ld (%s), want %ld", what, ret, ret < 0 ? strerror(errno) : "ok", want);
	}
	return ret;
}

/* Not traced: openat, ftruncate, lseek, dup, dup2, pipe2, socketpair. */
static int open_in(const char *name, int flags, off_t size)
{
	char path[4096];
	int fd;

	phase = name;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, flags, 0644);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	if (size >= 0 && ftruncate(fd, size))
		die("ftruncate: %s", strerror(errno));
	return fd;
}

#define NEW (O_CREAT | O_TRUNC)

static void xlseek(int fd, off_t off)
{
	if (lseek(fd, off, SEEK_SET) != off)
		die("lseek: %s", strerror(errno));
}

/* The traced syscalls, raw. */
static long s_read(int fd, void *b, size_t n) { return syscall(SYS_read, fd, b, n); }
static long s_write(int fd, const void *b, size_t n) { return syscall(SYS_write, fd, b, n); }
static long s_pread(int fd, void *b, size_t n, long off) { return syscall(SYS_pread64, fd, b, n, off); }
static long s_pwrite(int fd, const void *b, size_t n, long off) { return syscall(SYS_pwrite64, fd, b, n, off); }
static long s_readv(int fd, const struct iovec *v, int n) { return syscall(SYS_readv, fd, v, n); }
static long s_writev(int fd, const struct iovec *v, int n) { return syscall(SYS_writev, fd, v, n); }
/* x86_64: pos_l carries the whole offset, pos_h is ignored. */
static long s_preadv(int fd, const struct iovec *v, int n, long off) { return syscall(SYS_preadv, fd, v, n, off, 0L); }
static long s_pwritev(int fd, const struct iovec *v, int n, long off) { return syscall(SYS_pwritev, fd, v, n, off, 0L); }
static long s_preadv2(int fd, const struct iovec *v, int n, long off, int fl) { return syscall(SYS_preadv2, fd, v, n, off, 0L, fl); }
static long s_pwritev2(int fd, const struct iovec *v, int n, long off, int fl) { return syscall(SYS_pwritev2, fd, v, n, off, 0L, fl); }
static long s_sendfile(int out, int in, long *off, size_t n) { return syscall(SYS_sendfile, out, in, off, n); }
static long s_copy_file_range(int in, long *off_in, int out, long *off_out, size_t n)
{
	return syscall(SYS_copy_file_range, in, off_in, out, off_out, n, 0);
}
static long s_splice(int in, long *off_in, int out, long *off_out, size_t n)
{
	return syscall(SYS_splice, in, off_in, out, off_out, n, 0);
}
static long s_fsync(int fd) { return syscall(SYS_fsync, fd); }
static long s_fdatasync(int fd) { return syscall(SYS_fdatasync, fd); }
static void s_close(int fd) { expect(syscall(SYS_close, fd), 0, 0, "close"); }

/* Fill v with iovecs over buf of the given lengths (at most 4, 0-terminated). */
static struct iovec *iov(struct iovec *v, const size_t *lens)
{
	size_t at = 0;

	for (int n = 0; lens[n]; n++) {
		v[n].iov_base = buf + at;
		v[n].iov_len = lens[n];
		at += lens[n];
	}
	return v;
}

/* IOV(a, b, ...) -> the two arguments "iovec array, count". */
#define IOV(...) iov(v, (const size_t[]){ __VA_ARGS__, 0 }), \
		 (int)(sizeof((const size_t[]){ __VA_ARGS__ }) / sizeof(size_t))

int main(int argc, char **argv)
{
	struct iovec v[4];
	int fd, fd2, in, out, p[2], s[2], nullfd;
	long off, off2;

	if (argc != 2) {
		fprintf(stderr, "usage: syscalls DIR\n");
		return 2;
	}
	dir = argv[1];
	memset(buf, 'x', sizeof(buf));

	fd = open_in("01-write", O_WRONLY | NEW, -1);
	expect(s_write(fd, buf, 100), 100, 0, "write 100");
	expect(s_write(fd, buf, 200), 200, 0, "write 200");
	expect(s_write(fd, buf, 4096), 4096, 0, "write 4096");
	s_close(fd);

	fd = open_in("02-read", O_RDWR | NEW, 1000);
	expect(s_read(fd, buf, 100), 100, 0, "read 100");
	expect(s_read(fd, buf, 300), 300, 0, "read 300");
	expect(s_read(fd, buf, 1000), 600, 0, "read 1000 past EOF");
	expect(s_read(fd, buf, 100), 0, 0, "read at EOF");
	xlseek(fd, 0);
	expect(s_read(fd, buf, 50), 50, 0, "read 50");
	s_close(fd);

	fd = open_in("03-readv", O_RDWR | NEW, 1000);
	expect(s_readv(fd, IOV(10, 20, 70)), 100, 0, "readv 100");
	expect(s_readv(fd, IOV(400, 600)), 900, 0, "readv 1000 past EOF");
	expect(s_readv(fd, IOV(100)), 0, 0, "readv at EOF");
	s_close(fd);

	fd = open_in("04-pread64", O_RDWR | NEW, 4096);
	expect(s_pread(fd, buf, 512, 0), 512, 0, "pread64 512@0");
	expect(s_pread(fd, buf, 512, 512), 512, 0, "pread64 512@512");
	expect(s_pread(fd, buf, 100, 4000), 96, 0, "pread64 100@4000");
	expect(s_pread(fd, buf, 100, 4096), 0, 0, "pread64 at EOF");
	expect(s_pread(fd, buf, 10, -1), 0, EINVAL, "pread64 @-1");
	s_close(fd);

	fd = open_in("05-preadv", O_RDWR | NEW, 2048);
	expect(s_preadv(fd, IOV(100, 100), 1000), 200, 0, "preadv 200@1000");
	expect(s_preadv(fd, IOV(300), 1200), 300, 0, "preadv 300@1200");
	expect(s_preadv(fd, IOV(1000), 1500), 548, 0, "preadv 1000@1500");
	expect(s_preadv(fd, IOV(8), 2048), 0, 0, "preadv at EOF");
	s_close(fd);

	fd = open_in("06-preadv2", O_RDWR | NEW, 1000);
	xlseek(fd, 100);
	expect(s_preadv2(fd, IOV(50), -1, 0), 50, 0, "preadv2 50@-1");
	expect(s_preadv2(fd, IOV(50), -1, 0), 50, 0, "preadv2 50@-1");
	expect(s_preadv2(fd, IOV(200), 0, 0), 200, 0, "preadv2 200@0");
	expect(s_preadv2(fd, IOV(100), -1, 0), 100, 0, "preadv2 100@-1");
	expect(lseek(fd, 0, SEEK_CUR), 300, 0, "f_pos after preadv2");
	expect(s_preadv2(fd, IOV(1000), 900, 0), 100, 0, "preadv2 1000@900");
	s_close(fd);

	fd = open_in("07-writev", O_WRONLY | NEW, -1);
	expect(s_writev(fd, IOV(10, 20, 30)), 60, 0, "writev 60");
	expect(s_writev(fd, IOV(4000, 96)), 4096, 0, "writev 4096");
	s_close(fd);

	fd = open_in("08-pwrite64", O_WRONLY | NEW, -1);
	expect(s_pwrite(fd, buf, 100, 0), 100, 0, "pwrite64 100@0");
	expect(s_pwrite(fd, buf, 100, 100), 100, 0, "pwrite64 100@100");
	expect(s_pwrite(fd, buf, 50, 1000), 50, 0, "pwrite64 50@1000");
	expect(s_pwrite(fd, buf, 50, 1000), 50, 0, "pwrite64 50@1000 again");
	expect(s_pwrite(fd, buf, 10, -1), 0, EINVAL, "pwrite64 @-1");
	s_close(fd);

	fd = open_in("09-pwritev", O_WRONLY | NEW, -1);
	expect(s_pwritev(fd, IOV(100, 28), 512), 128, 0, "pwritev 128@512");
	expect(s_pwritev(fd, IOV(128), 640), 128, 0, "pwritev 128@640");
	expect(s_pwritev(fd, IOV(64), 0), 64, 0, "pwritev 64@0");
	expect(s_pwritev(fd, IOV(64), 0), 64, 0, "pwritev 64@0 again");
	s_close(fd);

	fd = open_in("10-pwritev2", O_WRONLY | NEW, -1);
	expect(s_pwritev2(fd, IOV(100), -1, 0), 100, 0, "pwritev2 100@-1");
	expect(s_pwritev2(fd, IOV(100), -1, 0), 100, 0, "pwritev2 100@-1");
	expect(s_pwritev2(fd, IOV(50), 200, 0), 50, 0, "pwritev2 50@200");
	expect(s_pwritev2(fd, IOV(50), -1, 0), 50, 0, "pwritev2 50@-1");
	expect(lseek(fd, 0, SEEK_END), 250, 0, "size after pwritev2");
	s_close(fd);

	in = open_in("11-sendfile-in", O_RDWR | NEW, 3000);
	out = open_in("11-sendfile-out", O_WRONLY | NEW, -1);
	phase = "11-sendfile";
	expect(s_sendfile(out, in, NULL, 1000), 1000, 0, "sendfile 1000");
	off = 2000;
	expect(s_sendfile(out, in, &off, 500), 500, 0, "sendfile 500 from 2000");
	expect(off, 2500, 0, "sendfile offset after");
	expect(s_sendfile(out, in, NULL, 5000), 2000, 0, "sendfile 5000 from 1000");
	expect(s_sendfile(out, in, NULL, 100), 0, 0, "sendfile at EOF");
	s_close(in);
	s_close(out);

	in = open_in("12-sendfile-pipe-in", O_RDWR | NEW, 200);
	if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, s))
		die("pipe/socketpair: %s", strerror(errno));
	expect(s_sendfile(p[1], in, NULL, 100), 100, 0, "sendfile to pipe");
	expect(s_sendfile(s[0], in, NULL, 100), 100, 0, "sendfile to socket");
	expect(s_read(p[0], buf, 100), 100, 0, "read pipe");
	expect(s_read(s[1], buf, 100), 100, 0, "read socket");
	expect(s_write(p[1], buf, 5), 5, 0, "write pipe");
	expect(s_write(s[0], buf, 5), 5, 0, "write socket");
	expect(s_read(p[0], buf, 5), 5, 0, "read pipe");
	expect(s_read(s[1], buf, 5), 5, 0, "read socket");
	s_close(in);
	s_close(p[0]);
	s_close(p[1]);
	s_close(s[0]);
	s_close(s[1]);

	fd = open_in("13-fsync", O_WRONLY | NEW, -1);
	expect(s_write(fd, buf, 1000), 1000, 0, "write 1000");
	expect(s_fsync(fd), 0, 0, "fsync");
	expect(s_write(fd, buf, 2000), 2000, 0, "write 2000");
	expect(s_write(fd, buf, 3000), 3000, 0, "write 3000");
	expect(s_fdatasync(fd), 0, 0, "fdatasync");
	expect(s_fsync(fd), 0, 0, "fsync again");
	expect(s_write(fd, buf, 10), 10, 0, "write 10");
	s_close(fd);

	if (pipe(p))
		die("pipe: %s", strerror(errno));
	fd = open_in("14-wronly", O_WRONLY | NEW, 100);
	expect(s_read(fd, buf, 10), 0, EBADF, "read");
	expect(s_readv(fd, IOV(10)), 0, EBADF, "readv");
	expect(s_pread(fd, buf, 10, 0), 0, EBADF, "pread64");
	expect(s_preadv(fd, IOV(10), 0), 0, EBADF, "preadv");
	expect(s_preadv2(fd, IOV(10), 0, 0), 0, EBADF, "preadv2");
	expect(s_sendfile(p[1], fd, NULL, 10), 0, EBADF, "sendfile in");
	s_close(fd);
	in = open_in("14-sfin", O_RDWR | NEW, 100);
	fd = open_in("14-rdonly", O_RDONLY | O_CREAT, -1);
	expect(s_write(fd, buf, 10), 0, EBADF, "write");
	expect(s_writev(fd, IOV(10)), 0, EBADF, "writev");
	expect(s_pwrite(fd, buf, 10, 0), 0, EBADF, "pwrite64");
	expect(s_pwritev(fd, IOV(10), 0), 0, EBADF, "pwritev");
	expect(s_pwritev2(fd, IOV(10), 0, 0), 0, EBADF, "pwritev2");
	expect(s_sendfile(fd, in, NULL, 10), 0, EBADF, "sendfile out");
	s_close(fd);
	s_close(in);
	s_close(p[0]);
	s_close(p[1]);
	fd = open_in("14-efault", O_RDWR | NEW, 100);
	expect(s_read(fd, (void *)1, 10), 0, EFAULT, "read into (void *)1");
	expect(s_pread(fd, (void *)1, 10, 0), 0, EFAULT, "pread64 into (void *)1");
	expect(s_write(fd, (void *)1, 10), 0, EFAULT, "write from (void *)1");
	s_close(fd);

	fd = open_in("15-append", O_WRONLY | O_APPEND | NEW, -1);
	expect(s_write(fd, buf, 100), 100, 0, "write 100");
	expect(s_write(fd, buf, 100), 100, 0, "write 100");
	xlseek(fd, 0);
	expect(s_writev(fd, IOV(50, 50)), 100, 0, "writev 100");
	expect(s_pwritev2(fd, IOV(100), -1, 0), 100, 0, "pwritev2 100@-1");
	xlseek(fd, 0);
	expect(s_write(fd, buf, 10), 10, 0, "write 10");
	expect(lseek(fd, 0, SEEK_END), 410, 0, "size");
	s_close(fd);

	fd = open_in("16-fork", O_WRONLY | NEW, -1);
	expect(s_write(fd, buf, 100), 100, 0, "parent write 100");
	pid_t child = fork();
	if (child < 0)
		die("fork: %s", strerror(errno));
	if (child == 0) {
		phase = "16-fork child";
		if (prctl(PR_SET_NAME, "syscalls-child"))
			die("prctl: %s", strerror(errno));
		expect(s_write(fd, buf, 200), 200, 0, "child write 200");
		_exit(0);
	}
	int st;
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		die("child failed");
	expect(s_write(fd, buf, 300), 300, 0, "parent write 300");
	expect(lseek(fd, 0, SEEK_END), 600, 0, "size");
	s_close(fd);

	/* ---- phases whose truth iotrace gets wrong ---- */

	fd = open_in("17-append-pwrite", O_WRONLY | O_APPEND | NEW, -1);
	expect(s_write(fd, buf, 100), 100, 0, "write 100");
	expect(s_pwrite(fd, buf, 100, 0), 100, 0, "pwrite64 100@0 (appends)");
	expect(s_pwrite(fd, buf, 100, 0), 100, 0, "pwrite64 100@0 (appends)");
	expect(lseek(fd, 0, SEEK_END), 300, 0, "size");
	s_close(fd);

	fd = open_in("18-rwf-append", O_WRONLY | NEW, -1);
	expect(s_pwritev2(fd, IOV(100), 0, 0), 100, 0, "pwritev2 100@0");
	long r = s_pwritev2(fd, IOV(100), 0, RWF_APPEND);
	if (r == -1 && errno == EOPNOTSUPP)
		printf("18-rwf-append: RWF_APPEND not supported (EOPNOTSUPP)\n");
	else
		expect(r, 100, 0, "pwritev2 100@0 RWF_APPEND");
	s_close(fd);

	fd = open_in("19-dup-close", O_WRONLY | NEW, -1);
	expect(s_pwrite(fd, buf, 100, 0), 100, 0, "pwrite64 100@0");
	fd2 = dup(fd);
	if (fd2 < 0)
		die("dup: %s", strerror(errno));
	s_close(fd2);
	expect(s_pwrite(fd, buf, 100, 0), 100, 0, "pwrite64 100@0 again");
	s_close(fd);

	{
		static struct iovec many[200];

		for (int i = 0; i < 200; i++) {
			many[i].iov_base = buf + i;
			many[i].iov_len = 1;
		}
		fd = open_in("20-iov-many", O_WRONLY | NEW, -1);
		expect(s_writev(fd, many, 200), 200, 0, "writev 200 x 1");
		s_close(fd);
	}

	nullfd = open("/dev/null", O_RDWR);
	if (nullfd < 0)
		die("/dev/null: %s", strerror(errno));
	for (int i = 0; i < 10; i++) {
		fd = open_in("21-reuse", O_WRONLY | O_CREAT, -1);
		expect(s_pwrite(fd, buf, 100, 0), 100, 0, "pwrite64 100@0");
		/* The file is released without close(2) (dup2 is not traced). */
		if (dup2(nullfd, fd) != fd)
			die("dup2: %s", strerror(errno));
		s_close(fd); /* now /dev/null: not a regular file */
	}
	fd = open_in("21-reuse-other", O_WRONLY | NEW, -1);
	expect(s_pwrite(fd, buf, 100, 0), 100, 0, "pwrite64 100@0");
	s_close(fd);
	s_close(nullfd);

	in = open_in("22-cfr-in", O_RDWR | NEW, 3000);
	out = open_in("22-cfr-out", O_WRONLY | NEW, -1);
	phase = "22-copy_file_range";
	expect(s_copy_file_range(in, NULL, out, NULL, 1000), 1000, 0, "copy 1000");
	off = 2000;
	expect(s_copy_file_range(in, &off, out, NULL, 500), 500, 0, "copy 500 from in@2000");
	expect(off, 2500, 0, "off_in after");
	off2 = 5000;
	expect(s_copy_file_range(in, NULL, out, &off2, 5000), 2000, 0, "copy 5000 from in@1000 to out@5000");
	expect(off2, 7000, 0, "off_out after");
	expect(s_copy_file_range(in, NULL, out, NULL, 100), 0, 0, "copy at EOF");
	expect(lseek(out, 0, SEEK_CUR), 1500, 0, "out's f_pos");
	s_close(in);
	s_close(out);

	in = open_in("23-splice-in", O_RDWR | NEW, 300);
	out = open_in("23-splice-out", O_WRONLY | NEW, -1);
	phase = "23-splice";
	if (pipe(p))
		die("pipe: %s", strerror(errno));
	expect(s_splice(in, NULL, p[1], NULL, 100), 100, 0, "splice 100 to the pipe");
	off = 200;
	expect(s_splice(in, &off, p[1], NULL, 100), 100, 0, "splice 100 from in@200");
	off = 300;
	expect(s_splice(in, &off, p[1], NULL, 10), 0, 0, "splice at EOF");
	expect(s_splice(p[0], NULL, out, NULL, 150), 150, 0, "splice 150 from the pipe");
	off = 1000;
	expect(s_splice(p[0], NULL, out, &off, 50), 50, 0, "splice 50 to out@1000");
	s_close(in);
	s_close(out);
	s_close(p[0]);
	s_close(p[1]);

	{
		static const int flags[] = { O_RDWR | O_CREAT, O_RDONLY | O_DIRECT, O_WRONLY | O_SYNC, O_WRONLY | O_DSYNC,
					     O_WRONLY | O_APPEND, O_RDWR | O_DIRECT | O_DSYNC | O_APPEND };

		for (unsigned i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
			s_close(open_in("24-open-flags", flags[i], -1));
	}

	{
		char path[4096];

		phase = "25-dir";
		snprintf(path, sizeof(path), "%s/25-dir", dir);
		if (mkdir(path, 0755) && errno != EEXIST)
			die("mkdir %s: %s", path, strerror(errno));
		fd = open(path, O_RDONLY | O_DIRECTORY);
		if (fd < 0)
			die("open %s: %s", path, strerror(errno));
		expect(s_fsync(fd), 0, 0, "fsync");
		expect(s_fsync(fd), 0, 0, "fsync again");
		expect(s_fdatasync(fd), 0, 0, "fdatasync");
		s_close(fd);
	}

	{
		aio_context_t ctx = 0;
		struct iocb cbs[6], *list[4];
		struct io_event ev;
		struct iovec vv[2] = { { buf, 60 }, { buf + 60, 40 } };

		fd = open_in("26-aio", O_RDWR | NEW, -1);
		if (syscall(SYS_io_setup, 8, &ctx))
			die("io_setup: %s", strerror(errno));
		memset(cbs, 0, sizeof(cbs));
		for (int i = 0; i < 6; i++)
			cbs[i].aio_fildes = fd;
		cbs[0].aio_lio_opcode = IOCB_CMD_PWRITE, cbs[0].aio_buf = (unsigned long)buf, cbs[0].aio_nbytes = 100;
		cbs[1].aio_lio_opcode = IOCB_CMD_PWRITEV, cbs[1].aio_buf = (unsigned long)vv, cbs[1].aio_nbytes = 2;
		cbs[1].aio_offset = 100;
		cbs[2].aio_lio_opcode = IOCB_CMD_FDSYNC;
		cbs[3].aio_lio_opcode = IOCB_CMD_FSYNC;
		for (int i = 0; i < 4; i++)
			list[i] = &cbs[i];
		/* One at a time, each reaped before the next: a known order. */
		for (int i = 0; i < 4; i++) {
			expect(syscall(SYS_io_submit, ctx, 1L, &list[i]), 1, 0, "io_submit");
			expect(syscall(SYS_io_getevents, ctx, 1L, 1L, &ev, NULL), 1, 0, "io_getevents");
			if (ev.obj != (unsigned long)list[i] || ev.res != (i < 2 ? 100 : 0))
				die("event %d: res %lld", i, (long long)ev.res);
		}
		cbs[4].aio_lio_opcode = IOCB_CMD_PREAD, cbs[4].aio_buf = (unsigned long)buf, cbs[4].aio_nbytes = 300;
		cbs[5].aio_lio_opcode = IOCB_CMD_PREAD, cbs[5].aio_buf = 1, cbs[5].aio_nbytes = 10;
		for (int i = 4; i < 6; i++) {
			struct iocb *one = &cbs[i];

			expect(syscall(SYS_io_submit, ctx, 1L, &one), 1, 0, "io_submit");
			expect(syscall(SYS_io_getevents, ctx, 1L, 1L, &ev, NULL), 1, 0, "io_getevents");
			if (ev.res != (i == 4 ? 200 : -EFAULT))
				die("event %d: res %lld", i, (long long)ev.res);
		}
		if (syscall(SYS_io_destroy, ctx))
			die("io_destroy: %s", strerror(errno));
		s_close(fd);
	}

	{
		static const struct {
			size_t len;
			int prot, flags, fd, err;
			off_t off;
		} maps[] = {
			{ 8192, PROT_READ | PROT_WRITE, MAP_SHARED, 0, 0, 0 },
			{ 4096, PROT_READ, MAP_PRIVATE, 0, 0, 4096 },
			{ 4096, PROT_READ, MAP_SHARED_VALIDATE, 0, 0, 0 },
			{ 4096, PROT_WRITE, MAP_SHARED, 1, EACCES, 0 },
			{ 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, 0, 0, 0 },
			{ 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, 0 },
		};
		int fds[2];

		fds[0] = open_in("27-mmap", O_RDWR | NEW, 8192);
		fds[1] = open_in("27-mmap", O_RDONLY, -1);
		for (unsigned i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
			int mfd = maps[i].fd < 0 ? -1 : fds[maps[i].fd];
			char *m = (char *)syscall(SYS_mmap, NULL, maps[i].len, maps[i].prot, maps[i].flags, mfd, maps[i].off);

			if (maps[i].err) {
				expect((long)m, -1, maps[i].err, "mmap");
				continue;
			}
			if (m == MAP_FAILED)
				die("mmap %u: %s", i, strerror(errno));
			if (i == 0)
				m[0] = 'y';
			if (munmap(m, maps[i].len))
				die("munmap: %s", strerror(errno));
		}
		s_close(fds[0]);
		s_close(fds[1]);
	}
	return 0;
}
