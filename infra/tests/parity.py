#!/usr/bin/env python3
"""The three deployment paths cannot drift: checks the synthesized CDK template, the Terraform
module (parsed with python-hcl2), the cargo lambda deploy script and the Rust code against
infra/contract.json, and that tests/local/resources.json (what the local stack provisions in
moto) is exactly what the template defines.

  parity.py TEMPLATE            check everything; exit 1 with every difference listed
  parity.py TEMPLATE --write    regenerate tests/local/resources.json from the template
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import hcl2

INFRA = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(INFRA)
RESOURCES = os.path.join(ROOT, "tests", "local", "resources.json")
problems = []


def check(what, got, want):
    if got != want:
        problems.append(f"{what}: {json.dumps(got, sort_keys=True)} != contract {json.dumps(want, sort_keys=True)}")


def unquote(v):
    """python-hcl2 keeps the quotes of string literals."""
    if isinstance(v, str) and len(v) >= 2 and v[0] == v[-1] == '"':
        return v[1:-1]
    if isinstance(v, list):
        return [unquote(x) for x in v]
    if isinstance(v, dict):
        return {unquote(k): unquote(x) for k, x in v.items()}
    return v


def of_type(template, kind):
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def function(template, binary):
    name = binary.removeprefix("okta-relay-")
    for k, r in of_type(template, "AWS::Lambda::Function").items():
        if r["Properties"].get("Description") == f"okta-relay {name} function":
            return k, r["Properties"]
    problems.append(f"template: no {binary} function")
    return None, {}


def statements_of(template, logical_id, props):
    role = props["Role"]["Fn::GetAtt"][0]
    out = []
    for p in of_type(template, "AWS::IAM::Policy").values():
        if any(r.get("Ref") == role for r in p["Properties"]["Roles"]):
            out += p["Properties"]["PolicyDocument"]["Statement"]
    return out


def actions_with(statements, prefix):
    return sorted(a for s in statements for a in [s["Action"]] if isinstance(a, str) and a.startswith(prefix)) + sorted(
        a for s in statements if isinstance(s["Action"], list) for a in s["Action"] if a.startswith(prefix)
    )


def table_grants(statements):
    """Each table statement's actions and dynamodb:LeadingKeys patterns, in order (each must
    have them: a statement without the condition reaches every item)."""
    out = []
    for s in statements:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        if any(a.startswith("dynamodb:") for a in actions):
            keys = s.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
            out.append({"actions": sorted(actions),
                        "leading_keys": (keys if isinstance(keys, list) else [keys]) if keys else "(no dynamodb:LeadingKeys)"})
    return out


def check_template_key_and_queues(template):
    """Service principals on the key only on this account's behalf; each DLQ only for its rules."""
    for k, r in of_type(template, "AWS::KMS::Key").items():
        for st in r["Properties"]["KeyPolicy"]["Statement"]:
            service = st.get("Principal", {}).get("Service")
            if service and not st.get("Condition"):
                problems.append(f"template key {k}: statement for {service} has no source condition")
    for k, r in of_type(template, "AWS::SQS::QueuePolicy").items():
        for st in r["Properties"]["PolicyDocument"]["Statement"]:
            if st.get("Effect") == "Allow" and st.get("Principal", {}).get("Service") == "events.amazonaws.com":
                if "aws:SourceArn" not in json.dumps(st.get("Condition", {})):
                    problems.append(f"template queue policy {k}: EventBridge may send without aws:SourceArn")


def check_template_push(template, contract):
    """The partner rule targets the push queue; the queue feeds the events function in batches
    with partial batch responses; the API destination's rate."""
    q = contract["push_queue"]
    queues = {k: r["Properties"] for k, r in of_type(template, "AWS::SQS::Queue").items() if "RedrivePolicy" in r["Properties"]}
    if len(queues) != 1:
        problems.append(f"template: expected one queue with a redrive policy (the push queue), found {len(queues)}")
        return
    (queue_id, queue), = queues.items()
    check("template push queue visibility", queue.get("VisibilityTimeout"), q["visibility_timeout_seconds"])
    check("template push queue max receive count", queue["RedrivePolicy"].get("maxReceiveCount"), q["max_receive_count"])
    partner = [r["Properties"] for r in of_type(template, "AWS::Events::Rule").values()
               if r["Properties"].get("EventPattern") == contract["rules"]["partner"]]
    for p in partner:
        check("template partner rule target", p["Targets"][0]["Arn"], {"Fn::GetAtt": [queue_id, "Arn"]})
    mappings = [r["Properties"] for r in of_type(template, "AWS::Lambda::EventSourceMapping").values()]
    check("template event source mappings", len(mappings), 1)
    for m in mappings:
        check("template push batch size", m.get("BatchSize"), q["batch_size"])
        check("template push batching window", m.get("MaximumBatchingWindowInSeconds"), q["max_batching_window_seconds"])
        check("template partial batch responses", m.get("FunctionResponseTypes"), ["ReportBatchItemFailures"])
    for d in of_type(template, "AWS::Events::ApiDestination").values():
        check("template API destination rate", d["Properties"].get("InvocationRateLimitPerSecond"),
              contract["api_destination"]["invocation_rate_limit_per_second"])


