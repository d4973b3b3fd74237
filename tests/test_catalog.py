"""Self-tests of the requirement catalog (spec/requirements.yaml) and its loader."""

from __future__ import annotations

import copy
import json
import re

import jsonschema
import pytest
import yaml

from contract_tests.contract import catalog
from contract_tests.contract.catalog import CatalogError, Requirement, load_catalog

pytestmark = pytest.mark.unit  # the fast lane: python -m pytest tests -m unit

EXPECTED_LEVELS = {
    "RESP-01": "MUST", "RESP-02": "MUST", "RESP-03": "MUST", "RESP-04": "MUST", "RESP-05": "MUST", "RESP-06": "MUST",
    "DEPR-01": "MUST", "DEPR-02": "SHOULD", "DEPR-03": "MUST",
    "INPUT-01": "MUST", "INPUT-02": "MUST", "INPUT-03": "MUST", "INPUT-04": "MUST", "INPUT-05": "SHOULD",
    "INPUT-06": "SHOULD", "INPUT-07": "SHOULD", "INPUT-08": "SHOULD", "INPUT-09": "MUST", "INPUT-10": "MUST",
    "INPUT-11": "MUST",  # repeated and case-variant names
    "AUTH-01": "MUST", "AUTH-02": "MUST", "AUTH-03": "MUST", "AUTH-04": "MUST", "AUTH-05": "MUST", "AUTH-06": "MUST",
    "AUTH-07": "SHOULD", "AUTH-08": "SHOULD", "AUTH-09": "MUST",  # AUTH-09: login security checks
    "TOKEN-01": "MUST", "TOKEN-02": "MUST", "TOKEN-03": "MUST", "TOKEN-04": "MUST",
    "SEC-01": "SHOULD", "SEC-02": "MUST", "SEC-03": "SHOULD", "SEC-04": "SHOULD", "SEC-05": "SHOULD", "SEC-06": "MUST",
    "SEC-08": "SHOULD",
    "HTTP-01": "SHOULD", "HTTP-02": "SHOULD",
    "ABUSE-01": "SHOULD", "SEC-07": "SHOULD", "CAPTCHA-01": "MUST",  # opt-in probes
}
OPT_IN = {"ABUSE-01", "SEC-07", "CAPTCHA-01"}
SHOULD_CLAUSES = {"TOKEN-02", "RESP-04", "RESP-05", "RESP-01", "RESP-02", "DEPR-03", "INPUT-04"}  # level principle: RESP-01 ..


def _raw() -> dict:
    return yaml.safe_load(catalog.CATALOG_FILE.read_text(encoding="utf-8"))


