#!/usr/bin/env bash
# Builds a release of okta-relay into dist/okta-relay-<version>/ (`make release`):
#
#   lambda/okta-relay-events/bootstrap.zip, lambda/okta-relay-poller/bootstrap.zip
#       the arm64 Lambda zips, in the layout every deploy path takes: CDK
#       `-c codeDirectory=<release>/lambda`, Terraform `package_directory = "<release>/lambda"`,
#       `infra/cargo-lambda/deploy.sh --binary-dir <release>/lambda`
#   okta-relay-events-<version>-arm64.zip, okta-relay-poller-<version>-arm64.zip
#       the same zips under versioned names, for download pages
#   okta-relay-ctl-<version>-<host triple>.tar.gz   the operator CLI for this machine
#   okta-relay-<version>.cdx.json                   CycloneDX SBOM of what the functions link
#   okta-relay-cdk-<version>.tgz                    the CDK construct (`npm install` it; built by jsii)
#   RELEASE_NOTES.md                                this version's CHANGELOG section
#   LICENSE, SHA256SUMS
#
# OKTA_RELAY_RELEASE_PREBUILT=DIR packages DIR/<binary>/bootstrap.zip and DIR/okta-relay-ctl
# instead of building (the packaging test in `make test` uses it: a release build takes
# 5–10 minutes).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)"
[[ -n "$version" ]] || { echo "no [workspace.package] version in Cargo.toml" >&2; exit 1; }
out="${OKTA_RELAY_RELEASE_DIR:-$root/dist/okta-relay-$version}"
rm -rf "$out"
mkdir -p "$out/lambda"
host="$(rustc -vV | sed -n 's/^host: //p')"

if [[ -n "${OKTA_RELAY_RELEASE_PREBUILT:-}" ]]; then
  lambda_dir="$OKTA_RELAY_RELEASE_PREBUILT" ctl="$OKTA_RELAY_RELEASE_PREBUILT/okta-relay-ctl"
else
  cargo lambda build --release --arm64 --output-format zip --locked -p okta-relay-events -p okta-relay-poller
  cargo build --release --locked -p okta-relay-ctl
  lambda_dir="$root/target/lambda" ctl="$root/target/release/okta-relay-ctl"
fi

for f in okta-relay-events okta-relay-poller; do
  mkdir -p "$out/lambda/$f"
  cp "$lambda_dir/$f/bootstrap.zip" "$out/lambda/$f/bootstrap.zip"
  cp "$lambda_dir/$f/bootstrap.zip" "$out/$f-$version-arm64.zip"
done
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
cp "$ctl" "$staging/okta-relay-ctl"
cp LICENSE "$staging/"
tar -C "$staging" -czf "$out/okta-relay-ctl-$version-$host.tar.gz" okta-relay-ctl LICENSE
python3 infra/release/sbom.py "$version" > "$out/okta-relay-$version.cdx.json"
# The CDK construct, at the workspace's version.
cdk_version="$(python3 -c 'import json; print(json.load(open("infra/cdk/package.json"))["version"])')"
[[ "$cdk_version" == "$version" ]] || { echo "infra/cdk/package.json is $cdk_version, Cargo.toml $version: make them equal" >&2; exit 1; }
(cd infra/cdk && JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 npx jsii --silence-warnings=reserved-word >/dev/null \
  && npm pack --silent --pack-destination "$out" >/dev/null)
cp LICENSE "$out/"

# This version's section of CHANGELOG.md (or Unreleased, before the version has one).
python3 - "$version" > "$out/RELEASE_NOTES.md" <<'PY'
import re, sys
version = sys.argv[1]
text = open("CHANGELOG.md").read()
sections = re.split(r"(?m)^## ", text)[1:]
pick = next((s for s in sections if s.startswith(f"[{version}]")), None) \
    or next((s for s in sections if s.startswith("[Unreleased]")), None)
if pick is None:
    sys.exit(f"CHANGELOG.md has no section for {version} (nor Unreleased)")
title, _, body = pick.partition("\n")
print(f"# okta-relay {version}\n\n{body.strip()}\n")
PY

(cd "$out" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | sort | xargs sha256sum > SHA256SUMS)
echo "okta-relay $version: $out"
(cd "$out" && ls -l)
