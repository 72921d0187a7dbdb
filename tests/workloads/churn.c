/*
 * churn.c: file identity under churn, for tests/identity.rs.
 * Build: gcc -static -O2 -Wall -Werror -o churn churn.c
 * Usage: churn DIR MANIFEST   (DIR must exist and be empty; MANIFEST outside DIR)
 *
 * Creates, writes, renames and unlinks files in DIR so that the file system
 * hands out the same inode numbers again at once (ext4 reuses a freed inode
 * number for the next create in the directory) and the kernel reuses struct
 * file / struct inode addresses (slab), then writes what a profile keyed by
 * path must hold to MANIFEST, one line per expected row:
 *
 *   P HEXPATH renamed=0|1 unlinked=0|1 inodes=MAJ:MIN:INO,... NAME=CALLS/BYTES ...
 *   A - renamed=0 unlinked=1 inodes=MAJ:MIN:INO NAME=CALLS/BYTES ...
 *
 * P is the row of an absolute path (its raw bytes in hex); A is an anonymous
 * file (O_TMPFILE), which must have a row of its own. NAME is a syscall as
 * the profile names it (read pread64 write pwrite64 fsync fdatasync close),
 * only those used; BYTES are the bytes the calls returned. The counts are the
 * program's own: every call goes through the wrappers below, which check the
 * result and book it on the row of the name the fd was opened under. flags:
 * renamed = renamed while open, unlinked = unlinked while open (the rows'
 * rules are in tests/identity.rs).
 *
 * I/O is only read, pread64, write, pwrite64, fsync, fdatasync and close (raw
 * syscalls, so no libc wrapper can pick another one); all fds are closed with
 * close(2) before the manifest is written. On success nothing is printed and
 * the exit status is 0; on any surprise it names the phase and exits 1.
 *
 * Phases (names relative to DIR):
 *  recycle     tmp_1..tmp_5 in turn: create, write 1000*i+i, fsync, close,
 *              unlink (ext4: the same inode number each time), then 40 more
 *              (many_00..many_39, write 100+i, close, unlink).
 *  recreate    db-wal 4 times: create/truncate, (k+1) writes of 4096, pread
 *              100 @0, fdatasync, close, unlink (not the last time): one
 *              row adding up, unlinked=0. db-journal 3 times: create,
 *              pwrite 512 @0 and @512, fsync, close, unlink; the 2nd time
 *              it is unlinked while open and written 10 more bytes: one row,
 *              unlinked=1.
 *  lock        git's pattern, twice: config written (first time only), then
 *              config.lock created, written, fsynced, closed and renamed over
 *              config; config opened and read to EOF. config: the old and
 *              the new inodes; config.lock: renamed=0 (renamed after close).
 *  rename      ren_old opened, written 111, renamed to ren_new, written 222,
 *              pwrite 33 @0, pread 50 @0, fsync, close: all on ren_old,
 *              renamed=1. Then ren_new opened, write 44, pread 10 @0, close.
 *  unlink      unl: write 500, unlink, write 600, pread 100 @0, close:
 *              unlinked=1. unl_early: create, unlink before any I/O, write
 *              700, close: still the row of its path, unlinked=1.
 *  hardlink    hl_a written 123 and closed; link hl_b; hl_b: write 77 @0,
 *              pread 10 @0; hl_a: read to EOF. Two rows, one inode.
 *  tmpfile     two O_TMPFILE files in DIR: 4096 + fsync + pread 4096 @0;
 *              then 2 x 2048 (ext4: often the same inode number): two rows.
 *  names       one file per odd name: invalid UTF-8 (0xff, 0xfe), U+FFFD
 *              spelled in UTF-8, the 4 characters \xff, a newline, a
 *              backslash, control bytes 0x01 and 0x7f: write, pread, close.
 *  relative    chdir(DIR); rel_1 opened by a relative name: write, close.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

enum { SC_READ, SC_PREAD64, SC_WRITE, SC_PWRITE64, SC_FSYNC, SC_FDATASYNC, SC_CLOSE, NSC };
static const char *const sc_names[NSC] = {"read", "pread64", "write", "pwrite64", "fsync", "fdatasync", "close"};

#define MAX_ROWS 128
#define MAX_INODES 8
#define MAX_FDS 256

struct inode_id {
	unsigned maj, min;
	unsigned long long ino;
};

struct row {
	char path[4096]; /* absolute, raw bytes; "" for an anonymous file */
	int anon, renamed, unlinked;
	unsigned long long calls[NSC], bytes[NSC];
	struct inode_id inodes[MAX_INODES];
	int ninodes;
};

