#!/usr/bin/env python3
"""A CycloneDX 1.5 SBOM of what the two Lambda functions link, from `cargo metadata`.

Every package reachable from okta-relay-events and okta-relay-poller over normal (not dev, not
build) dependencies, for the target the functions ship on (aarch64 Linux), with its version,
its package URL and its declared license; the dependency graph between them. No network: the
metadata comes from Cargo.lock and the local registry cache.

    infra/release/sbom.py VERSION > okta-relay-VERSION.cdx.json
"""
import datetime
import json
import subprocess
import sys
import uuid

ROOTS = ("okta-relay-events", "okta-relay-poller")
TARGET = "aarch64-unknown-linux-gnu"


def main():
    version = sys.argv[1]
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", TARGET],
        check=True, capture_output=True, text=True).stdout)
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    roots = [p["id"] for p in meta["packages"] if p["name"] in ROOTS]
    if len(roots) != len(ROOTS):
        sys.exit(f"cargo metadata lacks {ROOTS}")

    def normal_deps(node_id):
        for dep in nodes[node_id]["deps"]:
            if any(k["kind"] is None for k in dep["dep_kinds"]):
                yield dep["pkg"]

    seen, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        todo.extend(normal_deps(pid))

    def ref(pid):
        p = packages[pid]
        return f"pkg:cargo/{p['name']}@{p['version']}"

    components = []
    for pid in sorted(seen, key=lambda i: (packages[i]["name"], packages[i]["version"])):
        p = packages[pid]
        c = {"type": "application" if p["name"] in ROOTS else "library", "bom-ref": ref(pid),
             "name": p["name"], "version": p["version"], "purl": ref(pid)}
        if p.get("license"):
            c["licenses"] = [{"expression": p["license"]}]
        components.append(c)
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "component": {"type": "application", "bom-ref": f"pkg:cargo/okta-relay@{version}",
                          "name": "okta-relay", "version": version, "licenses": [{"expression": "Apache-2.0"}]},
        },
        "components": components,
        "dependencies": [{"ref": ref(pid), "dependsOn": sorted({ref(d) for d in normal_deps(pid)})}
                         for pid in sorted(seen)],
    }
    json.dump(bom, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
