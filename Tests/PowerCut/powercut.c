// A power-cut recorder, loaded with LD_PRELOAD into the crash test's child (Tests/EventStoreTests/
// CrashSimulatorTests.swift compiles it with the toolchain's clang at test time).
//
// It passes every call through and, for the one file named by POWERCUT_FILE (the ledger's data.mdb), appends to
// POWERCUT_LOG a record of each completed write (offset, bytes, and whether its descriptor was opened with
// O_DSYNC/O_SYNC, which makes that write durable by itself) and of each fsync/fdatasync/ftruncate. After the child is
// SIGKILLed, the test rebuilds the file a power cut would have left: the file as it was before the child started, every
// write completed before the last sync began, the O_DSYNC writes, and any subset or torn prefix of the other writes.
//
// Debian's liblmdb 0.9.24 (`nm -D --undefined-only liblmdb.so.0`) writes pages with pwrite, or lseek + writev for a run
// of pages, syncs them with fdatasync (fsync with MDB_FSYNCONLY), then writes the meta page with pwrite on a second
// descriptor opened O_DSYNC; with MDB_NOSYNC it writes the meta page on the first descriptor and never syncs. write,
// pwritev and ftruncate are recorded too so that nothing reaching the file is missed. A writable shared map of the file
// (MDB_WRITEMAP, synced with msync) would write through memory, out of this recorder's sight: it is logged so that the
// test refuses it instead of passing on writes it never saw. Without one, msync never concerns the file.
//
// Records are logged after the call returns, under one lock, each with a single write to the log: a record the kill
// cut short is dropped by the reader, and a write whose record is missing had not completed before the last sync.
//
// With POWERCUT_KILL_AT_WRITE=N the process kills itself (SIGKILL) once its Nth write that is not durable by itself
// is logged: between a commit's page writes and its sync, where a power cut does the most damage.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

// The record kinds, read by PowerCutLog in CrashSimulatorTests.swift.
enum {
    RECORD_WRITE = 'W',          // offset, length, then the bytes written
    RECORD_SYNC = 'S',           // fsync or fdatasync of the file; offset: how many records were logged when it began
    RECORD_TRUNCATE = 'T',       // ftruncate: offset is the new size
    RECORD_WRITABLE_MAP = 'M',   // a shared writable map of the file: the recorder is blind to it
};

struct record {
    uint32_t kind;
    uint32_t durable;  // 1 for a write on an O_DSYNC/O_SYNC descriptor
    int64_t offset;
    int64_t length;
};

#define TRACKED_FDS 4096
// 0: not the file; 1: the file; 2: the file, opened O_DSYNC or O_SYNC.
static volatile int tracked[TRACKED_FDS];
static int log_fd = -1;
static dev_t target_dev;
static ino_t target_ino;
static const char *target_path;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static long kill_at_write;  // 0: never
static long plain_writes;   // writes not durable by themselves, counted under log_lock
static long records_logged; // under log_lock

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_close)(int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev64)(int, const struct iovec *, int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off_t);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static void *(*real_mmap64)(void *, size_t, int, int, int, off_t);

