#!/usr/bin/env python3
"""Check IncidentLedger's JSON Schemas, the demo dataset, stored events and the schema examples, offline.

Usage:
  python3 tools/validate_schemas.py [--dataset FILE.ndjson] [--stored FILE.ndjson] [--examples] [--outputs DIR] [-v]

With no option it checks the schemas, tools/demo/dataset.ndjson and schemas/examples/.

- Every file in schemas/ (examples/ aside) must be a valid draft 2020-12 schema whose $id is
  https://incidentledger.example/schemas/<its path>, and each of its $refs must resolve in a
  referencing.Registry built from those files (no network).
- --dataset: each line is {"recordAt": RFC 3339, "event": input event}. The event must carry eventId, streamId
  and actor, pass envelope.input.schema.json, and its payload events/<eventType>.schema.json (an unknown
  eventType is an error). Also: recordAt never goes back; no fact is recorded before its occurredAt starts; an
  interval ends after it starts; eventIds are unique; an establishment is registered (on stream
  establishment:<FINESS>) before an incident names it; group events are on stream group:<groupId>; an incident
  stream starts with incident.opened; event.corrected / event.updated / event.retracted name an earlier event of
  the same stream, and the changes of a correction or an update applied to the target's payload still pass the
  corrected type's schema.
- --stored: each line of `ledger read --format ndjson` must pass envelope.schema.json and its payload schema,
  with the same correction and retraction checks.
- Every payload: catalogue.json's "ranges" (amountMin <= amountMax), which JSON Schema cannot express.
- --examples: schemas/examples/<eventType>.json (one per event type) must pass; each file of
  schemas/examples/invalid/ must fail (one that passes is reported as a failure).
- --outputs DIR: each DIR/<output>[.<variant>].json, a `--format json` document of the CLI, must pass
  schemas/outputs/<output>.schema.json (whose items are the service's components in schemas/openapi.json,
  registered at its $id-less URL https://incidentledger.example/schemas/openapi.json), and fail once its
  formatVersion is dropped or changed, an unknown member is added (where the document is closed) or an unknown
  member is added to its first list item: a schema that lets those through checks nothing. Every schema of
  schemas/outputs/ (shared.schema.json aside) must have been checked by at least one file.

Prints one line per error, then `N passed, M failed` (N items validated OK). Exits 1 when anything failed.
"""
import argparse
import datetime
import json
import sys
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
BASE = "https://incidentledger.example/schemas/"
CORRECTED, RETRACTED, UPDATED = "event.corrected", "event.retracted", "event.updated"
REVISIONS = (CORRECTED, RETRACTED, UPDATED)
LEDGER_ASSIGNED = ("position", "streamVersion", "recordedAt", "previousHash", "hash")
MAX_MESSAGE = 300


class Report:
    def __init__(self, verbose=False):
        self.passed = 0
        self.failed = 0
        self.verbose = verbose

    def item(self, label, errors):
        if errors:
            self.failed += 1
            for error in errors:
                print(f"{label}: {error}")
        else:
            self.passed += 1
            if self.verbose:
                print(f"{label}: ok")


