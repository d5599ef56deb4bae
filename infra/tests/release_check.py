#!/usr/bin/env python3
"""`make release`'s packaging, without its 5–10 minute release build: release.sh runs on
prebuilt stand-ins (zips holding an ELF `bootstrap`, an ELF `okta-relay-ctl`), then this checks
what a release holds: both functions' zips in the layout every deploy path takes and under
versioned names, the CLI, an SBOM of what the functions link (and nothing they do not), the
release notes from CHANGELOG.md, LICENSE, and SHA256SUMS over all of it. Then
`infra/cargo-lambda/deploy.sh --dry --binary-dir <release>/lambda` takes the release's zips.

The real build is `make release` (RELIABILITY.md, BENCHMARKS.md give its figures)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FUNCTIONS = ("okta-relay-events", "okta-relay-poller")
problems = []


def main():
    with tempfile.TemporaryDirectory() as tmp:
        prebuilt, out = os.path.join(tmp, "prebuilt"), os.path.join(tmp, "release")
        for f in FUNCTIONS:
            os.makedirs(os.path.join(prebuilt, f))
            with zipfile.ZipFile(os.path.join(prebuilt, f, "bootstrap.zip"), "w") as z:
                z.write("/bin/true", "bootstrap")
        shutil.copy("/bin/true", os.path.join(prebuilt, "okta-relay-ctl"))
        env = {**os.environ, "OKTA_RELAY_RELEASE_PREBUILT": prebuilt, "OKTA_RELAY_RELEASE_DIR": out}
        run = subprocess.run([os.path.join(ROOT, "infra", "release", "release.sh")], env=env,
                             capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"release.sh failed:\n{run.stdout}\n{run.stderr}")
        files = sorted(os.path.relpath(os.path.join(d, f), out) for d, _, fs in os.walk(out) for f in fs)
        version = next(f for f in files if f.endswith(".cdx.json")).split("okta-relay-")[1][:-len(".cdx.json")]
        for want in (*(f"lambda/{f}/bootstrap.zip" for f in FUNCTIONS),
                     *(f"{f}-{version}-arm64.zip" for f in FUNCTIONS),
                     "LICENSE", "RELEASE_NOTES.md", "SHA256SUMS", f"okta-relay-{version}.cdx.json",
                     f"okta-relay-cdk-{version}.tgz"):
            if want not in files:
                problems.append(f"the release lacks {want}")
        if not any(f.startswith(f"okta-relay-ctl-{version}-") and f.endswith(".tar.gz") for f in files):
            problems.append("the release lacks the okta-relay-ctl archive")
        check = subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=out, capture_output=True, text=True)
        if check.returncode != 0:
            problems.append(f"SHA256SUMS does not verify: {check.stdout}{check.stderr}")
        summed = {line.split()[1] for line in open(os.path.join(out, "SHA256SUMS"))}
        if summed != set(files) - {"SHA256SUMS"}:
            problems.append(f"SHA256SUMS covers {sorted(summed)}, the release holds {files}")
        bom = json.load(open(os.path.join(out, f"okta-relay-{version}.cdx.json")))
        names = {c["name"] for c in bom.get("components", [])}
        if bom.get("bomFormat") != "CycloneDX" or not bom.get("specVersion", "").startswith("1."):
            problems.append("the SBOM is not CycloneDX")
        for linked in (*FUNCTIONS, "okta-relay", "tokio", "aws-sdk-eventbridge", "parquet"):
            if linked not in names:
                problems.append(f"the SBOM lacks {linked}")
        for dev_only in ("proptest", "wiremock", "criterion", "okta-sim", "okta-relay-ctl"):
            if dev_only in names:
                problems.append(f"the SBOM lists {dev_only}, which the functions do not link")
        notes = open(os.path.join(out, "RELEASE_NOTES.md")).read()
        if not notes.startswith(f"# okta-relay {version}") or len(notes) < 200:
            problems.append("RELEASE_NOTES.md is not this version's CHANGELOG section")
        dry = subprocess.run(
            [os.path.join(ROOT, "infra", "cargo-lambda", "deploy.sh"), "--dry", "--binary-dir", os.path.join(out, "lambda")],
            env={**os.environ, "OKTA_RELAY_STATE_TABLE": "t", "OKTA_RELAY_DELIVERY_BUS": "b",
                 "OKTA_RELAY_CONFIG_PATH": os.path.join(ROOT, "infra", "cargo-lambda", "example-config.json"),
                 "EVENTS_ROLE_ARN": "arn:aws:iam::123456789012:role/e", "POLLER_ROLE_ARN": "arn:aws:iam::123456789012:role/p",
                 "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1")},
            capture_output=True, text=True)
        if dry.returncode != 0:
            problems.append(f"deploy.sh --dry does not take the release's zips: {dry.stderr.strip()[-400:]}")
    if problems:
        print("release check failed:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print(f"release: {len(files)} files, SBOM of {len(names)} components, checksums verify, deploy.sh takes its zips")


if __name__ == "__main__":
    main()
