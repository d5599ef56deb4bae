"""Reads Security Lake Parquet objects back with pyarrow, as Security Lake's readers would.

    python tests/local/lake_read.py DIR

DIR holds the objects under their S3 keys. Prints one JSON document: per object its key, rows,
top-level columns, class ids, event ids (`metadata.uid`), times and the Parquet compression;
and every row that is not valid OCSF against the official schema of its class (rows are
converted to JSON: nulls dropped, `unmapped` parsed back from its JSON text).
"""
import json
import pathlib
import sys

import pyarrow.parquet as pq
from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

ROOT = pathlib.Path(__file__).resolve().parents[2]
VERSION = json.loads((ROOT / "functions/core/src/ocsf/mapping.json").read_text())["version"]
SCHEMA = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=VERSION))
VALIDATORS = {}


def validator(uid, profiles):
    """The class's official schema with the profiles the event declares (`host` adds `actor`)."""
    key = (uid, tuple(profiles or ()))
    if key not in VALIDATORS:
        name = SCHEMA.lookup_class_name_from_uid(class_uid=uid)
        VALIDATORS[key] = Draft202012Validator(SCHEMA.get_class_schema(class_name=name, profiles=list(key[1])))
    return VALIDATORS[key]


def without_nulls(value):
    if isinstance(value, dict):
        out = {k: without_nulls(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in out.items() if v not in ({}, [])}
    if isinstance(value, list):
        return [without_nulls(v) for v in value if v is not None]
    return value


def main(directory):
    root = pathlib.Path(directory)
    objects, invalid = [], []
    for path in sorted(root.rglob("*.parquet")):
        key = str(path.relative_to(root))
        table = pq.read_table(path)
        meta = pq.ParquetFile(path).metadata
        compression = sorted({meta.row_group(g).column(c).compression
                              for g in range(meta.num_row_groups)
                              for c in range(meta.num_columns)})
        rows = table.to_pylist()
        for row in rows:
            event = without_nulls(row)
            if isinstance(event.get("unmapped"), str):
                event["unmapped"] = json.loads(event["unmapped"])
            for error in validator(event["class_uid"], (event.get("metadata") or {}).get("profiles")).iter_errors(event):
                invalid.append({"key": key, "uid": event.get("metadata", {}).get("uid"),
                                "error": f"{error.message} at {list(error.absolute_path)}"})
        objects.append({
            "key": key,
            "rows": table.num_rows,
            "columns": table.schema.names,
            "class_uids": sorted({r["class_uid"] for r in rows}),
            "uids": [r["metadata"]["uid"] for r in rows],
            "times": [r["time"] for r in rows],
            "compression": compression,
            "row_groups": meta.num_row_groups,
        })
    print(json.dumps({"objects": objects, "invalid": invalid}))


if __name__ == "__main__":
    main(sys.argv[1])