def shorten(text):
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def describe(error):
    """One readable message for a jsonschema error."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        options = sorted({shorten(sub.message) for sub in error.context})
        return "must satisfy one of: " + "; ".join(options)
    if error.validator is None:  # a false schema
        return "not allowed here"
    rule = error.schema.get("description") if isinstance(error.schema, dict) else None
    if error.validator in ("pattern", "not") and rule:
        return f"{shorten(repr(error.instance))}: {rule}"
    return shorten(error.message)


def join_path(prefix, json_path):
    """Joins a prefix such as "$.payload" and a jsonschema path such as "$.status"."""
    return prefix + json_path[1:]


class Schemas:
    def __init__(self, report):
        self.report = report
        self.documents = {}  # relative path -> schema
        resources = []
        files = sorted(
            p for p in SCHEMAS.rglob("*.json") if "examples" not in p.relative_to(SCHEMAS).parts
        )
        for path in files:
            relative = path.relative_to(SCHEMAS).as_posix()
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                report.item(f"schemas/{relative}", [f"not readable JSON: {exc}"])
                continue
            self.documents[relative] = document
            # The bundled OpenAPI document too: its components are JSON Schema 2020-12, and the CLI's output
            # schemas refer to them (the service serves the same items).
            if relative.endswith(".schema.json") or relative == "openapi.json":
                resources.append((BASE + relative, Resource.from_contents(document, default_specification=DRAFT202012)))
        self.registry = Registry().with_resources(resources)
        self.catalogue = self.documents.get("catalogue.json", {}).get("eventTypes", {})
        self._validators = {}

    def check(self):
        """check_schema on every schema, $id consistency and $ref resolution; catalogue.json against the files."""
        for relative, document in self.documents.items():
            if not relative.endswith(".schema.json"):
                continue
            errors = []
            try:
                Draft202012Validator.check_schema(document)
            except SchemaError as exc:
                errors.append(f"not a valid draft 2020-12 schema: {exc.message}")
            if document.get("$id") != BASE + relative:
                errors.append(f"$id is {document.get('$id')!r}, expected {BASE + relative!r}")
            if document.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
                errors.append("$schema must be https://json-schema.org/draft/2020-12/schema")
            resolver = self.registry.resolver(base_uri=BASE + relative)
            for ref in sorted(set(_refs(document))):
                try:
                    resolver.lookup(ref)
                except Unresolvable as exc:
                    errors.append(f"$ref {ref!r} does not resolve: {shorten(str(exc))}")
            self.report.item(f"schemas/{relative}", errors)
        self.check_catalogue()

    def check_catalogue(self):
        errors = []
        if not self.catalogue:
            errors.append("schemas/catalogue.json has no eventTypes")
        for name, entry in self.catalogue.items():
            relative = f"events/{name}.schema.json"
            schema = self.documents.get(relative)
            if entry.get("schema") != relative:
                errors.append(f"{name}: schema is {entry.get('schema')!r}, expected {relative!r}")
            if schema is None:
                errors.append(f"{name}: {relative} is missing")
                continue
            if entry.get("required") != schema.get("required", []):
                errors.append(f"{name}: required {entry.get('required')} but the schema says {schema.get('required')}")
            if entry.get("fields") != list(schema.get("properties", {})):
                errors.append(f"{name}: fields {entry.get('fields')} but the schema has {list(schema.get('properties', {}))}")
            if schema.get("additionalProperties") is not False:
                errors.append(f"{name}: payload schema must set additionalProperties false")
        for relative in self.documents:
            if relative.startswith("events/") and relative[len("events/"):-len(".schema.json")] not in self.catalogue:
                errors.append(f"{relative} is not listed in catalogue.json")
        self.report.item("schemas/catalogue.json", errors)

    def validator(self, relative):
        if relative not in self._validators:
            schema = {"$ref": BASE + relative}
            self._validators[relative] = Draft202012Validator(
                schema, registry=self.registry, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
        return self._validators[relative]

    def errors(self, relative, instance, prefix="$"):
        found = sorted(self.validator(relative).iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
        return [f"{join_path(prefix, e.json_path)}: {describe(e)}" for e in found]

    def payload_errors(self, event, prefix="$.payload"):
        """Errors of the payload against its event type's schema (and unknown types / versions)."""
        event_type = event.get("eventType")
        if not isinstance(event_type, str):
            return []  # the envelope schema reports it
        if event_type not in self.catalogue:
            return [f"$.eventType: unknown event type {event_type!r} (not in schemas/catalogue.json)"]
        version = event.get("schemaVersion", 1)
        if version != 1:
            return [f"$.schemaVersion: no payload schema for {event_type} version {version!r} (the catalogue is at version 1)"]
        payload = event.get("payload", {})
        if not isinstance(payload, dict):
            return []  # the envelope schema reports it
        return self.errors(self.catalogue[event_type]["schema"], payload, prefix) + self.range_errors(event_type, payload, prefix)

    def range_errors(self, event_type, payload, prefix="$.payload"):
        """catalogue.json's ranges, which JSON Schema cannot state: when both ends are given, low <= high."""
        errors = []
        for rule in self.catalogue.get(event_type, {}).get("ranges", []):
            low, high = payload.get(rule["low"]), payload.get(rule["high"])
            numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
            if numbers and low > high:
                errors.append(f"{prefix}.{rule['high']}: {high} is below {rule['low']} {low}")
        return errors


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