#define RESOLVE(name) \
    do { \
        if (!real_##name) real_##name = dlsym(RTLD_NEXT, #name); \
    } while (0)

static void resolve_all(void) {
    RESOLVE(open); RESOLVE(open64); RESOLVE(openat); RESOLVE(openat64); RESOLVE(close);
    RESOLVE(write); RESOLVE(pwrite); RESOLVE(pwrite64); RESOLVE(writev); RESOLVE(pwritev); RESOLVE(pwritev64);
    RESOLVE(fsync); RESOLVE(fdatasync); RESOLVE(ftruncate); RESOLVE(ftruncate64); RESOLVE(mmap); RESOLVE(mmap64);
}

__attribute__((constructor)) static void powercut_init(void) {
    resolve_all();
    target_path = getenv("POWERCUT_FILE");
    const char *log_path = getenv("POWERCUT_LOG");
    if (!target_path || !log_path) return;
    log_fd = real_open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const char *kill_at = getenv("POWERCUT_KILL_AT_WRITE");
    if (kill_at) kill_at_write = strtol(kill_at, NULL, 10);
}

static int is_tracked(int fd) { return log_fd >= 0 && fd >= 0 && fd < TRACKED_FDS && tracked[fd]; }

// After an open that may write: is it the file? Compared by inode, as LMDB may name it by a relative path.
static void note_open(int fd, int flags) {
    if (log_fd < 0 || fd < 0 || fd >= TRACKED_FDS) return;
    tracked[fd] = 0;
    if ((flags & O_ACCMODE) == O_RDONLY) return;
    struct stat opened, target;
    if (fstat(fd, &opened) != 0 || stat(target_path, &target) != 0) return;
    if (opened.st_dev != target.st_dev || opened.st_ino != target.st_ino) return;
    target_dev = target.st_dev;
    target_ino = target.st_ino;
    // O_SYNC includes the O_DSYNC bit on Linux.
    tracked[fd] = (flags & O_DSYNC) ? 2 : 1;
}

#define CHUNK 512

// One record and its bytes in one write to the log, so records never interleave.
static void log_record(uint32_t kind, int fd, int64_t offset, const struct iovec *iov, int iovcnt, int64_t length) {
    uint32_t durable = fd >= 0 && fd < TRACKED_FDS && tracked[fd] == 2;
    struct record header = {kind, durable, offset, length};
    struct iovec parts[CHUNK + 1];
    int count = 0;
    parts[count++] = (struct iovec){&header, sizeof header};
    int64_t left = length;
    for (int i = 0; i < iovcnt && left > 0; i++) {
        size_t take = iov[i].iov_len < (size_t)left ? iov[i].iov_len : (size_t)left;
        parts[count++] = (struct iovec){iov[i].iov_base, take};
        left -= (int64_t)take;
    }
    int saved = errno;
    pthread_mutex_lock(&log_lock);
    real_writev(log_fd, parts, count);
    records_logged++;
    if (kind == RECORD_WRITE && !durable && ++plain_writes == kill_at_write) raise(SIGKILL);
    pthread_mutex_unlock(&log_lock);
    errno = saved;
}

// A write of many buffers is logged as consecutive records of at most CHUNK buffers each (a record is one writev).
static void log_write(int fd, int64_t offset, const struct iovec *iov, int iovcnt, ssize_t written) {
    int64_t left = written;
    for (int first = 0; first < iovcnt && left > 0; first += CHUNK) {
        int count = iovcnt - first < CHUNK ? iovcnt - first : CHUNK;
        int64_t bytes = 0;
        for (int i = first; i < first + count; i++) bytes += (int64_t)iov[i].iov_len;
        if (bytes > left) bytes = left;
        log_record(RECORD_WRITE, fd, offset, iov + first, count, bytes);
        offset += bytes;
        left -= bytes;
    }
}

static void log_plain(uint32_t kind, int fd, int64_t offset) { log_record(kind, fd, offset, NULL, 0, 0); }

#define OPEN_MODE(flags, mode) \
    mode_t mode = 0; \
    if (((flags) & O_CREAT) || ((flags) & __O_TMPFILE) == __O_TMPFILE) { \
        va_list args; \
        va_start(args, flags); \
        mode = va_arg(args, mode_t); \
        va_end(args); \
    }

int open(const char *path, int flags, ...) {
    OPEN_MODE(flags, mode);
    RESOLVE(open);
    int fd = real_open(path, flags, mode);
    note_open(fd, flags);
    return fd;
}

int open64(const char *path, int flags, ...) {
    OPEN_MODE(flags, mode);
    RESOLVE(open64);
    int fd = real_open64(path, flags, mode);
    note_open(fd, flags);
    return fd;
}

int openat(int dirfd, const char *path, int flags, ...) {
    OPEN_MODE(flags, mode);
    RESOLVE(openat);
    int fd = real_openat(dirfd, path, flags, mode);
    note_open(fd, flags);
    return fd;
}

int openat64(int dirfd, const char *path, int flags, ...) {
    OPEN_MODE(flags, mode);
    RESOLVE(openat64);
    int fd = real_openat64(dirfd, path, flags, mode);
    note_open(fd, flags);
    return fd;
}

int close(int fd) {
    RESOLVE(close);
    if (fd >= 0 && fd < TRACKED_FDS) tracked[fd] = 0;
    return real_close(fd);
}

ssize_t write(int fd, const void *buffer, size_t count) {
    RESOLVE(write);
    if (!is_tracked(fd)) return real_write(fd, buffer, count);
    off_t offset = lseek(fd, 0, SEEK_CUR);
    ssize_t written = real_write(fd, buffer, count);
    struct iovec part = {(void *)buffer, count};
    log_write(fd, offset, &part, 1, written);
    return written;
}

ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) {
    RESOLVE(pwrite);
    ssize_t written = real_pwrite(fd, buffer, count, offset);
    if (is_tracked(fd)) {
        struct iovec part = {(void *)buffer, count};
        log_write(fd, offset, &part, 1, written);
    }
    return written;
}

