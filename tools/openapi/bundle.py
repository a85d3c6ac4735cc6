#!/usr/bin/env python3
"""Builds schemas/openapi.json, the service's OpenAPI 3.1 contract, from the hand-written
schemas/openapi.source.json and the JSON Schemas beside it.

The source refers to the event schemas by file, as they refer to each other
("$ref": "envelope.input.schema.json", "common.schema.json#/$defs/finess"). Those files have $ids under
https://incidentledger.example/, which offline tools (schemathesis, validators, code generators) cannot
fetch, so the document is made self-contained: every schema reached from the source is copied into
components/schemas, without its $id and $schema, each $defs entry as a component of its own, and every ref
(internal or across files) rewritten to #/components/schemas/<name>. Names: the file's path without
.schema.json, "/" as "." (events/service.degraded.schema.json -> events.service.degraded), a definition
as <file>.<def> (common.finess).

    python3 tools/openapi/bundle.py           writes schemas/openapi.json
    python3 tools/openapi/bundle.py --check   exits 1 when schemas/openapi.json is not what it would write,
                                              when openapi-spec-validator refuses it, when an example in it
                                              breaks its own schema, or when its event types are not those of
                                              schemas/catalogue.json
"""

import argparse
import copy
import difflib
import json
import pathlib
import posixpath
import sys

SCHEMAS = pathlib.Path(__file__).resolve().parent.parent.parent / "schemas"
SOURCE = SCHEMAS / "openapi.source.json"
TARGET = SCHEMAS / "openapi.json"
COMPONENTS = "#/components/schemas/"


class BundleError(Exception):
    pass


def component_name(file, definition):
    """file: a path relative to schemas/ ("events/x.schema.json"); definition: a $defs key or None."""
    if not file.endswith(".schema.json"):
        raise BundleError(f"{file}: only *.schema.json files are bundled")
    name = file[: -len(".schema.json")].replace("/", ".")
    return name if definition is None else f"{name}.{definition}"


def split_ref(ref, base_file):
    """A ref found in base_file (None: the source document) -> (file, $defs key or None)."""
    location, _, fragment = ref.partition("#")
    if location:
        directory = posixpath.dirname(base_file) if base_file else ""
        file = posixpath.normpath(posixpath.join(directory, location))
        if file.startswith("../"):
            raise BundleError(f"{ref}: outside schemas/")
    elif base_file is None:
        raise BundleError(f"{ref}: not a ref the bundler handles")
    else:
        file = base_file
    if fragment in ("", "/"):
        return file, None
    parts = fragment.split("/")
    if len(parts) == 3 and parts[0] == "" and parts[1] == "$defs":
        return file, parts[2]
    raise BundleError(f"{ref} (in {base_file or 'the source'}): only a file or its #/$defs/<name> can be referenced")


class Bundler:
    def __init__(self, schemas_dir):
        self.dir = schemas_dir
        self.files = {}
        self.components = {}  # name -> schema
        self.origins = {}  # name -> (file, definition)
        self.pending = []

    def load(self, file):
        if file not in self.files:
            path = self.dir / file
            if not path.is_file():
                raise BundleError(f"{file}: no such schema in {self.dir}")
            self.files[file] = json.loads(path.read_text(encoding="utf-8"))
        return self.files[file]

    def reference(self, file, definition):
        name = component_name(file, definition)
        origin = self.origins.setdefault(name, (file, definition))
        if origin != (file, definition):
            raise BundleError(f"{name}: both {origin} and {(file, definition)} would take this component name")
        if name not in self.components and (file, definition) not in self.pending:
            self.pending.append((file, definition))
        return COMPONENTS + name

    def rewrite(self, node, base_file):
        """A copy of node with every file or $defs ref turned into a component ref."""
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str) and not (base_file is None and value.startswith("#")):
                    out[key] = self.reference(*split_ref(value, base_file))
                else:
                    out[key] = self.rewrite(value, base_file)
            return out
        if isinstance(node, list):
            return [self.rewrite(item, base_file) for item in node]
        return node

    def run(self, source):
        document = self.rewrite(source, None)
        while self.pending:
            file, definition = self.pending.pop(0)
            schema = self.load(file)
            if definition is None:
                schema = {k: v for k, v in schema.items() if k not in ("$id", "$schema", "$defs")}
            else:
                if definition not in schema.get("$defs", {}):
                    raise BundleError(f"{file}#/$defs/{definition}: no such definition")
                schema = copy.deepcopy(schema["$defs"][definition])
                for key in ("$id", "$schema"):
                    schema.pop(key, None)
            if "$defs" in schema:
                raise BundleError(f"{file}: nested $defs are not bundled")
            self.components[component_name(file, definition)] = self.rewrite(schema, file)
        own = document.setdefault("components", {}).setdefault("schemas", {})
        for name in sorted(self.components):
            if name in own:
                raise BundleError(f"{name}: written by hand in the source and bundled from {self.origins[name][0]}")
            own[name] = self.components[name]
        return document