def check_schedules(template):
    """Both paths give each org its own poller schedule, whose input names the org, without
    retries, and let one poller invocation per org run at once."""
    schedules = [r["Properties"] for r in of_type(template, "AWS::Scheduler::Schedule").values()]
    _, poller = function(template, "okta-relay-poller")
    config = config_text(poller.get("Environment", {}).get("Variables", {}).get("OKTA_RELAY_CONFIG"))
    orgs = json.loads(config)["orgs"] if config else []
    check("template schedule inputs", sorted(json.loads(s["Target"]["Input"])["org"] for s in schedules),
          sorted(o["name"] for o in orgs))
    for s in schedules:
        check("template schedule retries", s["Target"].get("RetryPolicy", {}).get("MaximumRetryAttempts"), 0)
    check("template poller concurrency", poller.get("ReservedConcurrentExecutions"), len(orgs))
    resources = {}
    for block in terraform_blocks("resource"):
        for kind, named in unquote(block).items():
            resources.update({(kind, n): b for n, b in named.items()})
    poll = resources.get(("aws_scheduler_schedule", "poll"), {})
    check("terraform schedule per org", poll.get("for_each"), "${{for o in var.orgs : o.name => o}}")
    target = (poll.get("target") or [{}])[0]
    check("terraform schedule input", target.get("input"), "${jsonencode({org = each.key})}")
    check("terraform schedule retries", (target.get("retry_policy") or [{}])[0].get("maximum_retry_attempts"), 0)
    relay = resources.get(("aws_lambda_function", "relay"), {})
    check("terraform poller concurrency", relay.get("reserved_concurrent_executions"),
          '${each.key == "poller" ? length(var.orgs) : var.events_concurrency}')


def check_template(template, contract):
    check_template_key_and_queues(template)
    for name, spec in contract["functions"].items():
        logical_id, p = function(template, spec["binary"])
        if not logical_id:
            continue
        where = f"template {name}"
        check(f"{where} runtime", p.get("Runtime"), contract["runtime"])
        check(f"{where} architecture", p.get("Architectures"), [contract["architecture"]])
        check(f"{where} handler", p.get("Handler"), contract["handler"])
        check(f"{where} memory", p.get("MemorySize"), spec["memory_mb"])
        check(f"{where} timeout", p.get("Timeout"), spec["timeout_seconds"])
        env = p["Environment"]["Variables"]
        check(f"{where} environment", sorted(env), sorted([*contract["environment"], *contract["allocator_environment"],
                                                          contract["configuration_variables"]["environment"]]))
        check(f"{where} allocator settings", {k: env.get(k) for k in contract["allocator_environment"]},
              contract["allocator_environment"])
        st = statements_of(template, logical_id, p)
        check(f"{where} table grants", table_grants(st), spec["state_table_grants"])
        check(f"{where} bus actions", actions_with(st, "events:"), sorted(spec["delivery_bus_actions"]))
        check(f"{where} secret actions", actions_with(st, "secretsmanager:"), sorted(spec["secret_actions"]))
        check(f"{where} queue actions", actions_with(st, "sqs:"), sorted(spec.get("queue_actions", [])))
    patterns = [r["Properties"].get("EventPattern") for r in of_type(template, "AWS::Events::Rule").values()]
    for rule in ("partner", "delivery"):
        if contract["rules"][rule] not in patterns:
            problems.append(f"template: no rule with the {rule} pattern {contract['rules'][rule]}")
    check_template_push(template, contract)
    table = next(iter(of_type(template, "AWS::DynamoDB::Table").values()))["Properties"]
    check("template table key", table["KeySchema"][0]["AttributeName"], contract["state_table"]["partition_key"])
    check("template table TTL", table["TimeToLiveSpecification"]["AttributeName"], contract["state_table"]["ttl_attribute"])


def terraform_blocks(kind):
    """Every `kind` block ("data", "resource") of the module's files, parsed."""
    out = []
    for name in sorted(os.listdir(os.path.join(INFRA, "terraform"))):
        if name.endswith(".tf"):
            with open(os.path.join(INFRA, "terraform", name)) as f:
                out += hcl2.load(f).get(kind, [])
    return out


def check_terraform_key_and_queues():
    """The module's key policy, queue policies and role policy carry the same conditions as the
    template's."""
    docs = {}
    for block in terraform_blocks("data"):
        for name, body in unquote(block).get("aws_iam_policy_document", {}).items():
            docs[name] = body
    def statements(doc):
        out = list(doc.get("statement", []))
        for dyn in doc.get("dynamic", []):
            for block in dyn.values():
                content = block.get("content", [])
                out += content if isinstance(content, list) else [content]
        return out
    for st in statements(docs.get("key", {})):
        principals = st.get("principals", [])
        if any(p.get("type") == "Service" for p in principals) and not st.get("condition"):
            problems.append(f"terraform key statement {st.get('sid')}: a service principal without a source condition")
    queue = statements(docs.get("queue", {}))
    senders = [st for st in queue if st.get("sid") == "EventBridgeRules"]
    if not senders or any("aws:SourceArn" not in json.dumps(st.get("condition", [])) for st in senders):
        problems.append("terraform queue policy: EventBridge may send without aws:SourceArn")
    if not any(st.get("sid") == "TlsOnly" for st in queue):
        problems.append("terraform queue policy: no TLS-only statement")
    table = [st for st in statements(docs.get("relay", {})) if str(st.get("sid", "")).startswith("StateTable")]
    if not table or any("dynamodb:LeadingKeys" not in json.dumps(st.get("condition", [])) for st in table):
        problems.append("terraform role policy: the state table statement has no dynamodb:LeadingKeys condition")


def check_terraform_push(locals_, contract):
    """The module's push queue, event source mapping and API destination follow the contract."""
    q = contract["push_queue"]
    check("terraform push_queue", locals_.get("push_queue"),
          {k: q[k] for k in ("batch_size", "max_batching_window_seconds", "visibility_timeout_seconds", "max_receive_count")})
    defaults = {}
    for block in terraform_blocks("variable"):
        for name, body in unquote(block).items():
            defaults[name] = body.get("default")
    check("terraform push_batch_size default", defaults.get("push_batch_size"), q["batch_size"])
    check("terraform push_batching_window_seconds default", defaults.get("push_batching_window_seconds"),
          q["max_batching_window_seconds"])
    check("terraform API destination rate default", defaults.get("invocation_rate_limit_per_second"),
          contract["api_destination"]["invocation_rate_limit_per_second"])
    resources = {}
    for block in terraform_blocks("resource"):
        for kind, named in unquote(block).items():
            for name, body in named.items():
                resources[(kind, name)] = body
    target = resources.get(("aws_cloudwatch_event_target", "partner"), {})
    check("terraform partner rule target", target.get("arn"), "${aws_sqs_queue.push.arn}")
    rule = resources.get(("aws_cloudwatch_event_rule", "partner"), {})
    check("terraform partner rule per streaming org", (rule.get("for_each"), rule.get("event_bus_name")),
          ("${local.partner_sources}", "${each.value}"))
    check("terraform partner target per streaming org", target.get("for_each"), "${local.partner_sources}")
    mapping = resources.get(("aws_lambda_event_source_mapping", "push"), {})
    check("terraform partial batch responses", mapping.get("function_response_types"), ["ReportBatchItemFailures"])
    scaling = mapping.get("scaling_config") or [{}]
    check("terraform push mapping concurrency", (scaling[0] if isinstance(scaling, list) else scaling).get("maximum_concurrency"),
          "${var.events_concurrency}")
    check("terraform push mapping waits for the role policy", mapping.get("depends_on"), ["${aws_iam_role_policy.relay}"])


