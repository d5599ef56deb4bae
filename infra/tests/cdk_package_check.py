#!/usr/bin/env python3
"""The CDK construct as a consumer gets it: `npm pack` of infra/cdk (after `jsii` built it),
then, from the tarball alone and outside the repository, a CDK app that installs it beside its
own aws-cdk-lib and synthesizes one org. Checks what the package holds (the compiled library,
its declarations, its own contract.json, the jsii assembly, README, LICENSE), what it must not
(sources of the example and tests, anything from outside the folder), its peer dependencies,
and that the synthesized stack has both functions. Run by `make infra-test`."""
import json
import os
import subprocess
import sys
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CDK = os.path.join(ROOT, "infra", "cdk")
problems = []

CONSUMER = """
const { App, Stack, SecretValue } = require('aws-cdk-lib');
const events = require('aws-cdk-lib/aws-events');
const secretsmanager = require('aws-cdk-lib/aws-secretsmanager');
const { OktaRelay, OktaRelayOutput } = require('okta-relay-cdk');
const app = new App({ outdir: process.argv[3] });
const stack = new Stack(app, 'Consumer', { env: { account: '111122223333', region: 'eu-west-1' } });
new OktaRelay(stack, 'Relay', {
  codeDirectory: process.argv[2],
  orgs: [{
    name: 'acme',
    secret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Org', 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:okta/acme-AbCdEf'),
    logs: { pageSize: 500 },
    inventory: { users: {} },
    output: OktaRelayOutput.BOTH,
  }],
  siemEndpoint: 'https://siem.example.org/ingest',
  siemAuthorization: events.Authorization.apiKey('Authorization', SecretValue.secretsManager('arn:aws:secretsmanager:eu-west-1:111122223333:secret:siem-AbCdEf', { jsonField: 'api_key' })),
});
app.synth();
"""


def main():
    with open(os.path.join(CDK, "package.json")) as f:
        package = json.load(f)
    if package.get("private"):
        problems.append("package.json is private: nobody can install it")
    peers = package.get("peerDependencies", {})
    for name, major in (("aws-cdk-lib", "^2."), ("constructs", "^10.")):
        if not peers.get(name, "").startswith(major):
            problems.append(f"peerDependencies.{name} should be {major}x, is {peers.get(name)!r}")
        if name in package.get("dependencies", {}):
            problems.append(f"{name} is a dependency: a consumer would get a second copy")
    with tempfile.TemporaryDirectory() as tmp:
        pack = subprocess.run(["npm", "pack", "--json", "--pack-destination", tmp], cwd=CDK,
                              capture_output=True, text=True)
        if pack.returncode != 0:
            sys.exit(f"npm pack failed:\n{pack.stderr}")
        tarball = os.path.join(tmp, json.loads(pack.stdout)[0]["filename"])
        with tarfile.open(tarball) as t:
            names = sorted(m.name.removeprefix("package/") for m in t.getmembers())
            t.extractall(os.path.join(tmp, "consumer", "node_modules"), filter="data")
        os.rename(os.path.join(tmp, "consumer", "node_modules", "package"),
                  os.path.join(tmp, "consumer", "node_modules", "okta-relay-cdk"))
        for want in ("dist/lib/index.js", "dist/lib/index.d.ts", "dist/lib/contract.json", ".jsii",
                     "README.md", "LICENSE", "package.json"):
            if want not in names:
                problems.append(f"the package lacks {want}")
        for name in names:
            if name.startswith(("bin/", "test/", "dist/test/", "dist/bin/", "node_modules/")) or name.endswith(".ts") and not name.endswith(".d.ts"):
                problems.append(f"the package ships {name}")
        # The consumer's own aws-cdk-lib and constructs (the peers), nothing else from the repo.
        for peer in ("aws-cdk-lib", "constructs"):
            os.symlink(os.path.join(CDK, "node_modules", peer), os.path.join(tmp, "consumer", "node_modules", peer))
        code = os.path.join(tmp, "code")
        for binary in ("okta-relay-events", "okta-relay-poller"):
            os.makedirs(os.path.join(code, binary))
            open(os.path.join(code, binary, "bootstrap.zip"), "wb").write(b"PK\x05\x06" + bytes(18))
        app = os.path.join(tmp, "consumer", "app.js")
        with open(app, "w") as f:
            f.write(CONSUMER)
        out = os.path.join(tmp, "cdk.out")
        run = subprocess.run(["node", app, code, out], cwd=os.path.join(tmp, "consumer"),
                             capture_output=True, text=True)
        if run.returncode != 0:
            problems.append(f"a consumer's synth from the tarball failed:\n{run.stderr[-2000:]}")
        else:
            with open(os.path.join(out, "Consumer.template.json")) as f:
                template = json.load(f)
            fns = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
            if len(fns) != 2:
                problems.append(f"the consumer's stack has {len(fns)} functions, not 2")
            config = json.dumps(fns[0]["Properties"]["Environment"]["Variables"])
            if "page_size" not in config or "both" not in config:
                problems.append("the consumer's typed settings did not reach the configuration")
        size = os.path.getsize(tarball)
    if problems:
        print("the CDK package:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print(f"cdk package: {package['name']}@{package['version']} packs {len(names)} files ({size} bytes); "
          "a consumer synthesizes from the tarball alone")


if __name__ == "__main__":
    main()