static struct row rows[MAX_ROWS];
static int nrows;
static int fd_row[MAX_FDS]; /* the row an open fd books to: its open-time name's */
static const char *dir;
static const char *phase = "start";
static char buf[65536], rbuf[65536];

static void die(const char *what)
{
	fprintf(stderr, "churn: %s: %s: %s\n", phase, what, strerror(errno));
	exit(1);
}

static void fail(const char *what, long got, long want)
{
	fprintf(stderr, "churn: %s: %s: got %ld, want %ld\n", phase, what, got, want);
	exit(1);
}

static const char *abs_path(const char *name)
{
	static char p[4096];
	if (snprintf(p, sizeof(p), "%s/%s", dir, name) >= (int)sizeof(p))
		die("path too long");
	return p;
}

static int new_row(const char *path, int anon)
{
	if (nrows == MAX_ROWS)
		die("too many rows");
	struct row *r = &rows[nrows];
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->anon = anon;
	return nrows++;
}

static int row_of(const char *path)
{
	for (int i = 0; i < nrows; i++)
		if (!rows[i].anon && strcmp(rows[i].path, path) == 0)
			return i;
	return new_row(path, 0);
}

/* Book fd to row r and remember the inode it refers to. */
static int bind(int fd, int r)
{
	struct stat st;
	if (fd < 0)
		die("open");
	if (fd >= MAX_FDS)
		die("fd too high");
	if (fstat(fd, &st) < 0)
		die("fstat");
	struct row *w = &rows[r];
	struct inode_id id = {major(st.st_dev), minor(st.st_dev), (unsigned long long)st.st_ino};
	int seen = 0;
	for (int i = 0; i < w->ninodes; i++)
		seen |= w->inodes[i].maj == id.maj && w->inodes[i].min == id.min && w->inodes[i].ino == id.ino;
	if (!seen) {
		if (w->ninodes == MAX_INODES)
			die("too many inodes");
		w->inodes[w->ninodes++] = id;
	}
	fd_row[fd] = r;
	return fd;
}

/* open(DIR/name) (or name itself if relative is set), booked to that path's row. */
static int xopen(const char *name, int flags)
{
	const char *p = abs_path(name);
	int r = row_of(p);
	return bind(syscall(SYS_openat, AT_FDCWD, p, flags | O_CLOEXEC, 0644), r);
}

static void book(int fd, int sc, long ret)
{
	rows[fd_row[fd]].calls[sc]++;
	rows[fd_row[fd]].bytes[sc] += ret > 0 ? ret : 0;
}

static void W(int fd, size_t n)
{
	long ret = syscall(SYS_write, fd, buf, n);
	if (ret != (long)n)
		fail("write", ret, n);
	book(fd, SC_WRITE, ret);
}

static void PW(int fd, size_t n, off_t off)
{
	long ret = syscall(SYS_pwrite64, fd, buf, n, off);
	if (ret != (long)n)
		fail("pwrite64", ret, n);
	book(fd, SC_PWRITE64, ret);
}

/* read n, which must return want */
static void R(int fd, size_t n, long want)
{
	long ret = syscall(SYS_read, fd, rbuf, n);
	if (ret != want)
		fail("read", ret, want);
	book(fd, SC_READ, ret);
}

static void PR(int fd, size_t n, off_t off, long want)
{
	long ret = syscall(SYS_pread64, fd, rbuf, n, off);
	if (ret != want)
		fail("pread64", ret, want);
	book(fd, SC_PREAD64, ret);
}

