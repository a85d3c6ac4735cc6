/*
 * raw_lmdb — baseline for the IncidentLedger benchmark: what plain LMDB
 * (Debian's liblmdb, default durable flags) does with the same workload.
 *
 *   cc raw_lmdb.c -O2 -llmdb -o raw_lmdb
 *   raw_lmdb --dir DIR --input WORKLOAD.ndjson --singles M
 *
 * Each NDJSON line is an opaque value (its bytes, without the newline),
 * keyed by an 8-byte big-endian position starting at 1, in the main DB.
 * Prints one JSON object on stdout; on any error, one line on stderr and
 * a non-zero exit.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH 10000
#define MAP_SIZE (64ULL << 30) /* 64 GiB: sparse, only reserves address space */

static void die(const char *op, const char *msg) {
    fprintf(stderr, "raw_lmdb: %s: %s\n", op, msg);
    exit(1);
}

/* Every LMDB call goes through this: report the failing operation. */
#define CHECK(op, call)                                    \
    do {                                                   \
        int rc_ = (call);                                  \
        if (rc_ != MDB_SUCCESS) die(op, mdb_strerror(rc_)); \
    } while (0)

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void encode_key(uint64_t pos, unsigned char out[8]) {
    for (int i = 7; i >= 0; i--) { out[i] = (unsigned char)pos; pos >>= 8; }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array (same rule in the Python comparators). */
static double percentile(const double *sorted, size_t n, size_t pct) {
    size_t rank = (pct * n + 99) / 100; /* ceil(pct/100 * n) */
    return n ? sorted[rank ? rank - 1 : 0] : 0.0;
}

/* mkdir -p */
static void make_dirs(const char *path) {
    char *tmp = strdup(path);
    for (char *p = tmp + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) die("mkdir", strerror(errno));
            if (c == '\0') break;
            *p = c;
        }
    }
    free(tmp);
}

static void remove_stale(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (unlink(path) != 0 && errno != ENOENT) die("unlink stale file", strerror(errno));
}