# The format checker asserts "date-time" only when rfc3339-validator is installed; otherwise real dates
# (no 30 February) are checked here.
DATE_TIME_CHECKED = "date-time" in Draft202012Validator.FORMAT_CHECKER.checkers


def parse_time(text):
    try:
        return datetime.datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except (TypeError, ValueError, AttributeError):
        return None


def real_date_errors(value, path):
    if DATE_TIME_CHECKED or not isinstance(value, str) or parse_time(value) is not None:
        return []
    return [f"{path}: {value!r} is not a real date and time"]


def occurred_errors(occurred, path):
    """What the schema cannot say about an occurredAt: an interval must end after it starts."""
    if not isinstance(occurred, dict):
        return []
    errors = [e for key in ("at", "from", "to") for e in real_date_errors(occurred.get(key), f"{path}.{key}")]
    if errors or occurred.get("precision") != "interval":
        return errors
    start, end = parse_time(occurred.get("from")), parse_time(occurred.get("to"))
    if start and end and end <= start:
        return [f"{path}.to: must be after from ({occurred.get('from')})"]
    return []


def occurred_start(occurred):
    if not isinstance(occurred, dict):
        return None
    return parse_time(occurred.get("from") if occurred.get("precision") == "interval" else occurred.get("at"))


def input_errors(event):
    """What the input form adds to its schema: ledger-assigned fields named as such, byte limits."""
    errors = [f"$.{key}: assigned by the ledger; must not be supplied" for key in LEDGER_ASSIGNED if key in event]
    return errors + byte_limit_errors(event)


def byte_limit_errors(event):
    errors = []
    for field, limit in (("actor", 200), ("source", 4000), ("reason", 4000)):
        value = event.get(field)
        if isinstance(value, str) and len(value.encode("utf-8")) > limit:
            errors.append(f"$.{field}: longer than {limit} bytes")
    return errors


