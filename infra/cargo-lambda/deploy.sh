#!/usr/bin/env bash
# Deploys both functions with `cargo lambda deploy`, configured from infra/contract.json (the
# same contract the CDK construct and the Terraform module follow; infra/tests/parity.py checks
# this script's commands against it). Build first (`make package`), or pass the released
# binaries with --binary-dir.
#
#   OKTA_RELAY_STATE_TABLE=...  OKTA_RELAY_DELIVERY_BUS=...  OKTA_RELAY_CONFIG_PATH=config.json \
#   EVENTS_ROLE_ARN=...  POLLER_ROLE_ARN=...  infra/cargo-lambda/deploy.sh [--print|--dry] [--binary-dir DIR]
#
# The environment goes to cargo lambda as an env file (`--env-file`), never as `--env-var`:
# cargo-lambda splits `--env-var` values on commas, which cut a JSON configuration apart. The
# file is written for cargo-lambda's parser (env-file-reader): each value single-quoted, the
# JSON re-encoded so it holds no `'` and no backslash before `n` (both \u-escaped, which JSON
# reads back as the same text). OKTA_RELAY_ENV_FILE names the file to write (default: a
# temporary file removed at exit).
#
# The configuration goes into the functions' environment (up to about 3 500 bytes, ~15 orgs).
# A larger one is stored first (an SSM parameter, or an S3 object) and named instead of
# OKTA_RELAY_CONFIG_PATH: OKTA_RELAY_CONFIG_PARAMETER=/name or OKTA_RELAY_CONFIG_OBJECT=s3://b/k
# (the roles then need ssm:GetParameter or s3:GetObject on it).
#
# The roles, the table, the buses, the rules and the DLQs are not created by cargo lambda:
# create them with the CDK stack or the Terraform module (or see docs/deploy.md). --print shows
# the commands instead of running them; --dry runs them with cargo lambda's own --dry (every
# check but the upload); --binary-dir DIR deploys DIR/<binary>/bootstrap (a release's
# unpacked zips) instead of cargo lambda's build output.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
mode="deploy" binary_dir=""
while (( $# )); do
  case "$1" in
    --print) mode="print" ;;
    --dry) mode="dry" ;;
    --binary-dir) binary_dir="${2:?--binary-dir needs a directory}"; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
: "${OKTA_RELAY_STATE_TABLE:?the state table name}" "${OKTA_RELAY_DELIVERY_BUS:?the delivery bus name}"
: "${EVENTS_ROLE_ARN:?the events function role}" "${POLLER_ROLE_ARN:?the poller function role}"
if [[ -n "${OKTA_RELAY_CONFIG_PARAMETER:-}" ]]; then
  config_var=OKTA_RELAY_CONFIG_PARAMETER config_value="$OKTA_RELAY_CONFIG_PARAMETER"
elif [[ -n "${OKTA_RELAY_CONFIG_OBJECT:-}" ]]; then
  config_var=OKTA_RELAY_CONFIG_OBJECT config_value="$OKTA_RELAY_CONFIG_OBJECT"
else
  : "${OKTA_RELAY_CONFIG_PATH:?a file with the relay configuration (JSON), or OKTA_RELAY_CONFIG_PARAMETER / OKTA_RELAY_CONFIG_OBJECT}"
  config_var=OKTA_RELAY_CONFIG config_value="$OKTA_RELAY_CONFIG_PATH"
fi
env_file="${OKTA_RELAY_ENV_FILE:-}"
if [[ -z "$env_file" ]]; then
  env_file="$(mktemp)"
  trap 'rm -f "$env_file"' EXIT
fi
umask 077
# The env file: every variable both functions get, in cargo-lambda's env-file syntax.
python3 - "$root/infra/contract.json" "$config_var" "$config_value" > "$env_file" <<'PY'
import json, re, sys, os
contract, config_var, config_value = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
if config_var == "OKTA_RELAY_CONFIG":
    text = json.dumps(json.load(open(config_value)), separators=(",", ":"), ensure_ascii=True)
    if len(text) > 3500:
        sys.exit(f"the configuration is {len(text)} bytes, over the 3500 Lambda's environment leaves it: "
                 "store it in an SSM parameter or an S3 object and set OKTA_RELAY_CONFIG_PARAMETER or OKTA_RELAY_CONFIG_OBJECT instead")
    # No `'` (it would end the quoted value) and no backslash before `n` (the parser turns
    # that pair into a newline): escape both as JSON \u escapes.
    text = re.sub(r"\\(.)", lambda m: {"\\": "\\u005c", "n": "\\u000a"}.get(m.group(1), m.group(0)), text)
    config_value = text.replace("'", "\\u0027")
values = {"OKTA_RELAY_STATE_TABLE": os.environ["OKTA_RELAY_STATE_TABLE"],
          "OKTA_RELAY_DELIVERY_BUS": os.environ["OKTA_RELAY_DELIVERY_BUS"],
          config_var: config_value, **contract["allocator_environment"]}
for key, value in values.items():
    value = str(value)
    if "'" in value or "\\n" in value or "\n" in value:
        sys.exit(f"{key}: a value with a single quote, a newline or a backslash before n cannot go into the env file")
    print(f"{key}='{value}'")
PY

python3 - "$root/infra/contract.json" <<'PY' | while IFS=$'\t' read -r name binary memory timeout runtime allocator; do
import json, sys
c = json.load(open(sys.argv[1]))
allocator = " ".join(f"{k}={v}" for k, v in c["allocator_environment"].items())
for name, f in c["functions"].items():
    print("\t".join([name, f["binary"], str(f["memory_mb"]), str(f["timeout_seconds"]), c["runtime"], allocator]))
PY
  role_var="$(echo "$name" | tr a-z A-Z)_ROLE_ARN"
  if [[ -n "$binary_dir" ]]; then
    # A release's zips (<binary>/bootstrap.zip) or unpacked binaries (<binary>/bootstrap).
    if [[ ! -e "$binary_dir/$binary/bootstrap" && -e "$binary_dir/$binary/bootstrap.zip" ]]; then
      unpacked="$(mktemp -d)"
      python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
        "$binary_dir/$binary/bootstrap.zip" "$unpacked"
      chmod +x "$unpacked/bootstrap"
      from=(--binary-path "$unpacked/bootstrap")
    else
      from=(--binary-path "$binary_dir/$binary/bootstrap")
    fi
  else
    from=(--binary-name "$binary")
  fi
  cmd=(cargo lambda deploy "$binary" "${from[@]}" --iam-role "${!role_var}"
       --runtime "$runtime" --memory "$memory" --timeout "$timeout" --env-file "$env_file")
  case "$mode" in
    print) printf '%q ' "${cmd[@]}"; echo ;;
    dry) (cd "$root" && "${cmd[@]}" --dry) ;;
    *) (cd "$root" && "${cmd[@]}") ;;
  esac
done
