#!/usr/bin/env python3
"""Re-verify an IncidentLedger hash chain from `ledger read --format ndjson`, without the ledger's code.

Usage: ledger read --format ndjson | python3 tools/verify_chain.py
Each line is an event envelope with its "hash": the SHA-256 of the envelope without "hash" in the JSON
Canonicalization Scheme (RFC 8785, PyPI `rfc8785`); see docs/canonical-encoding.md. Strict: a duplicate key, a
line that is not UTF-8, a gap in positions or stream versions, or a recordedAt that does not increase fails.
"""
import hashlib
import json
import sys

import rfc8785


def unique_keys(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def fail(message):
    sys.exit(f"verify_chain: {message}")


previous, count, last_recorded, versions = "0" * 64, 0, "", {}
for number, raw in enumerate(sys.stdin.buffer, start=1):  # bytes: UTF-8 whatever the locale
    if not raw.strip():
        continue
    try:
        event = json.loads(raw.decode("utf-8"), object_pairs_hook=unique_keys)
        stated = event.pop("hash")
        computed = hashlib.sha256(rfc8785.dumps(event)).hexdigest()
    except (UnicodeDecodeError, ValueError, KeyError, AttributeError, rfc8785.CanonicalizationError) as error:
        fail(f"line {number}: {error}")
    position = event.get("position")
    if position != count + 1:
        fail(f"line {number}: position {position} where {count + 1} was expected")
    if event.get("previousHash") != previous:
        fail(f"position {position}: previousHash does not match the hash of the event before")
    if computed != stated:
        fail(f"position {position}: hash {stated} but the canonical bytes hash to {computed}")
    recorded = event.get("recordedAt", "")
    if not recorded > last_recorded:  # fixed-width UTC text: string order is time order
        fail(f"position {position}: recordedAt {recorded} does not follow {last_recorded}")
    stream = event.get("streamId")
    if event.get("streamVersion") != versions.get(stream, 0) + 1:
        fail(f"position {position}: {stream} version {event.get('streamVersion')} where {versions.get(stream, 0) + 1} was expected")
    previous, count, last_recorded, versions[stream] = stated, count + 1, recorded, event["streamVersion"]
print(f"chain of {count} events verified; head hash {previous}")
