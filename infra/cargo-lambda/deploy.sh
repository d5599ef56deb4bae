#!/usr/bin/env bash
# Deploys both functions with `cargo lambda deploy`, configured from infra/contract.json (the
# same contract the CDK construct and the Terraform module follow; infra/tests/parity.py checks
# this script's commands against it). Build first: `make package`.
#
#   OKTA_RELAY_STATE_TABLE=...  OKTA_RELAY_DELIVERY_BUS=...  OKTA_RELAY_CONFIG_PATH=config.json \
#   EVENTS_ROLE_ARN=...  POLLER_ROLE_ARN=...  infra/cargo-lambda/deploy.sh [--print]
#
# The configuration goes into the functions' environment (up to about 3 500 bytes, ~15 orgs).
# A larger one is stored first (an SSM parameter, or an S3 object) and named instead of
# OKTA_RELAY_CONFIG_PATH: OKTA_RELAY_CONFIG_PARAMETER=/name or OKTA_RELAY_CONFIG_OBJECT=s3://b/k
# (the roles then need ssm:GetParameter or s3:GetObject on it).
#
# The roles, the table, the buses, the rules and the DLQs are not created by cargo lambda:
# create them with the CDK stack or the Terraform module (or see the README's table of what each
# role needs). --print shows the commands instead of running them.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
: "${OKTA_RELAY_STATE_TABLE:?the state table name}" "${OKTA_RELAY_DELIVERY_BUS:?the delivery bus name}"
: "${EVENTS_ROLE_ARN:?the events function role}" "${POLLER_ROLE_ARN:?the poller function role}"
if [[ -n "${OKTA_RELAY_CONFIG_PARAMETER:-}" ]]; then
  config_env="OKTA_RELAY_CONFIG_PARAMETER=$OKTA_RELAY_CONFIG_PARAMETER"
elif [[ -n "${OKTA_RELAY_CONFIG_OBJECT:-}" ]]; then
  config_env="OKTA_RELAY_CONFIG_OBJECT=$OKTA_RELAY_CONFIG_OBJECT"
else
  : "${OKTA_RELAY_CONFIG_PATH:?a file with the relay configuration (JSON), or OKTA_RELAY_CONFIG_PARAMETER / OKTA_RELAY_CONFIG_OBJECT}"
  config=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), separators=(",", ":")))' "$OKTA_RELAY_CONFIG_PATH")
  if (( ${#config} > 3500 )); then
    echo "the configuration is ${#config} bytes, over the 3500 Lambda's environment leaves it: store it in an SSM parameter or an S3 object and set OKTA_RELAY_CONFIG_PARAMETER or OKTA_RELAY_CONFIG_OBJECT instead" >&2
    exit 1
  fi
  config_env="OKTA_RELAY_CONFIG=$config"
fi

python3 - "$root/infra/contract.json" <<'PY' | while IFS=$'\t' read -r name binary memory timeout runtime allocator; do
import json, sys
c = json.load(open(sys.argv[1]))
allocator = " ".join(f"{k}={v}" for k, v in c["allocator_environment"].items())
for name, f in c["functions"].items():
    print("\t".join([name, f["binary"], str(f["memory_mb"]), str(f["timeout_seconds"]), c["runtime"], allocator]))
PY
  role_var="$(echo "$name" | tr a-z A-Z)_ROLE_ARN"
  cmd=(cargo lambda deploy "$binary" --binary-name "$binary" --iam-role "${!role_var}"
       --runtime "$runtime" --memory "$memory" --timeout "$timeout"
       --env-var "OKTA_RELAY_STATE_TABLE=$OKTA_RELAY_STATE_TABLE"
       --env-var "OKTA_RELAY_DELIVERY_BUS=$OKTA_RELAY_DELIVERY_BUS"
       --env-var "$config_env")
  for setting in $allocator; do cmd+=(--env-var "$setting"); done
  if [[ "${1:-}" == "--print" ]]; then
    printf '%q ' "${cmd[@]}"; echo
  else
    (cd "$root" && "${cmd[@]}")
  fi
done