def check_terraform_self_contained():
    """The module uses no file outside its folder (a registry or git source gets only the
    folder): its copy of the contract is the contract, and no path climbs out of it."""
    module = os.path.join(INFRA, "terraform")
    with open(os.path.join(INFRA, "contract.json")) as a, open(os.path.join(module, "contract.json")) as b:
        if a.read() != b.read():
            problems.append("infra/terraform/contract.json differs from infra/contract.json: copy it (cp infra/contract.json infra/terraform/)")
    for d, _, files in os.walk(module):
        if ".terraform" in d:
            continue
        for f in files:
            if not f.endswith(".tf"):
                continue
            with open(os.path.join(d, f)) as fh:
                text = fh.read()
            top = os.path.relpath(d, module) == "."
            if top and re.search(r'path\.module\}/\.\.', text):
                problems.append(f"terraform/{f} reads a file outside the module")


def check_cdk_self_contained():
    """The construct's package builds from its own folder: its copies of the contract and the
    licence are the repository's, and no library file imports from outside the package."""
    cdk = os.path.join(INFRA, "cdk")
    for copy, original in (("lib/contract.json", os.path.join(INFRA, "contract.json")),
                           ("LICENSE", os.path.join(os.path.dirname(INFRA), "LICENSE"))):
        with open(original) as a, open(os.path.join(cdk, copy)) as b:
            if a.read() != b.read():
                problems.append(f"infra/cdk/{copy} differs from {os.path.relpath(original, os.path.dirname(INFRA))}: copy it")
    for f in os.listdir(os.path.join(cdk, "lib")):
        if f.endswith(".ts"):
            with open(os.path.join(cdk, "lib", f)) as fh:
                if re.search(r"from '\.\./", fh.read()):
                    problems.append(f"infra/cdk/lib/{f} imports from outside the package")


def check_vpc_actions(contract):
    """In a VPC both paths grant the same network-interface actions: the contract's."""
    with open(os.path.join(INFRA, "terraform", "iam.tf")) as f:
        text = f.read()
    block = re.search(r'data "aws_iam_policy_document" "vpc" \{.*?actions\s*=\s*\[(.*?)\]', text, re.S)
    actions = re.findall(r'"([^"]+)"', block.group(1)) if block else None
    check("terraform VPC actions", actions, contract["vpc_actions"])


def check_delivery_alarms(template, contract):
    """A SIEM that fails alarms within 5 minutes, in both stacks: the template's alarms follow
    contract.json `delivery_alarms` (the Terraform module renders the same data: it reads its
    copy of the contract), and the failing-SIEM alarm needs at most 5 minutes of data."""
    spec = contract["delivery_alarms"]
    alarms = {a["Properties"].get("AlarmDescription", ""): a["Properties"]
              for a in of_type(template, "AWS::CloudWatch::Alarm").values()}
    def find(entry):
        return next((p for d, p in alarms.items() if entry["runbook"] in d), None)
    for name in ("siem_failing", "delivery_failed", "dlq_send_failed"):
        entry, found = spec[name], find(spec[name])
        if found is None:
            problems.append(f"template: no {name} alarm")
            continue
        queries = found.get("Metrics", [])
        returned = [q.get("Expression") for q in queries if q.get("ReturnData", True) and "Expression" in q]
        check(f"template {name} expression", returned, [entry["expression"]])
        used = sorted({q["MetricStat"]["Metric"]["MetricName"] for q in queries if "MetricStat" in q})
        check(f"template {name} metrics", used, sorted(entry["metrics"].values()))
        periods = {q["MetricStat"]["Period"] for q in queries if "MetricStat" in q}
        check(f"template {name} period", periods, {entry["period_seconds"]})
        check(f"template {name} datapoints", found.get("DatapointsToAlarm"), entry["datapoints"])
        check(f"template {name} threshold", found.get("Threshold"), entry["threshold"])
        for q in queries:
            if "MetricStat" in q:
                dims = sorted(d["Name"] for d in q["MetricStat"]["Metric"]["Dimensions"])
                check(f"template {name} dimensions (a rule on a custom bus)", dims, ["EventBusName", "RuleName"])
    minutes = spec["siem_failing"]["period_seconds"] * spec["siem_failing"]["datapoints"] / 60
    if minutes > 5:
        problems.append(f"a failing SIEM alarms after {minutes} minutes, more than 5")
    age = find(spec["push_queue_age"])
    if age is None:
        problems.append("template: no push queue age alarm")
    else:
        check("template push queue age period", age.get("Period"), spec["push_queue_age"]["period_seconds"])
        check("template push queue age threshold", age.get("Threshold"), spec["push_queue_age"]["threshold"])
    with open(os.path.join(INFRA, "terraform", "alarms.tf")) as f:
        tf = f.read()
    for needed in ('resource "aws_cloudwatch_metric_alarm" "delivery"', 'for k in ["siem_failing", "delivery_failed", "dlq_send_failed"]',
                   "local.delivery_alarms.push_queue_age", "datapoints_to_alarm = local.delivery_alarms[each.key].datapoints",
                   "period = local.delivery_alarms[each.key].period_seconds"):
        if needed not in tf:
            problems.append(f"terraform alarms.tf lacks {needed!r}")


