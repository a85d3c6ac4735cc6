#!/usr/bin/env bash
# The main job: a fresh ledger, a few facts of the CHU de Nantes attack, read back, then verified twice:
# by the ledger itself and by tools/verify_chain.py, which knows only the documented canonical encoding.
set -euo pipefail
ledger=${1:-.build/debug/ledger}
data=$(mktemp -d)/ledger-data
trap 'rm -rf "$(dirname "$data")"' EXIT
export LEDGER_ACTOR=crisis-cell@chu-nantes.example

"$ledger" init --data-dir "$data"
"$ledger" append --data-dir "$data" --stream incident:chu-nantes-2024-01 --expected-version no-stream <<'EVENTS'
{"eventType":"attack.detected","occurredAt":{"precision":"minute","at":"2024-01-15T01:20:00+01:00"},"source":"Ouest-France, 15 January 2024","payload":{"description":"Internet cut and external email down since 01:20"}}
{"eventType":"service.degraded","occurredAt":{"precision":"minute","at":"2024-01-15T01:20:00+01:00"},"source":"Ouest-France, 15 January 2024","payload":{"establishment":"440000289","service":"external_email","status":"down"}}
{"eventType":"service.degraded","occurredAt":{"precision":"day","at":"2024-01-15T00:00:00+01:00"},"source":"Ouest-France, 15 January 2024","payload":{"establishment":"440000289","service":"online_booking","status":"down","description":"the article gives only the day"}}
EVENTS
"$ledger" append --data-dir "$data" --stream incident:chu-nantes-2024-01 --expected-version 3 <<'EVENTS'
{"eventType":"service.restored","occurredAt":{"precision":"day","at":"2024-01-16T00:00:00+01:00"},"source":"Ouest-France, 16 January 2024","payload":{"establishment":"440000289","service":"internet_access","extent":"partial"}}
EVENTS
"$ledger" read --data-dir "$data"
"$ledger" verify --data-dir "$data"
"$ledger" read --data-dir "$data" --format ndjson | python3 "$(dirname "$0")/verify_chain.py"
