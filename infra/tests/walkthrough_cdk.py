#!/usr/bin/env python3
"""docs/deploy.md's CDK step, as written, synthesizes the template `make infra-test` checks.

The block marked `<!-- walkthrough: cdk -->` is taken from the document and run with bash,
with three changes: `cdk deploy` becomes `cdk synth --quiet -o OUT` (offline, no account),
`npm ci` is skipped (make infra-deps installed the same lock file), and each `<placeholder>` is
filled below; a placeholder this script does not know fails it. The optional context values the
document lists after the block (push, Security Lake, alarms, the Firehose streams) are appended, so the template
holds every resource the checks look at.

    walkthrough_cdk.py OUT_DIR CODE_DIR
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

VALUES = {
    "<the secret's ARN>": "arn:aws:secretsmanager:us-east-1:123456789012:secret:okta/example-AbCdEf",
    "<SIEM URL>": "https://siem.example.com/ingest/okta",
    "<SIEM secret ARN>": "arn:aws:secretsmanager:us-east-1:123456789012:secret:siem-key-AbCdEf",
}
OPTIONAL = [
    "-c", "orgName=example",
    "-c", "partnerEventSource=aws.partner/okta.com/example-org/okta-relay",
    "-c", "securityLakeBucket=aws-security-data-lake-us-east-1-examplehash0123",
    "-c", "securityLakeKeyArn=arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555",
    "-c", "alarmTopicArn=arn:aws:sns:us-east-1:123456789012:okta-relay-alarms",
    "-c", "siemFirehoseUrl=https://http-inputs-example.splunkcloud.com/services/collector/event",
    "-c", "siemFirehoseSecretArn=arn:aws:secretsmanager:us-east-1:123456789012:secret:siem-firehose-AbCdEf",
    "-c", "archive=true",
]


def block(markdown, name):
    match = re.search(rf"<!-- walkthrough: {re.escape(name)} -->\n```[a-z]*\n(.*?)\n```", markdown, re.S)
    if not match:
        sys.exit(f"docs/deploy.md has no walkthrough block {name}")
    return match.group(1)


def main():
    out, code = (os.path.abspath(a) for a in sys.argv[1:3])
    with open(os.path.join(ROOT, "docs", "deploy.md")) as f:
        script = block(f.read(), "cdk")
    if "npx cdk deploy" not in script or "npm ci" not in script:
        sys.exit(f"the CDK step no longer reads as this script expects:\n{script}")
    script = script.replace("<release>/lambda", code)
    for placeholder, value in VALUES.items():
        script = script.replace(placeholder, value)
    left = re.search(r"<[a-zA-Z][^<>\n]*>", script)
    if left:
        sys.exit(f"the CDK step asks for {left.group(0)}, which this script does not fill")
    script = script.replace("&& npm ci", "&& true  # make infra-deps ran npm ci")
    quoted = " ".join(f"'{a}'" for a in OPTIONAL)
    script = script.replace("npx cdk deploy", f"npx cdk synth --quiet -o '{out}' {quoted}")
    run = subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=ROOT)
    if run.returncode != 0:
        sys.exit(f"the CDK step failed:\n{script}")
    print(f"docs/deploy.md's CDK step synthesized {out}")


if __name__ == "__main__":
    main()