def check_alarm_ok_actions(template):
    """Whoever is paged hears when the alarm clears: each alarm's OK actions are its alarm
    actions, in the template and in the module."""
    for name, r in template["Resources"].items():
        if r["Type"] == "AWS::CloudWatch::Alarm":
            p = r["Properties"]
            if not p.get("AlarmActions"):
                problems.append(f"template {name} notifies nobody (the example is synthesized with a topic)")
            check(f"template {name} OK actions", p.get("OKActions"), p.get("AlarmActions"))
    with open(os.path.join(INFRA, "terraform", "alarms.tf")) as f:
        if not re.search(r"(?m)^\s*ok_actions\s*=\s*local\.alarm_actions\s*$", f.read()):
            problems.append("terraform alarms have no ok_actions = local.alarm_actions")


def check_terraform_delivery_rules(contract):
    """The module's delivery rules and their alarm metrics, evaluated by terraform itself (the
    locals alone: no provider, no network): one rule with the contract's pattern, or, with
    siem_receives_okta_object_only, the Okta objects' rule (its input path) and the whole
    records' rule, each rule in each rule alarm's sums. Skipped without terraform."""
    if not shutil.which("terraform"):
        print("NOTICE: terraform is not installed: the delivery rules were not evaluated")
        return
    module = os.path.join(INFRA, "terraform")
    with open(os.path.join(module, "eventbridge.tf")) as f:
        rules = f.read()
    rules = rules[rules.index("locals {\n  okta_object_detail_types"):]
    rules = rules[:rules.index("\n}\n") + 3]
    with open(os.path.join(module, "alarms.tf")) as f:
        alarms = re.search(r"  delivery_alarms = .*?\n  delivery_alarm_metrics = .*?\]\.\.\.\) \}\n", f.read(), re.S)
    if not alarms:
        problems.append("terraform alarms.tf: delivery_alarm_metrics not found")
        return
    main = ('variable "siem_receives_okta_object_only" {}\nvariable "name_prefix" { default = "okta-relay" }\n'
            'locals {\n  delivery_rule_pattern = ' + json.dumps(contract["rules"]["delivery"]).replace(":", " =") + "\n"
            + alarms.group(0) + "}\n" + rules
            + 'output "rules" {\n  value = local.delivery_rules\n}\n'
            + 'output "metrics" {\n  value = local.delivery_alarm_metrics\n}\n')
    types = contract["okta_object_detail_types"]
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(os.path.join(module, "contract.json"), tmp)
        with open(os.path.join(tmp, "main.tf"), "w") as f:
            f.write(main)
        subprocess.run(["terraform", "init", "-backend=false", "-input=false"], cwd=tmp, capture_output=True, check=True)
        for split in (False, True):
            out = subprocess.run(["terraform", "apply", "-auto-approve", "-input=false", "-no-color",
                                  f"-var=siem_receives_okta_object_only={str(split).lower()}"], cwd=tmp,
                                 capture_output=True, text=True)
            if out.returncode != 0:
                problems.append(f"terraform delivery rules (split {split}): {out.stderr.strip()[-400:]}")
                continue
            got = json.loads(subprocess.run(["terraform", "output", "-json"], cwd=tmp, capture_output=True,
                                            text=True, check=True).stdout)
            rules_got = got["rules"]["value"]
            patterns = {k: json.loads(v["pattern"]) for k, v in rules_got.items()}
            paths = {k: v["input_path"] for k, v in rules_got.items()}
            want_patterns = ({"main": {**contract["rules"]["delivery"], "detail-type": types},
                              "whole": {**contract["rules"]["delivery"], "detail-type": [{"anything-but": types}]}}
                             if split else {"main": contract["rules"]["delivery"]})
            check(f"terraform delivery rule patterns (split {split})", patterns, want_patterns)
            check(f"terraform delivery input paths (split {split})", paths,
                  {"main": "$.detail.okta", "whole": None} if split else {"main": None})
            for alarm, per_rule in got["metrics"]["value"].items():
                check(f"terraform {alarm} sums over the rules (split {split})",
                      sorted({m["rule"] for m in per_rule.values()}), sorted(rules_got))


def check_terraform_org_validation():
    """var.orgs refuses at plan time what the relay would refuse at start-up: a page_size given
    as a string, an unknown settings key. Run with terraform itself on the variable alone (no
    provider, no network); skipped without terraform."""
    if not shutil.which("terraform"):
        print("NOTICE: terraform is not installed: the orgs variable's validations were not run")
        return
    with open(os.path.join(INFRA, "terraform", "variables.tf")) as f:
        text = f.read()
    start = text.index('variable "orgs"')
    block = text[start:text.index('\nvariable "', start + 1)]
    good = [{"name": "acme", "settings": {"logs": {"page_size": 1000}, "inventory": {"users": {}}}},
            {"name": "beta", "settings": {"logs": {"page_size": 500}, "inventory": {"users": {}}}}]
    cases = [(good, None),
             ([good[0], {"name": "beta", "settings": {"logs": {"page_size": "1000"}, "inventory": {"users": {}}}}], "page_size"),
             ([{"name": "acme", "settings": {"logz": {}}}], "settings takes only"),
             ([{"name": "acme", "settings": {"sink": "archive_stream"}}], None),
             ([{"name": "acme", "settings": {"sink": "kafka"}}], "settings.sink must be")]
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "main.tf"), "w") as f:
            f.write(block + '\noutput "n" {\n  value = length(var.orgs)\n}\n')
        subprocess.run(["terraform", "init", "-backend=false", "-input=false"], cwd=tmp, capture_output=True, check=True)
        for orgs, refusal in cases:
            with open(os.path.join(tmp, "terraform.tfvars.json"), "w") as f:
                json.dump({"orgs": orgs}, f)
            out = subprocess.run(["terraform", "apply", "-auto-approve", "-input=false", "-no-color"], cwd=tmp,
                                 capture_output=True, text=True)
            if refusal is None and out.returncode != 0:
                problems.append(f"terraform var.orgs refuses good settings: {out.stderr.strip()[-300:]}")
            elif refusal is not None and (out.returncode == 0 or refusal not in out.stderr):
                problems.append(f"terraform var.orgs does not refuse {orgs[-1]['settings']} ({refusal!r}): {out.stderr.strip()[-300:]}")


