"""The partners' native formats checked with independent tools: every XML example against its XSD
(lxml), every JSON example against its JSON Schema (jsonschema), every CSV example's header against
the format's columns."""
import csv
import json
import pathlib

import jsonschema
import pytest
import yaml
from lxml import etree

PARTNERS = pathlib.Path(__file__).resolve().parents[2] / "Contracts" / "partners"
FORMATS = {p.parent.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(PARTNERS.glob("*/format.yaml"))}


def examples(syntax):
    for partner, fmt in FORMATS.items():
        if fmt["syntax"] != syntax or fmt.get("receiveOnly"):
            continue
        for path in sorted((PARTNERS / partner / "examples").iterdir()):
            if not path.name.endswith(".canonical.json"):
                yield pytest.param(partner, path, id=f"{partner}/{path.name}")


def test_six_partners_three_syntaxes():
    assert {name for name, f in FORMATS.items() if not f.get("receiveOnly")} == {"politie", "om", "vt", "3ro", "rvdk", "shn"}
    assert {f["syntax"] for f in FORMATS.values()} == {"xml", "json", "csv"}
    # The reclassering sends batch files and receives structured messages.
    assert {name: f["organisations"] for name, f in FORMATS.items() if f.get("receiveOnly")} == {"3ro-ontvangst": ["3ro"]}


def test_every_kind_code_once_per_format():
    """A kind code selects one table: the kinds a partner sends and those it only receives never share one."""
    for name, fmt in FORMATS.items():
        codes = [k["kind"] for k in fmt.get("kinds", []) + fmt.get("receives", [])]
        assert len(codes) == len(set(codes)), name


@pytest.mark.parametrize("partner,path", list(examples("xml")))
def test_xml_example_matches_xsd(partner, path):
    (xsd_path,) = (PARTNERS / partner).glob("*.xsd")
    schema = etree.XMLSchema(etree.parse(str(xsd_path)))
    document = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    assert schema.validate(document), schema.error_log


@pytest.mark.parametrize("partner,path", list(examples("json")))
def test_json_example_matches_schema(partner, path):
    (schema_path,) = (PARTNERS / partner).glob("*.schema.json")
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).iter_errors(
        json.loads(path.read_text(encoding="utf-8"))))
    assert errors == []


@pytest.mark.parametrize("partner,path", list(examples("csv")))
def test_csv_example_has_the_specified_columns(partner, path):
    fmt = FORMATS[partner]
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines(), delimiter=fmt["delimiter"]))
    assert rows[0] == fmt["columns"]
    assert all(len(row) == len(fmt["columns"]) for row in rows[1:])
    documented = (PARTNERS / partner / "columns.md").read_text(encoding="utf-8")
    for column in fmt["columns"]:
        assert column in documented
