#!/usr/bin/env bash
# `make audit`: cargo-deny against the vendored RustSec advisory database, with no network.
#
# cargo-deny reads its advisory database from a git checkout and dates it by the checkout's
# HEAD commit. The snapshot (advisory-db.tar.gz, from github.com/rustsec/advisory-db at the
# commit and date in SNAPSHOT) is unpacked into that place and committed with the snapshot's
# own date, so cargo-deny's staleness check sees how old the data really is.
set -euo pipefail
cd "$(dirname "$0")/.."
DENY=${CARGO_DENY:-cargo-deny}
read -r COMMIT DATE < supply-chain/SNAPSHOT
DB=target/advisory-dbs/advisory-db-3157b0e258782691
if [ "$(git -C "$DB" log -1 --format=%s 2>/dev/null || true)" != "rustsec/advisory-db@$COMMIT" ]; then
  rm -rf "$DB"
  mkdir -p "$DB"
  tar -xzf supply-chain/advisory-db.tar.gz -C "$DB" --strip-components=1
  git -C "$DB" init -q
  git -C "$DB" add -A
  GIT_AUTHOR_DATE="$DATE" GIT_COMMITTER_DATE="$DATE" \
    git -C "$DB" -c user.name=okta-relay -c user.email=audit@okta-relay.invalid \
    commit -q -m "rustsec/advisory-db@$COMMIT"
fi
# cargo-deny reads every package of Cargo.lock, those of other platforms too (windows-sys,
# android_system_properties), which a build on this machine never downloaded: fetch them from
# crates.io first (a no-op once cached), so a new machine audits like an old one.
cargo fetch --locked --quiet
"$DENY" --offline --locked check