def check_firehose(contract):
    """The Firehose streams, rendered by both stacks from contract.json's `firehose` (the CDK
    construct's assertion tests check its template): the Terraform module takes every stream
    setting from the contract (local.firehose_spec), never a literal, offers the contract's sinks
    to orgs, grants the functions the contract's actions, and alarms on each stream."""
    spec = contract["firehose"]
    with open(os.path.join(INFRA, "terraform", "firehose.tf")) as f:
        tf = f.read()
    for field in ("siem.buffer_interval_seconds", "siem.buffer_size_mb", "siem.retry_duration_seconds",
                  "siem.content_encoding", "siem.failed_prefix", "siem.failed_error_prefix", "archive.prefix",
                  "archive.error_output_prefix", "archive.compression", "archive.buffer_interval_seconds",
                  "archive.buffer_size_mb", "archive.partition_query", "archive.glue_table.projection",
                  "archive.glue_table.serde", "archive.glue_table.columns", "archive.glue_table.partition_keys"):
        if f"local.firehose_spec.{field}" not in tf:
            problems.append(f"terraform firehose.tf does not take firehose.{field} from the contract")
    with open(os.path.join(INFRA, "terraform", "variables.tf")) as f:
        variables = f.read()
    offered = re.search(r'contains\((\["event_bus"[^]]*\]), try\(o\.settings\.sink', variables)
    check("terraform org sinks", json.loads(offered.group(1)) if offered else None, spec["sinks"])
    with open(os.path.join(INFRA, "terraform", "iam.tf")) as f:
        if "local.firehose_spec.function_actions" not in f.read():
            problems.append("terraform iam.tf does not grant the contract's firehose.function_actions")
    with open(os.path.join(INFRA, "terraform", "alarms.tf")) as f:
        if "local.firehose_spec.alarms" not in f.read():
            problems.append("terraform alarms.tf has no Firehose stream alarms")
    with open(os.path.join(INFRA, "cdk", "lib", "settings.ts")) as f:
        cdk = re.findall(r"^  [A-Z_]+ = '([a-z_]+)',", f.read().split("export enum OktaRelaySink")[1].split("}")[0], re.M)
    check("CDK org sinks", cdk, spec["sinks"])


