#!/usr/bin/env python3
"""eventsourcing (PyPI) comparator for the IncidentLedger benchmark, on its SQLite persistence.

    python3 eventsourcing_bench.py --dir DIR --input WORKLOAD.ndjson --singles M [--bulk N]

An `Incident` aggregate records each input line (parsed to a dict) as an
`Incident.Recorded` event; AGGREGATES aggregates are used round-robin.
  bulk (optional): N events saved 10,000 at a time with one Application.save() of all
                   aggregates (one SQLite transaction per batch);
  singles:         M events, one Application.save() (one committed transaction) per event;
  scan:            replay of the whole notification log in pages, deserialising each event.
Prints one JSON object on stdout.

Durability: eventsourcing.sqlite opens each connection in autocommit mode, switches the
file to WAL (`PRAGMA journal_mode=WAL`), and issues BEGIN/COMMIT itself; it sets no
`synchronous` level, so SQLite's compile-time default applies (FULL on Debian's
libsqlite3, but NORMAL on some builds, which is not durable across power loss in WAL).
We therefore set `PRAGMA synchronous=FULL` on every connection it opens and check it.
"""
import argparse
import json
import os
import sys
import time
from importlib.metadata import version

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.sqlite import SQLiteConnectionPool

AGGREGATES = 100
BATCH = 10_000
PAGE = 10_000
DB_NAME = "es.sqlite"

# The library has no setting for `synchronous`: wrap its connection factory (see docstring).
_create_connection = SQLiteConnectionPool._create_connection


def _create_durable_connection(self):
    conn = _create_connection(self)
    conn._sqlite_conn.execute("PRAGMA synchronous=FULL")
    return conn


SQLiteConnectionPool._create_connection = _create_durable_connection


class Incident(Aggregate):
    def __init__(self, name: str):
        self.name = name
        self.recorded = 0  # no payloads kept in memory: state stays small

    @event("Recorded")
    def record(self, record: dict) -> None:
        self.recorded += 1


class IncidentApp(Application):
    pass


def percentile(sorted_values: list, pct: int) -> float:
    """Nearest rank, the same rule as raw_lmdb.c."""
    if not sorted_values:
        return 0.0
    rank = (pct * len(sorted_values) + 99) // 100
    return sorted_values[max(rank, 1) - 1]


def main() -> None:
    ap = argparse.ArgumentParser(description="eventsourcing comparator")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--singles", type=int, required=True)
    ap.add_argument("--bulk", type=int, default=0, help="events to save in batches of 10,000 first")
    args = ap.parse_args()

    # Parse before any timing: we measure the library, not json.loads of the input.
    with open(args.input, "rb") as f:
        records = [json.loads(line) for line in f if line.strip()]
    if not records or args.singles < 0 or args.bulk < 0:
        sys.exit("eventsourcing_bench: need a non-empty input and non-negative counts")

    os.makedirs(args.dir, exist_ok=True)
    path = os.path.join(args.dir, DB_NAME)
    for suffix in ("", "-wal", "-shm", "-journal"):  # fresh database every run
        if os.path.exists(path + suffix):
            os.remove(path + suffix)

    app = IncidentApp(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path})
    with app.factory.datastore.transaction(commit=False) as c:
        c.execute("PRAGMA journal_mode")
        mode = c.fetchone()[0]
        c.execute("PRAGMA synchronous")
        sync = c.fetchone()[0]
    if mode != "wal" or sync != 2:
        sys.exit(f"eventsourcing_bench: not durable (journal_mode={mode}, synchronous={sync})")

    # Setup, untimed: create the aggregates (their Created events are in the log too).
    incidents = [Incident(f"incident-{i:04d}") for i in range(AGGREGATES)]
    app.save(*incidents)
    out = {"system": "eventsourcing"}

    # a. Bulk (optional): several aggregates' pending events saved in one transaction.
    if args.bulk:
        t0 = time.perf_counter()
        for start in range(0, args.bulk, BATCH):
            for i in range(start, min(start + BATCH, args.bulk)):
                incidents[i % AGGREGATES].record(records[i % len(records)])
            app.save(*incidents)
        bulk_s = time.perf_counter() - t0
        out.update(bulk_events=args.bulk, bulk_events_per_s=round(args.bulk / bulk_s, 1))

    # b. Singles: trigger one event and save it in its own committed transaction.
    latencies = []
    t0 = time.perf_counter()
    for i in range(args.singles):
        s = time.perf_counter()
        incident = incidents[i % AGGREGATES]
        incident.record(records[i % len(records)])
        app.save(incident)
        latencies.append((time.perf_counter() - s) * 1e6)
    single_s = time.perf_counter() - t0
    latencies.sort()

    # c. Replay the notification log page by page, deserialising every event.
    scanned = recorded = 0
    last = 0
    t0 = time.perf_counter()
    while True:
        page = app.recorder.select_notifications(start=last, limit=PAGE, inclusive_of_start=False)
        if not page:
            break
        for notification in page:
            domain_event = app.mapper.to_domain_event(notification)
            recorded += isinstance(domain_event, Incident.Recorded)
        scanned += len(page)
        last = page[-1].id
    scan_s = time.perf_counter() - t0
    if recorded != args.bulk + args.singles or scanned != recorded + AGGREGATES:
        sys.exit(f"eventsourcing_bench: replayed {scanned} notifications ({recorded} Recorded), "
                 f"expected {args.bulk + args.singles} Recorded + {AGGREGATES} Created")
    app.close()

    out.update(
        single_events=args.singles,
        single_events_per_s=round(args.singles / single_s, 1) if args.singles else 0.0,
        single_p50_us=round(percentile(latencies, 50), 1),
        single_p99_us=round(percentile(latencies, 99), 1),
        scan_events=scanned,
        scan_events_per_s=round(scanned / scan_s, 1),
        aggregates=AGGREGATES,
        eventsourcing_version=version("eventsourcing"),
        sqlite_version=__import__("sqlite3").sqlite_version,
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