class History:
    """Earlier events by id, to check corrections and retractions."""

    def __init__(self, schemas):
        self.schemas = schemas
        self.events = {}  # lowercased id -> {"stream", "type", "payload", "retracted"}
        self.first_version = {}  # stream -> first streamVersion seen (stored files)

    def check(self, event, stream, strict=True):
        errors = []
        event_type, payload = event.get("eventType"), event.get("payload", {})
        if event_type not in REVISIONS or not isinstance(payload, dict):
            return errors
        field = {CORRECTED: "correctedEventId", RETRACTED: "retractedEventId", UPDATED: "updatedEventId"}[event_type]
        target_id = payload.get(field)
        if not isinstance(target_id, str):
            return errors
        target = self.events.get(target_id.lower())
        path = f"$.payload.{field}"
        if target is None:
            if strict:
                errors.append(f"{path}: no earlier event {target_id} in this file")
            return errors
        if target["stream"] != stream:
            errors.append(f"{path}: event {target_id} is in stream {target['stream']!r}, not {stream!r}")
            return errors
        if event_type == RETRACTED:
            if target["type"] in REVISIONS:
                errors.append(f"{path}: a {target['type']} cannot be retracted")
            elif target["retracted"]:
                errors.append(f"{path}: event {target_id} is already retracted")
            else:
                target["retracted"] = True
            return errors
        verb = "corrected" if event_type == CORRECTED else "updated"
        if target["type"] in REVISIONS:
            errors.append(f"{path}: {target['type']} events cannot be {verb}; revise the original event")
            return errors
        if target["retracted"]:
            errors.append(f"{path}: event {target_id} was retracted and cannot be {verb}")
            return errors
        changes = payload.get("changes")
        if event_type == UPDATED and isinstance(changes, dict):
            # What a fact is about does not change in the world (the Swift rules say the same).
            for field in ("establishment", "establishments", "service"):
                if field in changes:
                    errors.append(f"$.payload.changes.{field}: names what the fact is about, which an update does not change")
            if errors:
                return errors
        if isinstance(changes, dict) and target["type"] in self.schemas.catalogue:
            merged = dict(target["payload"])
            merged.update(changes)
            found = self.schemas.errors(self.schemas.catalogue[target["type"]]["schema"], merged, "$.payload.changes")
            found += self.schemas.range_errors(target["type"], merged, "$.payload.changes")
            errors.extend(f"{e} (after applying the changes to the {target['type']} payload)" for e in found)
            # An update's value holds from its time on: the stored payload stays as recorded.
            if not found and event_type == CORRECTED:
                target["payload"] = merged
        return errors

    def remember(self, event, stream):
        event_id = event.get("eventId")
        if isinstance(event_id, str):
            self.events[event_id.lower()] = {
                "stream": stream,
                "type": event.get("eventType"),
                "payload": event.get("payload", {}) if isinstance(event.get("payload", {}), dict) else {},
                "retracted": False,
            }


def read_lines(path, report, label):
    try:
        with open(path, encoding="utf-8") as handle:
            return list(handle)
    except OSError as exc:
        report.item(label, [f"cannot read: {exc}"])
        return []


def json_lines(path, report, name):
    """Yields (label, parsed JSON) for each non-blank line; a line that is not JSON is reported and skipped."""
    for number, line in enumerate(read_lines(path, report, name), start=1):
        if not line.strip():
            continue
        label = f"{name} line {number}"
        try:
            yield label, json.loads(line)
        except ValueError as exc:
            report.item(label, [f"not JSON: {exc}"])


def check_dataset(schemas, path, report):
    name = Path(path).name
    history = History(schemas)
    registered = set()
    streams_seen = set()
    previous_record = None
    for label, item in json_lines(path, report, name):
        if not isinstance(item, dict) or not isinstance(item.get("event"), dict):
            report.item(label, ["expected {\"recordAt\": …, \"event\": {…}}"])
            continue
        errors = [f"{key}: unknown field (recordAt and event only)" for key in sorted(item) if key not in ("recordAt", "event")]
        event = item["event"]
        record_at = parse_time(item.get("recordAt")) if isinstance(item.get("recordAt"), str) else None
        timestamp_errors = schemas.errors("occurred-at.schema.json#/$defs/timestamp", item.get("recordAt"), "recordAt")
        if "recordAt" not in item:
            errors.append("recordAt: required")
        elif timestamp_errors or record_at is None:
            errors.extend(timestamp_errors or [f"recordAt: {item['recordAt']!r} is not a real date and time"])
        elif previous_record is not None and record_at < previous_record:
            errors.append(f"recordAt: {item['recordAt']} is earlier than the line before")
        if record_at is not None:
            previous_record = max(previous_record, record_at) if previous_record else record_at
        for key in ("eventId", "streamId", "actor"):
            if key not in event:
                errors.append(f"$.{key}: required in the dataset")
        errors += schemas.errors("envelope.input.schema.json", event)
        errors += schemas.payload_errors(event)
        errors += input_errors(event)
        errors += occurred_errors(event.get("occurredAt"), "$.occurredAt")
        start = occurred_start(event.get("occurredAt"))
        if start and record_at and start > record_at:
            errors.append(f"$.occurredAt: starts after recordAt {item.get('recordAt')}: a fact cannot be recorded before it happens")
        payload = event.get("payload", {}) if isinstance(event.get("payload", {}), dict) else {}
        if event.get("eventType") == CORRECTED:
            errors += occurred_errors(payload.get("occurredAt"), "$.payload.occurredAt")
        event_id = event.get("eventId")
        if isinstance(event_id, str) and event_id.lower() in history.events:
            errors.append(f"$.eventId: {event_id} is used by an earlier line")
        stream = event.get("streamId")
        errors += dataset_rules(event, stream, payload, registered, streams_seen)
        errors += history.check(event, stream)
        if isinstance(event_id, str) and event_id.lower() not in history.events:
            history.remember(event, stream)
        report.item(label, errors)