static void FS(int fd)
{
	if (syscall(SYS_fsync, fd) != 0)
		die("fsync");
	book(fd, SC_FSYNC, 0);
}

static void FDS(int fd)
{
	if (syscall(SYS_fdatasync, fd) != 0)
		die("fdatasync");
	book(fd, SC_FDATASYNC, 0);
}

static void CL(int fd)
{
	if (syscall(SYS_close, fd) != 0)
		die("close");
	book(fd, SC_CLOSE, 0);
	fd_row[fd] = -1;
}

static void xunlink(const char *name)
{
	if (unlink(abs_path(name)) != 0)
		die("unlink");
}

static void xrename(const char *from, const char *to)
{
	char f[4096];
	snprintf(f, sizeof(f), "%s", abs_path(from));
	if (rename(f, abs_path(to)) != 0)
		die("rename");
}

static void recycle(void)
{
	char name[64];
	phase = "recycle";
	for (int i = 1; i <= 5; i++) {
		snprintf(name, sizeof(name), "tmp_%d", i);
		int fd = xopen(name, O_CREAT | O_EXCL | O_WRONLY);
		W(fd, 1000 * i + i);
		FS(fd);
		CL(fd);
		xunlink(name);
	}
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "many_%02d", i);
		int fd = xopen(name, O_CREAT | O_EXCL | O_WRONLY);
		W(fd, 100 + i);
		CL(fd);
		xunlink(name);
	}
}

static void recreate(void)
{
	phase = "recreate db-wal";
	for (int k = 0; k < 4; k++) {
		int fd = xopen("db-wal", O_CREAT | O_TRUNC | O_RDWR);
		for (int j = 0; j <= k; j++)
			W(fd, 4096);
		PR(fd, 100, 0, 100);
		FDS(fd);
		CL(fd);
		if (k < 3)
			xunlink("db-wal");
	}
	phase = "recreate db-journal";
	for (int k = 0; k < 3; k++) {
		int fd = xopen("db-journal", O_CREAT | O_EXCL | O_RDWR);
		PW(fd, 512, 0);
		PW(fd, 512, 512);
		FS(fd);
		if (k == 1) {
			xunlink("db-journal");
			rows[fd_row[fd]].unlinked = 1;
			W(fd, 10);
			CL(fd);
		} else {
			CL(fd);
			xunlink("db-journal");
		}
	}
}

static void lock(void)
{
	phase = "lock";
	int fd = xopen("config", O_CREAT | O_TRUNC | O_WRONLY);
	W(fd, 300);
	CL(fd);
	for (int k = 0; k < 2; k++) {
		fd = xopen("config.lock", O_CREAT | O_EXCL | O_WRONLY);
		W(fd, 350 + k);
		FS(fd);
		CL(fd);
		xrename("config.lock", "config");
		fd = xopen("config", O_RDONLY);
		R(fd, 4096, 350 + k);
		R(fd, 4096, 0);
		CL(fd);
	}
}

static void rename_open(void)
{
	phase = "rename";
	int fd = xopen("ren_old", O_CREAT | O_EXCL | O_RDWR);
	W(fd, 111);
	xrename("ren_old", "ren_new");
	rows[fd_row[fd]].renamed = 1;
	W(fd, 222);
	PW(fd, 33, 0);
	PR(fd, 50, 0, 50);
	FS(fd);
	CL(fd);
	fd = xopen("ren_new", O_RDWR);
	W(fd, 44);
	PR(fd, 10, 0, 10);
	CL(fd);
}

static void unlink_open(void)
{
	phase = "unlink";
	int fd = xopen("unl", O_CREAT | O_EXCL | O_RDWR);
	W(fd, 500);
	xunlink("unl");
	rows[fd_row[fd]].unlinked = 1;
	W(fd, 600);
	PR(fd, 100, 0, 100);
	CL(fd);
	fd = xopen("unl_early", O_CREAT | O_EXCL | O_RDWR);
	xunlink("unl_early");
	rows[fd_row[fd]].unlinked = 1;
	W(fd, 700);
	CL(fd);
}

