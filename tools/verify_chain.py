#!/usr/bin/env python3
"""Re-verify an IncidentLedger hash chain from `ledger read --format ndjson`, without the ledger's code.

Usage: ledger read --format ndjson | python3 tools/verify_chain.py
Each line is an event envelope with its "hash". The hash is the SHA-256 of the envelope without "hash",
as canonical JSON: keys sorted, no white space, UTF-8 (see docs/canonical-encoding.md).
"""
import hashlib
import json
import sys

previous = "0" * 64
count = 0
for number, line in enumerate(sys.stdin, start=1):
    if not line.strip():
        continue
    event = json.loads(line)
    stated = event.pop("hash")
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    computed = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    if event["position"] != count + 1:
        sys.exit(f"line {number}: position {event['position']} where {count + 1} was expected")
    if event["previousHash"] != previous:
        sys.exit(f"position {event['position']}: previousHash does not match the hash of the event before")
    if computed != stated:
        sys.exit(f"position {event['position']}: hash {stated} but the canonical bytes hash to {computed}")
    previous, count = stated, count + 1
print(f"chain of {count} events verified; head hash {previous}")
