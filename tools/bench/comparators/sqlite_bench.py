#!/usr/bin/env python3
"""SQLite comparator for the IncidentLedger benchmark (standard-library sqlite3).

    python3 sqlite_bench.py --dir DIR --input WORKLOAD.ndjson --singles M

Table events(position INTEGER PRIMARY KEY, stream_id, event_type, body BLOB) with an
index on (stream_id, position); WAL journal, synchronous=FULL (every commit fsyncs the WAL).
Measures bulk insert (transactions of 10,000), M single-insert transactions, and a full
ordered scan. Prints one JSON object on stdout.
"""
import argparse
import json
import os
import sqlite3
import sys
import time

BATCH = 10_000
DB_NAME = "events.sqlite"


def percentile(sorted_values: list, pct: int) -> float:
    """Nearest rank, the same rule as raw_lmdb.c."""
    if not sorted_values:
        return 0.0
    rank = (pct * len(sorted_values) + 99) // 100
    return sorted_values[max(rank, 1) - 1]


def read_rows(path: str) -> list:
    """(stream_id, event_type, body) per non-empty line; parsed before any timing."""
    rows = []
    with open(path, "rb") as f:
        for line in f:
            body = line.rstrip(b"\r\n")
            if not body:
                continue
            event = json.loads(body)
            rows.append((str(event.get("streamId", "")), str(event.get("eventType", "")), body))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description="SQLite comparator")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--singles", type=int, required=True)
    args = ap.parse_args()

    rows = read_rows(args.input)
    if not rows or not 0 <= args.singles <= len(rows):
        sys.exit("sqlite_bench: need a non-empty input and 0 <= --singles <= number of lines")

    os.makedirs(args.dir, exist_ok=True)
    path = os.path.join(args.dir, DB_NAME)
    for suffix in ("", "-wal", "-shm", "-journal"):  # fresh database every run
        if os.path.exists(path + suffix):
            os.remove(path + suffix)

    # isolation_level=None: the module issues no implicit BEGIN; we write BEGIN/COMMIT ourselves.
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    sync = db.execute("PRAGMA synchronous").fetchone()[0]
    if mode != "wal" or sync != 2:
        sys.exit(f"sqlite_bench: durability settings not applied (journal_mode={mode}, synchronous={sync})")
    db.execute("CREATE TABLE events(position INTEGER PRIMARY KEY, stream_id TEXT, event_type TEXT, body BLOB)")
    db.execute("CREATE INDEX events_stream ON events(stream_id, position)")
    insert = "INSERT INTO events(position, stream_id, event_type, body) VALUES (?, ?, ?, ?)"

    # a. Bulk: one transaction per 10,000 rows.
    n = len(rows)
    t0 = time.perf_counter()
    for start in range(0, n, BATCH):
        db.execute("BEGIN")
        db.executemany(insert, ((start + i + 1, *row) for i, row in enumerate(rows[start:start + BATCH])))
        db.execute("COMMIT")
    bulk_s = time.perf_counter() - t0

    # b. Singles: one committed transaction per row (re-using the first M lines).
    latencies = []
    t0 = time.perf_counter()
    for i in range(args.singles):
        s = time.perf_counter()
        db.execute("BEGIN")
        db.execute(insert, (n + i + 1, *rows[i]))
        db.execute("COMMIT")
        latencies.append((time.perf_counter() - s) * 1e6)
    single_s = time.perf_counter() - t0
    latencies.sort()

    # c. Full scan in position order; the module copies each body into a bytes object.
    scanned = total = 0
    t0 = time.perf_counter()
    for _position, body in db.execute("SELECT position, body FROM events ORDER BY position"):
        scanned += 1
        total += len(body)
    scan_s = time.perf_counter() - t0
    if scanned != n + args.singles:
        sys.exit(f"sqlite_bench: scanned {scanned} rows, expected {n + args.singles}")
    db.close()

    print(json.dumps({
        "system": "sqlite",
        "bulk_events": n,
        "bulk_events_per_s": round(n / bulk_s, 1),
        "single_events": args.singles,
        "single_events_per_s": round(args.singles / single_s, 1) if args.singles else 0.0,
        "single_p50_us": round(percentile(latencies, 50), 1),
        "single_p99_us": round(percentile(latencies, 99), 1),
        "scan_events": scanned,
        "scan_events_per_s": round(scanned / scan_s, 1),
        "scan_bytes": total,
        "sqlite_version": sqlite3.sqlite_version,
    }))


if __name__ == "__main__":
    main()