def dataset_rules(event, stream, payload, registered, streams_seen):
    """Consistency of the demo dataset: establishments registered first, incident streams opened first."""
    errors = []
    event_type = event.get("eventType")
    if not isinstance(stream, str):
        return errors
    if event_type == "establishment.registered":
        finess = payload.get("finess")
        if isinstance(finess, str):
            if stream != f"establishment:{finess}":
                errors.append(f"$.streamId: an establishment is registered on stream establishment:{finess}")
            if finess in registered:
                errors.append(f"$.payload.finess: {finess} is already registered")
            registered.add(finess)
    elif isinstance(event_type, str) and event_type.startswith("group."):
        group = payload.get("groupId")
        if isinstance(group, str) and stream != f"group:{group}":
            errors.append(f"$.streamId: the events of group {group} go on stream group:{group}")
    else:
        names = []
        if isinstance(payload.get("establishment"), str):
            names.append(("$.payload.establishment", payload["establishment"]))
        if isinstance(payload.get("establishments"), list):
            names += [(f"$.payload.establishments[{i}]", f) for i, f in enumerate(payload["establishments"]) if isinstance(f, str)]
        for path, finess in names:
            if finess not in registered:
                errors.append(f"{path}: FINESS {finess} is not registered earlier in the dataset")
    if stream.startswith("incident:") and stream not in streams_seen and event_type != "incident.opened":
        errors.append(f"$.eventType: the first event of {stream} must be incident.opened")
    streams_seen.add(stream)
    return errors


def check_stored(schemas, path, report):
    name = Path(path).name
    history = History(schemas)
    for label, event in json_lines(path, report, name):
        if not isinstance(event, dict):
            report.item(label, ["expected an event object"])
            continue
        errors = schemas.errors("envelope.schema.json", event)
        errors += schemas.payload_errors(event)
        errors += byte_limit_errors(event)
        errors += real_date_errors(event.get("recordedAt"), "$.recordedAt")
        errors += occurred_errors(event.get("occurredAt"), "$.occurredAt")
        stream = event.get("streamId")
        version = event.get("streamVersion")
        if isinstance(stream, str) and isinstance(version, int):
            history.first_version.setdefault(stream, version)
        # A partial read (from a later position) may not hold the corrected event: only a stream read from its
        # first version is checked strictly.
        errors += history.check(event, stream, strict=history.first_version.get(stream) == 1)
        history.remember(event, stream)
        report.item(label, errors)


def check_outputs(schemas, directory, report):
    """The CLI's JSON documents against schemas/outputs/, and mutations of each that must fail."""
    folder = Path(directory)
    files = sorted(folder.glob("*.json"))
    checked = set()
    for path in files:
        label = f"outputs/{path.name}"
        output = path.name.split(".")[0]
        relative = f"outputs/{output}.schema.json"
        if relative not in schemas.documents:
            report.item(label, [f"no schema for it: schemas/{relative} is missing"])
            continue
        checked.add(relative)
        readable, document = read_example(path, label, report)
        if not readable:
            continue
        errors = schemas.errors(relative, document)
        if not errors and isinstance(document, dict):
            errors += [f"{what}: passed, but the schema must refuse it" for what, broken in mutations(schemas.documents[relative], document)
                       if not schemas.errors(relative, broken)]
        report.item(label, errors)
    expected = {r for r in schemas.documents if r.startswith("outputs/") and r.endswith(".schema.json")}
    expected.discard("outputs/shared.schema.json")
    report.item(f"{folder.name}/", [f"no output checked against schemas/{r}" for r in sorted(expected - checked)])