ssize_t pwrite64(int fd, const void *buffer, size_t count, off_t offset) {
    RESOLVE(pwrite64);
    ssize_t written = real_pwrite64(fd, buffer, count, offset);
    if (is_tracked(fd)) {
        struct iovec part = {(void *)buffer, count};
        log_write(fd, offset, &part, 1, written);
    }
    return written;
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt) {
    RESOLVE(writev);
    if (!is_tracked(fd)) return real_writev(fd, iov, iovcnt);
    // LMDB seeks, then writes a run of pages at the file position.
    off_t offset = lseek(fd, 0, SEEK_CUR);
    ssize_t written = real_writev(fd, iov, iovcnt);
    log_write(fd, offset, iov, iovcnt, written);
    return written;
}

ssize_t pwritev(int fd, const struct iovec *iov, int iovcnt, off_t offset) {
    RESOLVE(pwritev);
    ssize_t written = real_pwritev(fd, iov, iovcnt, offset);
    if (is_tracked(fd)) log_write(fd, offset, iov, iovcnt, written);
    return written;
}

ssize_t pwritev64(int fd, const struct iovec *iov, int iovcnt, off_t offset) {
    RESOLVE(pwritev64);
    ssize_t written = real_pwritev64(fd, iov, iovcnt, offset);
    if (is_tracked(fd)) log_write(fd, offset, iov, iovcnt, written);
    return written;
}

// A sync covers the writes completed when it began, not one another thread completes while it runs.
static long records_so_far(void) {
    pthread_mutex_lock(&log_lock);
    long count = records_logged;
    pthread_mutex_unlock(&log_lock);
    return count;
}

int fsync(int fd) {
    RESOLVE(fsync);
    long covered = is_tracked(fd) ? records_so_far() : 0;
    int result = real_fsync(fd);
    if (result == 0 && is_tracked(fd)) log_plain(RECORD_SYNC, fd, covered);
    return result;
}

int fdatasync(int fd) {
    RESOLVE(fdatasync);
    long covered = is_tracked(fd) ? records_so_far() : 0;
    int result = real_fdatasync(fd);
    if (result == 0 && is_tracked(fd)) log_plain(RECORD_SYNC, fd, covered);
    return result;
}

int ftruncate(int fd, off_t length) {
    RESOLVE(ftruncate);
    int result = real_ftruncate(fd, length);
    if (result == 0 && is_tracked(fd)) log_plain(RECORD_TRUNCATE, fd, length);
    return result;
}

int ftruncate64(int fd, off_t length) {
    RESOLVE(ftruncate64);
    int result = real_ftruncate64(fd, length);
    if (result == 0 && is_tracked(fd)) log_plain(RECORD_TRUNCATE, fd, length);
    return result;
}

// Only to see a writable shared map of the file; everything else passes straight through.
static void note_map(int fd, int prot, int flags) {
    if (!(prot & PROT_WRITE) || !(flags & MAP_SHARED) || log_fd < 0 || fd < 0) return;
    struct stat mapped;
    if (fstat(fd, &mapped) == 0 && target_ino != 0 && mapped.st_dev == target_dev && mapped.st_ino == target_ino) {
        log_plain(RECORD_WRITABLE_MAP, fd, 0);
    }
}

void *mmap(void *address, size_t length, int prot, int flags, int fd, off_t offset) {
    RESOLVE(mmap);
    void *result = real_mmap(address, length, prot, flags, fd, offset);
    if (result != MAP_FAILED) note_map(fd, prot, flags);
    return result;
}

void *mmap64(void *address, size_t length, int prot, int flags, int fd, off_t offset) {
    RESOLVE(mmap64);
    void *result = real_mmap64(address, length, prot, flags, fd, offset);
    if (result != MAP_FAILED) note_map(fd, prot, flags);
    return result;
}