def check_ingress(template, contract):
    """Nobody but the relay puts records where it reads them (contract.json `ingress`): the
    template's push queue denies sqs:SendMessage except from its partner rules, its delivery bus
    denies events:PutEvents except to the two functions' roles; the Terraform module has both."""
    spec = contract["ingress"]
    statements = [s for p in of_type(template, "AWS::SQS::QueuePolicy").values()
                  for s in p["Properties"]["PolicyDocument"]["Statement"]]
    deny = [s for s in statements if s.get("Sid") == spec["push_queue_deny_sid"]]
    if len(deny) != 1 or deny[0]["Effect"] != "Deny" or deny[0]["Action"] != "sqs:SendMessage":
        problems.append(f"template: the push queue has no {spec['push_queue_deny_sid']} deny of sqs:SendMessage")
    bus = [p["Properties"]["Statement"] for p in of_type(template, "AWS::Events::EventBusPolicy").values()]
    roles = sorted(f["Properties"]["Role"]["Fn::GetAtt"][0] for f in of_type(template, "AWS::Lambda::Function").values())
    ok = [s for s in bus if s.get("Sid", "").endswith(spec["delivery_bus_deny_sid"]) and s["Effect"] == "Deny"
          and s["Action"] == "events:PutEvents"
          and sorted(a["Fn::GetAtt"][0] for a in s["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
                     if isinstance(a, dict)) == roles]
    if not ok:
        problems.append(f"template: the delivery bus has no {spec['delivery_bus_deny_sid']} deny of events:PutEvents to all but the functions")
    with open(os.path.join(INFRA, "terraform", "eventbridge.tf")) as f:
        tf = f.read()
    for needle in ("local.ingress.push_queue_deny_sid", "local.ingress.delivery_bus_deny_sid",
                   'resource "aws_cloudwatch_event_bus_policy" "delivery"', "var.operator_principal_arns"):
        if needle not in tf:
            problems.append(f"terraform eventbridge.tf: {needle} missing")


def check_terraform(contract):
    locals_ = {}
    for name in sorted(os.listdir(os.path.join(INFRA, "terraform"))):
        if name.endswith(".tf"):
            with open(os.path.join(INFRA, "terraform", name)) as f:
                for block in hcl2.load(f).get("locals", []):
                    locals_.update(unquote(block))
    for key in ("runtime", "architecture", "handler"):
        check(f"terraform {key}", locals_.get(key), contract[key])
    check_terraform_key_and_queues()
    for name, spec in contract["functions"].items():
        tf = locals_["functions"].get(name, {})
        for field in ("binary", "memory_mb", "timeout_seconds", "state_table_grants", "secret_actions"):
            check(f"terraform {name}.{field}", tf.get(field), spec[field])
        check(f"terraform {name}.queue_actions", tf.get("queue_actions"), spec.get("queue_actions", []))
        check(f"terraform {name} bus actions", locals_["delivery_bus_actions"], spec["delivery_bus_actions"])
    check("terraform partner pattern", locals_["partner_rule_pattern"], contract["rules"]["partner"])
    check_terraform_push(locals_, contract)
    check("terraform delivery pattern", locals_["delivery_rule_pattern"], contract["rules"]["delivery"])
    env = locals_["environment"]
    check("terraform environment", sorted(env), sorted([*contract["environment"], *contract["allocator_environment"]]))
    check("terraform configuration variables", locals_.get("config_variable"), contract["configuration_variables"])
    check("terraform configuration store actions", locals_.get("config_store_actions"), contract["configuration_store_actions"])
    check("terraform allocator settings", {k: unquote(env.get(k)) for k in contract["allocator_environment"]},
          contract["allocator_environment"])
    check("terraform table key", locals_["state_partition_key"], contract["state_table"]["partition_key"])
    check("terraform table TTL", locals_["state_ttl_attribute"], contract["state_table"]["ttl_attribute"])
    lake = contract["security_lake"]
    check("terraform Security Lake object actions", locals_.get("lake_object_actions"), lake["object_actions"])
    check("terraform Security Lake key actions", locals_.get("lake_key_actions"), lake["key_actions"])
    check("terraform Security Lake provider role actions", locals_.get("lake_role_actions"), lake["provider_role_actions"])
    check("terraform Security Lake default sources", locals_.get("lake_default_sources"), lake["sources"])
    defaults = {}
    for block in terraform_blocks("variable"):
        for name, body in unquote(block).items():
            defaults[name] = body
    lake_type = str(defaults.get("security_lake", {}).get("type", ""))
    if f'prefix = optional(string, "{lake["prefix"]}")' not in lake_type:
        problems.append(f"terraform security_lake.prefix does not default to {lake['prefix']!r}")
    arns = json.dumps(locals_.get("lake_object_arns"))
    if "${s}/*" not in arns or ":s3:::" not in arns:
        problems.append(f"terraform lake_object_arns are not <bucket>/<prefix><source>/* per source: {arns}")


def check_lake(template, contract):
    """The Security Lake contract: the mapping table's default sources are the contract's, and
    (the example app delivers to a lake) both functions stage (PutObject under the staging
    prefix of the stack's staging bucket), the poller also reads, lists and deletes there and
    alone may PutObject under each source's location, and GenerateDataKey on the lake's key."""
    lake = contract["security_lake"]
    with open(os.path.join(ROOT, "functions", "core", "src", "ocsf", "mapping.json")) as f:
        table = json.load(f)
    key = lambda name: name.lower().replace(" ", "_").replace("&", "_")
    check("mapping.json lake sources", {key(c["name"]): c["lake_source"] for c in table["classes"]}, lake["sources"])
    for name, spec in contract["functions"].items():
        logical_id, p = function(template, spec["binary"])
        if not logical_id:
            continue
        st = statements_of(template, logical_id, p)
        staging = lake["staging"]
        staged = [s for s in st if "LakeStaging" in json.dumps(s.get("Resource"))]
        want = staging["staged_actions"] + (staging["poller_actions"] + ["s3:ListBucket"] if name == "poller" else [])
        check(f"template {name} lake staging actions", sorted(actions_with(staged, "s3:")), sorted(want))
        if not all(f"/{staging['prefix']}*" in json.dumps(s.get("Resource")) or "s3:ListBucket" in json.dumps(s.get("Action"))
                   for s in staged):
            problems.append(f"template {name}: lake staging actions beyond {staging['prefix']}*")
        st = [s for s in st if s not in staged]
        puts = [s for s in st if "s3:PutObject" in json.dumps(s.get("Action"))]
        if name != "poller":
            check(f"template {name} Security Lake actions (it stages only)", actions_with(st, "s3:"), [])
            continue
        check(f"template {name} Security Lake actions", actions_with(st, "s3:"), sorted(lake["object_actions"]))
        arns = json.dumps([s.get("Resource") for s in puts])
        for source in lake["sources"].values():
            if f"/{lake['prefix']}{source}/*" not in arns:
                problems.append(f"template {name}: no PutObject under {lake['prefix']}{source}/")
        if re.search(r'examplehash0123/(ext/)?\*', arns):
            problems.append(f"template {name}: PutObject on the whole lake bucket")


def check_cargo_lambda(contract):
    """deploy.sh --print: each function's command carries the contract's memory, timeout and
    runtime and one --env-file (never --env-var: cargo-lambda splits those on commas); the file
    holds every contract variable, the configuration and the allocator settings."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        env_file = os.path.join(tmp, "functions.env")
        out = subprocess.run(
            [os.path.join(INFRA, "cargo-lambda", "deploy.sh"), "--print"],
            env={**os.environ, "OKTA_RELAY_STATE_TABLE": "t", "OKTA_RELAY_DELIVERY_BUS": "b",
                 "OKTA_RELAY_CONFIG_PATH": os.path.join(INFRA, "cargo-lambda", "example-config.json"),
                 "OKTA_RELAY_ENV_FILE": env_file,
                 "EVENTS_ROLE_ARN": "arn:aws:iam::123456789012:role/e", "POLLER_ROLE_ARN": "arn:aws:iam::123456789012:role/p"},
            capture_output=True, text=True,
        )
        if out.returncode != 0:
            problems.append(f"cargo-lambda/deploy.sh --print failed: {out.stderr.strip()}")
            return
        with open(env_file) as fh:
            written = dict(line.rstrip("\n").split("=", 1) for line in fh if line.strip())
    for name, spec in contract["functions"].items():
        line = next((l for l in out.stdout.splitlines() if f" {spec['binary']} " in l + " "), "")
        for want in (f"--memory {spec['memory_mb']}", f"--timeout {spec['timeout_seconds']}", f"--runtime {contract['runtime']}",
                     f"--env-file {env_file}"):
            if want not in line:
                problems.append(f"cargo lambda deploy of {name}: missing {want!r}")
        if "--env-var" in line:
            problems.append(f"cargo lambda deploy of {name}: --env-var (split on commas) instead of the env file")
    for key in (*contract["environment"], contract["configuration_variables"]["environment"]):
        if key not in written:
            problems.append(f"cargo lambda env file: missing {key}")
    for key, value in contract["allocator_environment"].items():
        if written.get(key) != f"'{value}'":
            problems.append(f"cargo lambda env file: {key} is {written.get(key)!r}, want '{value}'")


def check_rust(contract):
    code = ""
    for d, _, files in os.walk(os.path.join(ROOT, "functions", "core", "src")):
        for f in files:
            if f.endswith(".rs"):
                with open(os.path.join(d, f)) as fh:
                    code += fh.read()
    for var in [*contract["environment"], *contract["configuration_variables"].values()]:
        if f'"{var}"' not in code:
            problems.append(f"the Rust code never reads {var}")
    if not re.search(r'SOURCE: &str = "%s"' % re.escape(contract["record_source"]), code):
        problems.append(f"the Rust code does not send records with Source {contract['record_source']!r}")


def local_resources(template):
    """What the local stack creates in moto: the template's table, rule patterns and DLQ settings."""
    table = next(iter(of_type(template, "AWS::DynamoDB::Table").values()))["Properties"]
    rules = {}
    for r in of_type(template, "AWS::Events::Rule").values():
        p = r["Properties"]
        if "EventPattern" in p:
            kind = "partner" if "prefix" in json.dumps(p["EventPattern"]) else "delivery"
            rules[kind] = {"EventPattern": p["EventPattern"],
                           "RetryPolicy": p["Targets"][0].get("RetryPolicy"),
                           "InputPath": p["Targets"][0].get("InputPath")}
    queues = [r["Properties"] for r in of_type(template, "AWS::SQS::Queue").values()]
    queue = next(q for q in queues if "RedrivePolicy" not in q)
    push = next(q for q in queues if "RedrivePolicy" in q)
    return {
        "$comment": "Generated by infra/tests/parity.py --write from the synthesized CDK template; make test fails if it differs. tests/local/stack.py provisions exactly this.",
        "state_table": {k: table[k] for k in ("AttributeDefinitions", "KeySchema", "BillingMode", "TimeToLiveSpecification", "PointInTimeRecoverySpecification")},
        "rules": rules,
        "dlq": {"MessageRetentionPeriod": queue["MessageRetentionPeriod"]},
        "push_queue": {"VisibilityTimeout": push["VisibilityTimeout"],
                       "MessageRetentionPeriod": push["MessageRetentionPeriod"],
                       "maxReceiveCount": push["RedrivePolicy"]["maxReceiveCount"]},
    }


def template_dashboard(template):
    """The template's dashboard body, each queue token written as its stand-in name."""
    body = next(iter(of_type(template, "AWS::CloudWatch::Dashboard").values()))["Properties"]["DashboardBody"]
    parts = [body] if isinstance(body, str) else body["Fn::Join"][1]
    def name(part):
        if isinstance(part, str):
            return part
        logical = json.dumps(part)
        for key, stand_in in (("DeliveryDlq", "delivery-dlq"), ("EventsDlq", "events-dlq"), ("PushQueue", "push")):
            if key in logical:
                return stand_in
        problems.append(f"template dashboard: an unexpected token {logical}")
        return "?"
    return json.loads("".join(name(p) for p in parts))


def terraform_dashboard(orgs, region):
    """The module's dashboard.tf rendered by terraform itself, its resources replaced by the same
    stand-in names (locals only: no provider, no network). None without terraform."""
    if not shutil.which("terraform"):
        return None
    with open(os.path.join(INFRA, "terraform", "dashboard.tf")) as f:
        text = f.read()
    for ref, stand_in in (("data.aws_region.current.id", region), ('aws_sqs_queue.dlq["delivery"].name', "delivery-dlq"),
                          ('aws_sqs_queue.dlq["events"].name', "events-dlq"), ("aws_sqs_queue.push.name", "push")):
        text = text.replace(ref, json.dumps(stand_in))
    text = text[:text.index('resource "aws_cloudwatch_dashboard"')]
    with tempfile.TemporaryDirectory() as tmp:
        module = os.path.join(tmp, "terraform")
        os.mkdir(module)
        shutil.copy(os.path.join(INFRA, "terraform", "contract.json"), module)
        with open(os.path.join(module, "main.tf"), "w") as f:
            f.write(text + f'variable "orgs" {{\n  default = {json.dumps([{"name": o} for o in orgs])}\n}}\n'
                    'output "body" {\n  value = jsonencode({ widgets = local.dashboard_widgets })\n}\n')
        run = lambda *args: subprocess.run(["terraform", *args], cwd=module, capture_output=True, text=True, check=True)
        run("init", "-backend=false", "-input=false")
        run("apply", "-auto-approve", "-input=false")
        return json.loads(run("output", "-raw", "body").stdout)


def config_text(value):
    """A configuration variable's JSON text; a deploy-time value (an `Fn::Join` part such as
    the account id) stands as `X`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(p if isinstance(p, str) else "X" for p in value["Fn::Join"][1])
    return None


def check_dashboard(template, contract):
    """CDK and Terraform render the same dashboard from the contract."""
    resources = {}
    for block in terraform_blocks("resource"):
        for kind, named in unquote(block).items():
            resources.update({(kind, n): b for n, b in named.items()})
    body = resources.get(("aws_cloudwatch_dashboard", "relay"), {}).get("dashboard_body")
    check("terraform dashboard body", body, "${jsonencode({widgets = local.dashboard_widgets})}")
    cdk = template_dashboard(template)
    titles = [w["properties"]["title"] for w in cdk["widgets"]]
    _, poller = function(template, "okta-relay-poller")
    config = config_text(poller.get("Environment", {}).get("Variables", {}).get("OKTA_RELAY_CONFIG"))
    orgs = [o["name"] for o in json.loads(config)["orgs"]] if config else []
    if not orgs:
        problems.append("template: no org in the poller's OKTA_RELAY_CONFIG to check the dashboard with")
    per_org = len(contract["dashboard"]["org_widgets"])
    check("template dashboard widgets", len(titles), len(contract["dashboard"]["shared_widgets"]) + per_org * len(orgs))
    region = next((w["properties"]["region"] for w in cdk["widgets"]), None)
    tf = terraform_dashboard(orgs, region)
    if tf is None:
        print("NOTICE: terraform is not installed: the dashboard parity is checked on the template only")
        return
    check("terraform dashboard (rendered) vs the template's", tf, cdk)


def published_metrics():
    """The metrics the functions publish, by dimension set (metrics.rs PER_STREAM, PER_ORG)."""
    with open(os.path.join(ROOT, "functions", "core", "src", "metrics.rs")) as f:
        code = f.read()
    def const(name):
        m = re.search(r"pub const %s: \[&str; \d+\] = \[(.*?)\];" % name, code, re.S)
        if not m:
            problems.append(f"metrics.rs: no {name}")
            return set()
        return set(re.findall(r'"(\w+)"', m.group(1)))
    return {("Org", "Stream"): const("PER_STREAM"), ("Org",): const("PER_ORG"), ("Stream",): const("PER_DEPLOYMENT")}


def check_metrics_read(template):
    """Every OktaRelay metric an alarm (CDK, Terraform) or the dashboard reads is one the
    functions publish with those dimensions: a metric nobody publishes would leave an alarm
    without data and a widget empty."""
    reads = []
    for a in of_type(template, "AWS::CloudWatch::Alarm").values():
        p = a["Properties"]
        if p.get("Namespace") == "OktaRelay":
            reads.append(("template alarm", p["MetricName"], tuple(sorted(d["Name"] for d in p.get("Dimensions", [])))))
    with open(os.path.join(INFRA, "terraform", "alarms.tf")) as f:
        tf = f.read()
    for name, dims in re.findall(r'namespace\s*=\s*"OktaRelay", metric = "(\w+)"\s*dimensions\s*=\s*\{([^}]*)\}', tf):
        reads.append(("terraform alarm", name, tuple(sorted(re.findall(r"(\w+)\s*=", dims)))))
    for widget in template_dashboard(template)["widgets"]:
        for metric in widget.get("properties", {}).get("metrics", []):
            for item in metric:
                if isinstance(item, dict) and "expression" in item:
                    for dims, name in re.findall(r'\{OktaRelay,([^}]*)\} MetricName="(\w+)"', item["expression"]):
                        reads.append(("dashboard search", name, tuple(sorted(dims.split(",")))))
            if metric and metric[0] == "OktaRelay":
                keys = [k for k in metric[2:] if isinstance(k, str)][0::2]
                reads.append(("dashboard metric", metric[1], tuple(sorted(keys))))
    if len([r for r in reads if r[0] == "terraform alarm"]) < 4:
        problems.append("parity: the Terraform alarms were not found in alarms.tf")
    published = published_metrics()
    for where, name, dims in reads:
        if name not in published.get(dims, set()):
            problems.append(f"{where} reads {name} by {list(dims)}, which the functions do not publish (metrics.rs)")


def check_alarm_runbooks(template):
    """Every alarm (CDK and Terraform) names its row in docs/operate.md, and the row exists."""
    with open(os.path.join(ROOT, "docs", "operate.md")) as f:
        anchors = set(re.findall(r'<a id="(alarm-[\w-]+)"></a>', f.read()))
    descriptions = [("template", a["Properties"].get("AlarmDescription", ""))
                    for a in of_type(template, "AWS::CloudWatch::Alarm").values()]
    with open(os.path.join(INFRA, "terraform", "alarms.tf")) as f:
        tf = f.read()
    descriptions += [("terraform", d) for d in re.findall(r'(?<![\w])(?:description|delivery|events)\s*=\s*"([^"]*)"', tf)
                     if "${local.delivery_alarms" not in d and "${local.firehose_spec" not in d]
    # The delivery and Firehose alarms' descriptions come from the contract in both stacks.
    with open(os.path.join(INFRA, "contract.json")) as f:
        contract = json.load(f)
    for name, spec in contract["delivery_alarms"].items():
        descriptions.append((f"contract delivery_alarms.{name}", f"Runbook: docs/operate.md#{spec['runbook']}"))
    for name in ("siem", "archive"):
        spec = contract["firehose"]["alarms"][name]
        descriptions.append((f"contract firehose.alarms.{name}", f"Runbook: docs/operate.md#{spec['runbook']}"))
    if len(descriptions) < 8:
        problems.append("alarm runbooks: the alarms were not found")
    for where, text in descriptions:
        m = re.search(r"Runbook: docs/operate\.md#(alarm-[\w-]+)", json.dumps(text))
        if not m:
            problems.append(f"{where} alarm without a runbook link: {text[:80]!r}")
        elif m.group(1) not in anchors:
            problems.append(f"{where} alarm links to #{m.group(1)}, which docs/operate.md does not have")


def main():
    template_path = sys.argv[1]
    with open(template_path) as f:
        template = json.load(f)
    with open(os.path.join(INFRA, "contract.json")) as f:
        contract = json.load(f)
    extract = local_resources(template)
    if "--write" in sys.argv:
        with open(RESOURCES, "w") as f:
            json.dump(extract, f, indent=2)
            f.write("\n")
        print(f"wrote {RESOURCES}")
        return
    check_template(template, contract)
    check_terraform(contract)
    check_terraform_self_contained()
    check_cdk_self_contained()
    check_terraform_org_validation()
    check_terraform_delivery_rules(contract)
    check_lake(template, contract)
    check_firehose(contract)
    check_ingress(template, contract)
    check_dashboard(template, contract)
    check_schedules(template)
    check_metrics_read(template)
    check_alarm_runbooks(template)
    check_alarm_ok_actions(template)
    check_delivery_alarms(template, contract)
    check_vpc_actions(contract)
    check_cargo_lambda(contract)
    check_rust(contract)
    with open(RESOURCES) as f:
        check("tests/local/resources.json (regenerate with parity.py --write)", json.load(f), extract)
    if problems:
        print("deployment paths drifted from infra/contract.json:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print("parity: CDK template, Terraform module, cargo lambda deploy and Rust code agree with infra/contract.json")


if __name__ == "__main__":
    main()