def bundle(schemas_dir=SCHEMAS):
    source = json.loads((schemas_dir / "openapi.source.json").read_text(encoding="utf-8"))
    document = Bundler(schemas_dir).run(source)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def check_examples(document):
    """Every example of a request body or response must satisfy its media type's schema."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    registry = Registry().with_resource("urn:openapi", Resource.from_contents(document, default_specification=DRAFT202012))
    failures = []

    def pointer(parts):
        return "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)

    def media_types(parts, node):
        if isinstance(node, dict):
            if len(parts) >= 2 and parts[-2] == "content" and "schema" in node and ("examples" in node or "example" in node):
                yield parts, node
            for key, value in node.items():
                yield from media_types(parts + [key], value)

    for parts, media in media_types([], document.get("paths", {})):
        validator = Draft202012Validator({"$ref": "urn:openapi#/" + pointer(["paths"] + parts + ["schema"])}, registry=registry)
        examples = dict(media.get("examples", {}))
        if "example" in media:
            examples["example"] = {"value": media["example"]}
        for name, example in examples.items():
            if "value" not in example:
                continue
            for error in validator.iter_errors(example["value"]):
                failures.append(f"{'/'.join(map(str, parts))} example {name}: {error.message[:200]}")
    return failures


def check_catalogue(document):
    """The event types the document gives payloads for are the catalogue's, each with its schema."""
    catalogue = json.loads((SCHEMAS / "catalogue.json").read_text(encoding="utf-8"))["eventTypes"]
    expected = {t: COMPONENTS + component_name(spec["schema"], None) for t, spec in catalogue.items()}
    schemas = document["components"]["schemas"]
    failures = []
    branches = {b["properties"]["eventType"]["const"]: b["properties"]["payload"]["$ref"]
                for b in schemas["PayloadByEventType"]["oneOf"]}
    rules = {r["if"]["properties"]["eventType"]["const"]: r["then"]["properties"]["payload"]["$ref"]
             for r in schemas["StoredPayloadByEventType"]["allOf"]}
    for name, found in (("PayloadByEventType", branches), ("StoredPayloadByEventType", rules)):
        if found != expected:
            missing = sorted(set(expected) - set(found))
            extra = sorted(set(found) - set(expected))
            wrong = sorted(t for t in set(found) & set(expected) if found[t] != expected[t])
            failures.append(f"{name} is not schemas/catalogue.json's event types: missing {missing}, extra {extra}, other schema {wrong}")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, validate, write nothing")
    args = parser.parse_args()
    try:
        text = bundle()
    except BundleError as error:
        print(f"bundle.py: {error}", file=sys.stderr)
        return 1
    if not args.check:
        TARGET.write_text(text, encoding="utf-8")
        print(f"wrote {TARGET.relative_to(SCHEMAS.parent)}")
        return 0
    committed = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
    if committed != text:
        diff = difflib.unified_diff(
            committed.splitlines(), text.splitlines(), "schemas/openapi.json", "bundle.py output", lineterm="", n=2)
        print("\n".join(list(diff)[:60]), file=sys.stderr)
        print("bundle.py: schemas/openapi.json is not the bundle of schemas/openapi.source.json and the schemas:"
              " run python3 tools/openapi/bundle.py", file=sys.stderr)
        return 1
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename

    document, _ = read_from_filename(str(TARGET))
    try:
        validate(document)
    except Exception as error:  # the validator's own error types differ between its versions
        print(f"bundle.py: openapi-spec-validator refuses schemas/openapi.json: {error}", file=sys.stderr)
        return 1
    failures = check_examples(json.loads(text)) + check_catalogue(json.loads(text))
    for failure in failures:
        print(f"bundle.py: {failure}", file=sys.stderr)
    if failures:
        return 1
    print(f"schemas/openapi.json: the bundle of its source, a valid OpenAPI {document['openapi']} document"
          f" ({len(document['paths'])} paths, {len(document['components']['schemas'])} schemas)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