int main(int argc, char **argv) {
    const char *dir = NULL, *input = NULL;
    long singles = -1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
        else if (!strcmp(argv[i], "--input")) input = argv[i + 1];
        else if (!strcmp(argv[i], "--singles")) singles = strtol(argv[i + 1], NULL, 10);
        else die("usage", "raw_lmdb --dir DIR --input WORKLOAD.ndjson --singles M");
    }
    if (!dir || !input || singles < 0 || argc % 2 == 0)
        die("usage", "raw_lmdb --dir DIR --input WORKLOAD.ndjson --singles M");

    /* Read the whole input into memory and split it into lines, so that
       file reading is never part of a timed section. */
    FILE *f = fopen(input, "rb");
    if (!f) die("open input", strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) die("seek input", strerror(errno));
    long fsize = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)fsize + 1);
    if (!buf || fread(buf, 1, (size_t)fsize, f) != (size_t)fsize) die("read input", "short read");
    fclose(f);
    size_t cap = 1024, n = 0;
    MDB_val *lines = malloc(cap * sizeof *lines);
    uint64_t expected_bytes = 0;
    for (char *p = buf, *end = buf + fsize; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        size_t len = (size_t)(e - p);
        if (len > 0 && p[len - 1] == '\r') len--;
        if (len > 0) {
            if (n == cap) lines = realloc(lines, (cap *= 2) * sizeof *lines);
            lines[n].mv_data = p;
            lines[n].mv_size = len;
            expected_bytes += len;
            n++;
        }
        p = e + 1;
    }
    if (n == 0) die("read input", "no lines");
    if ((size_t)singles > n) die("usage", "--singles must not exceed the number of input lines");
    for (long i = 0; i < singles; i++) expected_bytes += lines[i].mv_size;

    make_dirs(dir);
    remove_stale(dir, "data.mdb");
    remove_stale(dir, "lock.mdb");

    /* Default flags: every commit fsyncs (no MDB_NOSYNC / MDB_NOMETASYNC / MDB_WRITEMAP). */
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    unsigned char kbuf[8];
    MDB_val key = {8, kbuf};
    CHECK("mdb_env_create", mdb_env_create(&env));
    CHECK("mdb_env_set_mapsize", mdb_env_set_mapsize(env, MAP_SIZE));
    CHECK("mdb_env_open", mdb_env_open(env, dir, 0, 0644));
    CHECK("mdb_txn_begin", mdb_txn_begin(env, NULL, 0, &txn));
    CHECK("mdb_dbi_open", mdb_dbi_open(txn, NULL, 0, &dbi));
    CHECK("mdb_txn_commit", mdb_txn_commit(txn));

    /* a. Bulk append: MDB_APPEND (keys are increasing), commit every BATCH records. */
    uint64_t pos = 0;
    double t0 = now_s();
    for (size_t i = 0; i < n; i += BATCH) {
        CHECK("mdb_txn_begin (bulk)", mdb_txn_begin(env, NULL, 0, &txn));
        size_t stop = i + BATCH < n ? i + BATCH : n;
        for (size_t j = i; j < stop; j++) {
            encode_key(++pos, kbuf);
            CHECK("mdb_put (bulk)", mdb_put(txn, dbi, &key, &lines[j], MDB_APPEND));
        }
        CHECK("mdb_txn_commit (bulk)", mdb_txn_commit(txn));
    }
    double bulk_s = now_s() - t0;

    /* b. Single durable commits: one write transaction per record. */
    double *lat_us = malloc(((size_t)singles + 1) * sizeof *lat_us);
    t0 = now_s();
    for (long i = 0; i < singles; i++) {
        double s = now_s();
        CHECK("mdb_txn_begin (single)", mdb_txn_begin(env, NULL, 0, &txn));
        encode_key(++pos, kbuf);
        CHECK("mdb_put (single)", mdb_put(txn, dbi, &key, &lines[i], MDB_APPEND));
        CHECK("mdb_txn_commit (single)", mdb_txn_commit(txn));
        lat_us[i] = (now_s() - s) * 1e6;
    }
    double single_s = now_s() - t0;
    qsort(lat_us, (size_t)singles, sizeof *lat_us, cmp_double);

    /* c. Full scan: cursor over every record, reading every value byte
       (8-byte word sum, so the bytes are really paged in and the loop stays cheap). */
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t scanned = 0, bytes = 0, sum = 0;
    t0 = now_s();
    CHECK("mdb_txn_begin (scan)", mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    CHECK("mdb_cursor_open", mdb_cursor_open(txn, dbi, &cur));
    int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == MDB_SUCCESS) {
        const unsigned char *d = v.mv_data;
        size_t m = v.mv_size, w = 0;
        for (; w + 8 <= m; w += 8) { uint64_t x; memcpy(&x, d + w, 8); sum += x; }
        for (; w < m; w++) sum += d[w];
        bytes += m;
        scanned++;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc != MDB_NOTFOUND) die("mdb_cursor_get (scan)", mdb_strerror(rc));
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    double scan_s = now_s() - t0;
    if (scanned != n + (uint64_t)singles || bytes != expected_bytes)
        die("scan", "record count or byte total does not match what was written");

    mdb_env_close(env);

    int maj, min, patch;
    mdb_version(&maj, &min, &patch);
    printf("{\"system\":\"raw-lmdb\",\"bulk_events\":%zu,\"bulk_events_per_s\":%.1f,"
           "\"single_events\":%ld,\"single_events_per_s\":%.1f,"
           "\"single_p50_us\":%.1f,\"single_p99_us\":%.1f,"
           "\"scan_events\":%llu,\"scan_events_per_s\":%.1f,\"scan_bytes\":%llu,"
           "\"scan_checksum\":\"%016llx\",\"lmdb_version\":\"%d.%d.%d\"}\n",
           n, n / bulk_s, singles, singles ? singles / single_s : 0.0,
           percentile(lat_us, (size_t)singles, 50), percentile(lat_us, (size_t)singles, 99),
           (unsigned long long)scanned, scanned / scan_s, (unsigned long long)bytes,
           (unsigned long long)sum, maj, min, patch);
    free(lat_us);
    free(lines);
    free(buf);
    return 0;
}
