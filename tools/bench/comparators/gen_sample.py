#!/usr/bin/env python3
"""Write N NDJSON lines that look like IncidentLedger incident events (for testing the comparators).

    python3 gen_sample.py --count 20000 --seed 1 --out /tmp/sample.ndjson

Deterministic for a given --seed: ~1000 streams, 8 event types, 200 establishments
(9-character FINESS numbers), lines of a few hundred bytes.
"""
import argparse
import json
import random
import sys
from datetime import datetime, timedelta, timezone

EVENT_TYPES = [
    "incident.opened", "service.degraded", "service.restored", "impact.assessed",
    "action.taken", "authority.notified", "incident.escalated", "incident.closed",
]
SERVICES = ["external_email", "patient_records", "pacs_imaging", "lab_results", "pharmacy",
            "telephony", "vpn", "active_directory", "billing", "emergency_dispatch"]
STATUSES = ["down", "degraded", "partial", "restored", "unknown"]
SOURCES = ["phone call with the IT director", "email from the CISO", "monitoring alert",
           "ticket from the service desk", "report from the night shift", "ANSSI bulletin"]
DOMAINS = ["chu-nantes.fr", "chu-rennes.fr", "ch-cholet.fr", "ars.sante.fr"]
WORDS = ("ransomware encrypted shares on the file server staff switched to paper procedures "
         "backups verified isolation of the network segment restore in progress outage "
         "affects consultations scheduling delayed emails bounce suspicious login vendor "
         "contacted firewall rules updated crisis cell convened").split()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="-", help="output file ('-' for stdout)")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    # FINESS numbers: 2-character département code + 7 digits.
    depts = [f"{d:02d}" for d in range(1, 96) if d != 20] + ["2A", "2B"]
    finess = [rng.choice(depts) + f"{rng.randrange(10**7):07d}" for _ in range(200)]
    start = datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=1)))

    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")
    with out:
        for i in range(args.count):
            at = start + timedelta(minutes=i * 7 + rng.randrange(7))
            precision = rng.choice(["minute", "minute", "hour", "day"])
            if precision != "minute":  # the timestamp is only known to that precision
                at = at.replace(minute=0, hour=at.hour if precision == "hour" else 0)
            event = {
                "streamId": f"incident-{rng.randrange(1000):04d}",
                "eventType": rng.choice(EVENT_TYPES),
                "occurredAt": {"precision": precision, "at": at.isoformat()},
                "actor": f"analyst-{rng.randrange(1, 40)}@{rng.choice(DOMAINS)}",
                "source": rng.choice(SOURCES),
                "payload": {
                    "establishment": rng.choice(finess),
                    "service": rng.choice(SERVICES),
                    "status": rng.choice(STATUSES),
                    "description": " ".join(rng.choices(WORDS, k=rng.randrange(8, 30))),
                },
            }
            out.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