static void hardlink(void)
{
	phase = "hardlink";
	int fd = xopen("hl_a", O_CREAT | O_EXCL | O_RDWR);
	W(fd, 123);
	CL(fd);
	char a[4096];
	snprintf(a, sizeof(a), "%s", abs_path("hl_a"));
	if (link(a, abs_path("hl_b")) != 0)
		die("link");
	fd = xopen("hl_b", O_RDWR);
	W(fd, 77);
	PR(fd, 10, 0, 10);
	CL(fd);
	fd = xopen("hl_a", O_RDONLY);
	R(fd, 4096, 123);
	CL(fd);
}

static void anonymous(void)
{
	phase = "tmpfile";
	int r = new_row("", 1);
	rows[r].unlinked = 1;
	int fd = bind(syscall(SYS_openat, AT_FDCWD, dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600), r);
	W(fd, 4096);
	FS(fd);
	PR(fd, 4096, 0, 4096);
	CL(fd);
	r = new_row("", 1);
	rows[r].unlinked = 1;
	fd = bind(syscall(SYS_openat, AT_FDCWD, dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600), r);
	W(fd, 2048);
	W(fd, 2048);
	CL(fd);
}

static void names(void)
{
	static const char *const odd[] = {
		"u_\xff",         /* invalid UTF-8 */
		"u_\xfe",         /* invalid UTF-8 */
		"u_\xef\xbf\xbd", /* U+FFFD, valid: not the same as the two above */
		"u_\\xff",        /* the 4 characters \xff: not the same as u_<0xff> */
		"nl_a\nb",        /* a newline */
		"bs_a\\b",        /* a backslash */
		"ctl_\x01\x7f",   /* control bytes */
	};
	phase = "names";
	for (unsigned i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		int fd = xopen(odd[i], O_CREAT | O_EXCL | O_RDWR);
		W(fd, 50 + 10 * i);
		PR(fd, 1000, 0, 50 + 10 * i);
		CL(fd);
	}
}

static void relative(void)
{
	phase = "relative";
	if (chdir(dir) != 0)
		die("chdir");
	int fd = bind(syscall(SYS_openat, AT_FDCWD, "rel_1", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644),
		      row_of(abs_path("rel_1")));
	W(fd, 99);
	CL(fd);
}

static void manifest(FILE *m)
{
	for (int i = 0; i < nrows; i++) {
		struct row *r = &rows[i];
		if (r->anon) {
			fputs("A -", m);
		} else {
			fputs("P ", m);
			for (const unsigned char *c = (const unsigned char *)r->path; *c; c++)
				fprintf(m, "%02x", *c);
		}
		fprintf(m, " renamed=%d unlinked=%d inodes=", r->renamed, r->unlinked);
		for (int j = 0; j < r->ninodes; j++)
			fprintf(m, "%s%u:%u:%llu", j ? "," : "", r->inodes[j].maj, r->inodes[j].min, r->inodes[j].ino);
		for (int s = 0; s < NSC; s++)
			if (r->calls[s])
				fprintf(m, " %s=%llu/%llu", sc_names[s], r->calls[s], r->bytes[s]);
		fputc('\n', m);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3 || argv[1][0] != '/') {
		fprintf(stderr, "usage: churn /ABS/DIR MANIFEST\n");
		return 2;
	}
	dir = argv[1];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = 'a' + i % 26;
	memset(fd_row, -1, sizeof(fd_row));
	/* Opened first: every workload fd after it, and fopen does no I/O yet. */
	FILE *m = fopen(argv[2], "we");
	if (!m)
		die("manifest");
	recycle();
	recreate();
	lock();
	rename_open();
	unlink_open();
	hardlink();
	anonymous();
	names();
	relative();
	for (int fd = 0; fd < MAX_FDS; fd++)
		if (fd_row[fd] >= 0)
			fail("fd left open", fd, -1);
	phase = "manifest";
	manifest(m);
	if (fclose(m) != 0)
		die("manifest");
	return 0;
}
