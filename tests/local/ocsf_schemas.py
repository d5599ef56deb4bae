"""The JSON Schemas of the OCSF DetailTypes under schemas/, from the official OCSF schema.

`ocsf-json-schema` (PyPI, pinned in requirements.txt) carries the compiled OCSF schemas; this
writes the schema of each class the relay emits (OCSF 1.3.0, with the profiles the mapping table
gives the class: `host` adds `actor` to the classes that lack one) as
schemas/ocsf-<class>.schema.json, titled with its DetailType, so the suites validate every
captured OCSF record against the official definition.

    python tests/local/ocsf_schemas.py           # (re)write the files
    python tests/local/ocsf_schemas.py --check   # fail if a file differs from the official schema
    python tests/local/ocsf_schemas.py --validate FILE   # validate JSON lines of OCSF events
"""
import json
import pathlib
import sys

from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

ROOT = pathlib.Path(__file__).resolve().parents[2]
TABLE = json.loads((ROOT / "functions/core/src/ocsf/mapping.json").read_text())
VERSION = TABLE["version"]
SCHEMA = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=VERSION))


def class_schema(cls):
    name = SCHEMA.lookup_class_name_from_uid(class_uid=cls["uid"])
    return SCHEMA.get_class_schema(class_name=name, profiles=cls.get("profiles", []))


def schema_file(cls):
    slug = cls["name"].lower().replace(" ", "-")
    return ROOT / "schemas" / f"ocsf-{slug}.schema.json"


def rendered(cls):
    schema = dict(class_schema(cls))
    schema.pop("$id", None)
    schema["title"] = f"OCSF {cls['name']}"
    schema["description"] = (
        f"OCSF {VERSION} class {cls['uid']} ({cls['name']})"
        + (f", profiles {', '.join(cls['profiles'])}" if cls.get("profiles") else "")
        + ", generated from the official schema "
        "(PyPI ocsf-json-schema) by tests/local/ocsf_schemas.py. Do not edit."
    )
    return json.dumps(schema, indent=1, sort_keys=True) + "\n"


def validate(path):
    # Each event against its class with the profiles it declares (`metadata.profiles`).
    validators = {}

    def validator_of(event):
        uid = event.get("class_uid")
        cls = next((c for c in TABLE["classes"] if c["uid"] == uid), None)
        if cls is None:
            return None
        profiles = tuple((event.get("metadata") or {}).get("profiles") or ())
        key = (uid, profiles)
        if key not in validators:
            validators[key] = Draft202012Validator(class_schema(dict(cls, profiles=list(profiles))))
        return validators[key]

    bad = 0
    count = 0
    for line in pathlib.Path(path).read_text().splitlines():
        if not line.strip():
            continue
        event = json.loads(line)
        count += 1
        validator = validator_of(event)
        if validator is None:
            print(f"{event.get('metadata', {}).get('uid')}: class {event.get('class_uid')} is not emitted")
            bad += 1
            continue
        for error in validator.iter_errors(event):
            bad += 1
            print(f"{event.get('metadata', {}).get('uid')} ({event.get('class_uid')}): {error.message} at {list(error.absolute_path)}")
    print(f"{count} OCSF events checked against the official OCSF {VERSION} schema, {bad} problems")
    return 1 if bad or count == 0 else 0


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--validate":
        return validate(sys.argv[2])
    check = "--check" in sys.argv
    stale = []
    for cls in TABLE["classes"]:
        path = schema_file(cls)
        text = rendered(cls)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print("out of date with the official OCSF schema (run python tests/local/ocsf_schemas.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