def mutations(schema, document):
    """(what, a copy of document broken that way) for each way a document must not pass."""
    without = {k: v for k, v in document.items() if k != "formatVersion"}
    yield "without formatVersion", without
    yield "formatVersion 2", {**document, "formatVersion": 2}
    if schema.get("additionalProperties") is False:
        yield "an unknown member", {**document, "unknownMember": True}
    for key, value in document.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            item = {**value[0], "unknownMember": True}
            yield f"$.{key}[0] with an unknown member", {**document, key: [item] + value[1:]}


def example_errors(schemas, event):
    if not isinstance(event, dict):
        return ["expected an event object"]
    errors = schemas.errors("envelope.input.schema.json", event)
    errors += schemas.payload_errors(event)
    errors += input_errors(event)
    errors += occurred_errors(event.get("occurredAt"), "$.occurredAt")
    payload = event.get("payload", {})
    if event.get("eventType") == CORRECTED and isinstance(payload, dict):
        errors += occurred_errors(payload.get("occurredAt"), "$.payload.occurredAt")
    return errors


def read_example(path, label, report):
    """(True, the example's JSON), or (False, None) after reporting why it cannot be read."""
    try:
        return True, json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        report.item(label, [f"not readable JSON: {exc}"])
        return False, None


def check_examples(schemas, report):
    folder = SCHEMAS / "examples"
    seen = set()
    for path in sorted(folder.glob("*.json")):
        label = f"examples/{path.name}"
        readable, event = read_example(path, label, report)
        if not readable:
            continue
        errors = example_errors(schemas, event)
        expected = path.name[: -len(".json")]
        if isinstance(event, dict) and event.get("eventType") != expected:
            errors.append(f"$.eventType: {event.get('eventType')!r} but the file is named for {expected!r}")
        seen.add(expected)
        report.item(label, errors)
    missing = [name for name in schemas.catalogue if name not in seen]
    report.item("examples/", [f"no example for {name} (examples/{name}.json)" for name in missing])
    invalid = sorted((folder / "invalid").glob("*.json"))
    if not invalid:
        report.item("examples/invalid/", ["no invalid example"])
    for path in invalid:
        label = f"examples/invalid/{path.name}"
        readable, event = read_example(path, label, report)
        if not readable:
            continue
        errors = example_errors(schemas, event)
        if errors:
            if report.verbose:
                for error in errors:
                    print(f"{label} (expected to fail): {error}")
            report.item(label, [])
        else:
            report.item(label, ["an invalid example passed validation"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", help="demo dataset, NDJSON of {recordAt, event}")
    parser.add_argument("--stored", help="output of `ledger read --format ndjson`")
    parser.add_argument("--examples", action="store_true", help="check schemas/examples/")
    parser.add_argument("--outputs", help="a directory of the CLI's --format json documents, <output>[.<variant>].json")
    parser.add_argument("-v", "--verbose", action="store_true", help="also name the items that pass")
    args = parser.parse_args(argv)
    if not (args.dataset or args.stored or args.examples or args.outputs):
        args.dataset = str(ROOT / "tools" / "demo" / "dataset.ndjson")
        args.examples = True

    report = Report(verbose=args.verbose)
    schemas = Schemas(report)
    schemas.check()
    if args.dataset:
        check_dataset(schemas, args.dataset, report)
    if args.stored:
        check_stored(schemas, args.stored, report)
    if args.examples:
        check_examples(schemas, report)
    if args.outputs:
        check_outputs(schemas, args.outputs, report)
    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
