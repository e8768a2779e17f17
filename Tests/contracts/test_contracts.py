"""Contract tests with an independent JSON Schema 2020-12 validator (the Python jsonschema package).

Every example in Contracts/examples/ is checked against its schema: valid ones must pass, invalid ones
must fail at the JSON Pointer their .error file states. The AsyncAPI document must parse and every
file it refers to must exist. The Swift side checks the same examples in CanonicalEventsTests.
"""
import json
import pathlib

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "Contracts"
EVENTS = CONTRACTS / "events"
EXAMPLES = CONTRACTS / "examples"


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


SCHEMA_FILES = sorted(EVENTS.glob("*.schema.json")) + sorted((CONTRACTS / "records").glob("*.schema.json")) + sorted((CONTRACTS / "config").glob("*.schema.json"))
REGISTRY = Registry().with_resources(
    (load(path)["$id"], Resource.from_contents(load(path))) for path in SCHEMA_FILES
)
EVENT_NAMES = sorted(p.name[: -len(".schema.json")] for p in EVENTS.glob("*.schema.json")
                     if p.name not in ("common.schema.json", "cloudevent.schema.json"))


def validator_for(event_name):
    schema = load(EVENTS / f"{event_name}.schema.json")
    return jsonschema.Draft202012Validator(schema, registry=REGISTRY, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def pointer(path):
    return "".join("/" + str(token).replace("~", "~0").replace("/", "~1") for token in path)


def problem_pointers(error):
    """The JSON Pointers an error designates, naming the offending property for required and
    additionalProperties errors as the hub does (jsonschema reports those at the parent)."""
    base = list(error.absolute_path)
    if error.validator == "required":
        return [pointer(base + [name]) for name in error.validator_value if name not in error.instance]
    if error.validator == "additionalProperties" and error.validator_value is False:
        declared = error.schema.get("properties", {})
        return [pointer(base + [name]) for name in error.instance if name not in declared]
    found = [pointer(base)]
    for sub in error.context or []:
        found += problem_pointers(sub)
    return found


def examples(kind):
    return sorted(EXAMPLES.glob(f"*/{kind}/*.json"))


def test_every_schema_is_a_valid_2020_12_schema():
    for path in SCHEMA_FILES:
        schema = load(path)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", path.name
        assert schema["$id"].endswith("/" + path.name), path.name
        assert schema.get("title") and (schema.get("description") or path.name == "common.schema.json"), path.name


def test_every_event_type_has_two_valid_and_two_invalid_examples():
    assert len(EVENT_NAMES) >= 18
    for name in EVENT_NAMES:
        assert len(list((EXAMPLES / name / "valid").glob("*.json"))) >= 2, name
        invalid = list((EXAMPLES / name / "invalid").glob("*.json"))
        assert len(invalid) >= 2, name
        for path in invalid:
            lines = path.with_suffix(".error").read_text(encoding="utf-8").splitlines()
            assert len(lines) >= 2 and lines[0].startswith("/") and lines[1], path
    assert sorted(p.name for p in EXAMPLES.iterdir()) == EVENT_NAMES


@pytest.mark.parametrize("path", examples("valid"), ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_valid_example_passes(path):
    event = load(path)
    name = path.parent.parent.name
    assert event["type"] == f"nl.ketenhub.{name}.v1"
    errors = list(validator_for(name).iter_errors(event))
    assert errors == [], [e.message for e in errors]


@pytest.mark.parametrize("path", examples("invalid"), ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_invalid_example_fails_at_its_stated_pointer(path):
    expected = path.with_suffix(".error").read_text(encoding="utf-8").splitlines()[0]
    errors = list(validator_for(path.parent.parent.name).iter_errors(load(path)))
    assert errors, "the example is valid"
    found = sorted({p for error in errors for p in problem_pointers(error)})
    assert expected in found, found


def test_asyncapi_parses_and_every_reference_exists():
    document = yaml.safe_load((CONTRACTS / "asyncapi.yaml").read_text(encoding="utf-8"))
    assert document["asyncapi"].startswith("3.")
    references = []

    def collect(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                references.append(node["$ref"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(document)
    assert references
    for reference in references:
        target, _, fragment = reference.partition("#")
        resolved = document if not target else load(CONTRACTS / target)
        for token in [t for t in fragment.split("/") if t]:
            token = token.replace("~1", "/").replace("~0", "~")
            assert token in resolved, f"{reference}: no {token}"
            resolved = resolved[token]

    # Every message a channel or operation names exists, and every canonical event is carried.
    messages = document["components"]["messages"]
    for channel in document["channels"].values():
        for ref in channel["messages"].values():
            assert ref["$ref"].split("/")[-1] in messages
    payloads = {m["payload"]["schema"].get("$ref", "") for m in messages.values()}
    for name in EVENT_NAMES:
        assert f"./events/{name}.schema.json#/$defs/data" in payloads, name
    # Every record is a Kafka message, or (the HTTP receipt) described among the schemas.
    described = {s.get("$ref", "") for s in document["components"]["schemas"].values()}
    for record in (CONTRACTS / "records").glob("*.schema.json"):
        assert f"./records/{record.name}" in payloads | described, record.name


def test_credentials_file_meets_its_schema(tmp_path):
    """`ketenhub credentials add|revoke` write a file jsonschema accepts, with digests and never a token."""
    import os
    import subprocess
    binary = os.environ.get("KETENHUB_BIN", ".build/debug/ketenhub")
    store = tmp_path / "credentials.json"
    tokens = []
    for arguments in (["--principal", "politie-bo", "--role", "partner", "--organisation", "politie", "--expires", "2030-01-01"],
                      ["--principal", "fg-1", "--role", "privacy-officer"]):
        done = subprocess.run([binary, "credentials", "add", "--file", str(store), *arguments], capture_output=True, text=True, check=True)
        tokens.append(done.stdout.strip())
    subprocess.run([binary, "credentials", "revoke", "--file", str(store), "--principal", "fg-1"], capture_output=True, check=True)
    document = load(store)
    schema = load(CONTRACTS / "config" / "credentials.schema.json")
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER).validate(document)
    text = store.read_text()
    assert all(token.startswith("kh_") and token not in text for token in tokens)
    assert [entry.get("revokedAt") is not None for entry in document["credentials"]] == [False, True]