def _write(tmp_path, data) -> str:
    path = tmp_path / "requirements.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def test_catalog_file_validates_against_its_schema():
    schema = json.loads(catalog.CATALOG_SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(_raw())


def test_ids_unique_and_in_file_order():
    raw_ids = [entry["id"] for entry in _raw()["requirements"]]
    assert len(raw_ids) == len(set(raw_ids))
    assert list(load_catalog()) == raw_ids


def test_exact_ids_and_levels():
    cat = load_catalog()
    assert {rid: req.level for rid, req in cat.items()} == EXPECTED_LEVELS
    assert list(cat) == list(EXPECTED_LEVELS)


def test_entries_are_well_formed():
    areas = {"RESP": "response", "DEPR": "deprecated", "INPUT": "input", "AUTH": "auth",
             "TOKEN": "token", "SEC": "security", "HTTP": "http", "ABUSE": "abuse", "CAPTCHA": "abuse"}
    for rid, req in load_catalog().items():
        assert isinstance(req, Requirement) and req.id == rid
        assert req.area == areas[rid.split("-")[0]]
        assert req.opt_in is (rid in OPT_IN), rid
        assert req.credentials in {"none", "required", "partial"}
        assert "\n" not in req.statement and req.level in req.statement.split(), rid
        assert (req.should_clause is not None) == (rid in SHOULD_CLAUSES), rid
        if req.should_clause:
            assert "SHOULD" in req.should_clause
        if req.source.url:
            assert re.match(r"https://www\.rfc-editor\.org/rfc/rfc\d+#section-[\d.]+$", req.source.url), rid
        if req.source.kind == "openapi":
            assert req.source.ref.startswith("#/"), rid


def test_level_principle_and_a_reason_for_every_level():
    """The catalog states its level principle, and every requirement says why it has its level."""
    principle = catalog.level_principle()
    assert "map[string]string" in principle["documented_client"]
    assert principle["must"] and principle["should"]
    for rid, req in load_catalog().items():
        assert req.level_reason.strip() and "\n" not in req.level_reason, rid
        if req.should_clause:
            assert req.level == "MUST", f"{rid}: a SHOULD clause narrows a MUST requirement"


def test_openapi_pointers_resolve_in_the_vendor_document():
    from contract_tests.contract import spec

    doc = spec.vendor_document()
    for req in load_catalog().values():
        if req.source.kind != "openapi":
            continue
        node = doc
        for token in req.source.ref[2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            assert token in node, f"{req.id}: {req.source.ref}"
            node = node[token]


def test_requirements_are_frozen():
    req = load_catalog()["RESP-01"]
    with pytest.raises(AttributeError):
        req.level = "MAY"  # type: ignore[misc]
    load_catalog().clear()
    assert "RESP-01" in load_catalog()


def test_catalog_digest_is_stable():
    first = catalog.catalog_digest()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", first)
    assert catalog.catalog_digest() == first


def test_copy_of_good_catalog_loads(tmp_path):
    assert list(load_catalog(_write(tmp_path, _raw()))) == list(EXPECTED_LEVELS)


def _broken(mutate):
    data = copy.deepcopy(_raw())
    mutate(data)
    return data


BROKEN = {
    "missing level": (lambda d: d["requirements"][0].pop("level"), r"RESP-01.*level"),
    "bad id": (lambda d: d["requirements"][1].__setitem__("id", "resp-2"), r"resp-2"),
    "bad level": (lambda d: d["requirements"][2].__setitem__("level", "must"), r"'must'"),
    "duplicate id": (lambda d: d["requirements"][3].__setitem__("id", "RESP-01"), r"duplicate requirement id 'RESP-01'"),
    "unknown field": (lambda d: d["requirements"][0].__setitem__("severity", "high"), r"severity"),
    "bad source kind": (lambda d: d["requirements"][0]["source"].__setitem__("kind", "blog"), r"blog"),
    "opt_in not bool": (lambda d: d["requirements"][0].__setitem__("opt_in", "no"), r"opt_in"),
    "multi-line statement": (lambda d: d["requirements"][0].__setitem__("statement", "a\nb"), r"statement"),
    "area mismatch": (lambda d: d["requirements"][0].__setitem__("area", "token"), r"RESP-01 has area 'token'"),
    "no version": (lambda d: d.pop("version"), r"version"),
    "no level reason": (lambda d: d["requirements"][0].pop("level_reason"), r"RESP-01.*level_reason"),
    "no level principle": (lambda d: d.pop("level_principle"), r"level_principle"),
    "empty MUST list": (lambda d: d["level_principle"].__setitem__("must", []), r"level_principle.must"),
}


@pytest.mark.parametrize("mutate,message", BROKEN.values(), ids=BROKEN.keys())
def test_broken_catalog_raises(tmp_path, mutate, message):
    with pytest.raises(CatalogError, match=message):
        load_catalog(_write(tmp_path, _broken(mutate)))


def test_unparseable_catalog_raises(tmp_path):
    path = tmp_path / "requirements.yaml"
    path.write_text("version: 1\nrequirements: [\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid YAML"):
        load_catalog(path)
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "missing.yaml")
    path.write_bytes(b"version: 1\nrequirements: []\n# \xff\n")
    with pytest.raises(CatalogError, match=r"the requirement catalog is not UTF-8 text \(byte 30 is 0xff\)"):
        load_catalog(path)


def test_legitimate_variations_name_existing_knobs_and_every_knob_covers_one():
    """Each legitimate variation of a requirement is covered by a knob of the reference server, and every knob is
    a variation of some requirement (the benign-space property switches them on: tests/test_benign_space.py)."""
    from contract_tests.reference.knobs import KNOBS

    named: set[str] = set()
    for entry in _raw()["requirements"]:
        for variation in entry.get("legitimate_variations", []):
            assert variation["knob"] in KNOBS, f"{entry['id']}: no knob {variation['knob']!r}"
            assert variation["variation"].strip(), entry["id"]
            named.add(variation["knob"])
    assert named == set(KNOBS), f"knobs no requirement names: {sorted(set(KNOBS) - named)}"


def test_a_variation_naming_no_knob_breaks_the_schema(tmp_path):
    data = _raw()
    data["requirements"][0]["legitimate_variations"] = [{"variation": "compressed"}]
    with pytest.raises(CatalogError, match="knob"):
        load_catalog(_write(tmp_path, data))
