/**
 * Assertion tests of the construct: every resource, rule pattern, retry policy, DLQ and IAM
 * statement the deployment contract asks for, and what must never appear (secret values,
 * wildcards). Run by `make infra-test` (node's test runner on the compiled TypeScript).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Duration, SecretValue, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { OktaRelay, OktaRelayConfigurationStore, OktaRelayOutput, OktaRelayProps, OktaRelaySink } from '../lib';
import * as contract from '../lib/contract.json';

const ORG_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:okta/acme-AbCdEf';
const SIEM_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:siem-Xyz123';
/** Imported references live in a scope of their own: an imported secret is a plain ARN. */
const imports = new Stack(new App(), 'Imports', { env: { account: '123456789012', region: 'us-east-1' } });
let imported = 0;
const secret = (arn: string) => secretsmanager.Secret.fromSecretCompleteArn(imports, `Secret${imported++}`, arn);
const ORG = secret(ORG_SECRET);
const SIEM_KEY = events.Authorization.apiKey('X-Api-Key', SecretValue.secretsManager(SIEM_SECRET, { jsonField: 'key' }));

function codeDirectory(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okta-relay-code-'));
  for (const f of Object.values(contract.functions)) {
    fs.mkdirSync(path.join(dir, f.binary));
    // An empty zip archive: the template is what is tested, not the code.
    fs.writeFileSync(path.join(dir, f.binary, 'bootstrap.zip'), Buffer.from([0x50, 0x4b, 5, 6, ...Array(18).fill(0)]));
  }
  return dir;
}

function synth(overrides: Partial<OktaRelayProps> | ((stack: Stack) => Partial<OktaRelayProps>) = {}): Template {
  const app = new App();
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'us-east-1' } });
  if (typeof overrides === 'function') overrides = overrides(stack);
  const code = codeDirectory();
  try {
    new OktaRelay(stack, 'Relay', {
      codeDirectory: code,
      orgs: [
        { name: 'acme', secret: ORG, partnerEventSource: 'aws.partner/okta.com/acme/okta-relay' },
        { name: 'beta', logs: { pageSize: 500 }, output: OktaRelayOutput.BOTH },
      ],
      siemEndpoint: 'https://siem.example.com/ingest',
      siemAuthorization: SIEM_KEY,
      alarmTopic: new sns.Topic(stack, 'Alarms'),
      ...overrides,
    });
    return Template.fromStack(stack);
  } finally {
    // The assembly has its own copy of the zips (assets are staged as the construct is
    // built), and a refused configuration needs none: no code directory is left in /tmp.
    fs.rmSync(code, { recursive: true, force: true });
  }
}

const template = synth();
const resources = (type: string) => template.findResources(type);
const fnByBinary = (binary: string) => {
  const fns = resources('AWS::Lambda::Function');
  const found = Object.entries(fns).find(([, r]) => String(r.Properties.Description).includes(binary.replace('okta-relay-', '')));
  assert.ok(found, `function ${binary}`);
  return found;
};
const policiesOf = (logicalId: string) => {
  const fn = resources('AWS::Lambda::Function')[logicalId];
  const role = fn.Properties.Role['Fn::GetAtt'][0];
  return Object.values(resources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === role))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
};

test('both functions follow the contract: runtime, arch, handler, memory, timeout, environment', () => {
  for (const spec of Object.values(contract.functions)) {
    const [, fn] = fnByBinary(spec.binary);
    const p = fn.Properties;
    assert.equal(p.Runtime, contract.runtime);
    assert.deepEqual(p.Architectures, [contract.architecture]);
    assert.equal(p.Handler, contract.handler);
    assert.equal(p.MemorySize, spec.memory_mb);
    assert.equal(p.Timeout, spec.timeout_seconds);
    assert.deepEqual(
      Object.keys(p.Environment.Variables).sort(),
      [...Object.keys(contract.environment), contract.configuration_variables.environment, ...Object.keys(contract.allocator_environment)].sort(),
    );
    for (const [k, v] of Object.entries(contract.allocator_environment)) {
      assert.equal(p.Environment.Variables[k], v);
    }
    assert.ok(p.KmsKeyArn, 'environment encrypted with the relay key');
  }
});

test('the configuration names every org by secret ARN and carries its settings', () => {
  const [, fn] = fnByBinary('okta-relay-poller');
  const json = JSON.stringify(fn.Properties.Environment.Variables.OKTA_RELAY_CONFIG);
  assert.match(json, /acme/);
  assert.ok(json.includes(ORG_SECRET));
  assert.match(json, /page_size/);
  assert.match(json, /partner_event_source/);
});

test('the state table: pk, on demand, TTL, point-in-time recovery, customer-managed encryption, retained', () => {
  template.hasResource('AWS::DynamoDB::Table', {
    DeletionPolicy: 'Retain',
    Properties: {
      KeySchema: [{ AttributeName: contract.state_table.partition_key, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: contract.state_table.ttl_attribute, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: Match.objectLike({ SSEEnabled: true, SSEType: 'KMS' }),
    },
  });
});

test('the partner rule: source prefix pattern, to the push queue with retries, max age and DLQ', () => {
  const [queueId] = Object.entries(resources('AWS::SQS::Queue')).find(([, q]) => q.Properties.RedrivePolicy) ?? [];
  assert.ok(queueId, 'the push queue');
  template.hasResourceProperties('AWS::Events::Rule', {
    EventBusName: 'aws.partner/okta.com/acme/okta-relay',
    EventPattern: contract.rules.partner,
    Targets: [
      Match.objectLike({
        Arn: { 'Fn::GetAtt': [queueId, 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
        DeadLetterConfig: { Arn: Match.anyValue() },
      }),
    ],
  });
});

test('the push queue feeds the events function in batches, with partial batch responses and a DLQ', () => {
  const queue = Object.values(resources('AWS::SQS::Queue')).find((q) => q.Properties.RedrivePolicy);
  assert.ok(queue, 'the push queue');
  assert.equal(queue.Properties.VisibilityTimeout, contract.push_queue.visibility_timeout_seconds);
  assert.equal(queue.Properties.RedrivePolicy.maxReceiveCount, contract.push_queue.max_receive_count);
  assert.ok(queue.Properties.KmsMasterKeyId, 'encrypted with the relay key');
  const [eventsId] = fnByBinary('okta-relay-events');
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    FunctionName: { Ref: eventsId },
    BatchSize: contract.push_queue.batch_size,
    MaximumBatchingWindowInSeconds: contract.push_queue.max_batching_window_seconds,
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    ScalingConfig: { MaximumConcurrency: 20 },
  });
  const t = synth({ pushBatchSize: 500, pushBatchingWindow: Duration.seconds(20), eventsConcurrency: 7 });
  t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    BatchSize: 500,
    MaximumBatchingWindowInSeconds: 20,
    ScalingConfig: { MaximumConcurrency: 7 },
  });
});

test('no partner rule when no org streams', () => {
  const t = synth({ orgs: [{ name: 'acme', secret: ORG }] });
  const rules = Object.values(t.findResources('AWS::Events::Rule'));
  assert.equal(rules.filter((r) => r.Properties.EventPattern?.source?.[0]?.prefix).length, 0);
});

test('each streaming org has a rule on its own partner bus, and only those rules may send to the queues', () => {
  const t = synth({
    orgs: [
      { name: 'acme', secret: ORG, partnerEventSource: 'aws.partner/okta.com/acme/okta-relay' },
      { name: 'beta', partnerEventSource: 'aws.partner/okta.com/beta-org/relay' },
      { name: 'gamma' },
    ],
  });
  const partner = Object.entries(t.findResources('AWS::Events::Rule')).filter(([, r]) => r.Properties.EventPattern?.source?.[0]?.prefix);
  assert.deepEqual(
    partner.map(([, r]) => r.Properties.EventBusName).sort(),
    ['aws.partner/okta.com/acme/okta-relay', 'aws.partner/okta.com/beta-org/relay'],
  );
  const pushQueue = Object.entries(t.findResources('AWS::SQS::Queue')).find(([, q]) => q.Properties.RedrivePolicy)![0];
  for (const [, r] of partner) assert.deepEqual(r.Properties.Targets[0].Arn, { 'Fn::GetAtt': [pushQueue, 'Arn'] });
  const senders = Object.values(t.findResources('AWS::SQS::QueuePolicy'))
    .flatMap((p) => p.Properties.PolicyDocument.Statement)
    .filter((s: any) => s.Principal?.Service === 'events.amazonaws.com' && JSON.stringify(s.Resource).includes(pushQueue));
  assert.equal(senders.length, 1);
  assert.deepEqual(
    senders[0].Condition.ArnEquals['aws:SourceArn'].map((a: any) => a['Fn::GetAtt'][0]).sort(),
    partner.map(([id]) => id).sort(),
  );
});

test('one schedule per org invokes the poller with the org in its input, without retries', () => {
  const poller = fnByBinary('okta-relay-poller');
  const schedules = Object.values(resources('AWS::Scheduler::Schedule'));
  assert.equal(schedules.length, 2);
  const inputs = schedules.map((s) => {
    const p = s.Properties;
    assert.equal(p.ScheduleExpression, 'rate(5 minutes)');
    assert.deepEqual(p.Target.Arn, { 'Fn::GetAtt': [poller[0], 'Arn'] });
    assert.equal(p.Target.RetryPolicy.MaximumRetryAttempts, 0);
    return JSON.parse(p.Target.Input);
  });
  assert.deepEqual(inputs.sort((a, b) => a.org.localeCompare(b.org)), [{ org: 'acme' }, { org: 'beta' }]);
  // No EventBridge rule schedules the poller any more (it would poll every org at once).
  assert.ok(Object.values(resources('AWS::Events::Rule')).every((r) => !r.Properties.ScheduleExpression));
  // One invocation per org may run at once; a throttled one older than a period is dropped.
  assert.equal(poller[1].Properties.ReservedConcurrentExecutions, 2);
  const invokeConfig = Object.values(resources('AWS::Lambda::EventInvokeConfig'))[0].Properties;
  assert.deepEqual([invokeConfig.MaximumRetryAttempts, invokeConfig.MaximumEventAgeInSeconds], [0, 300]);
  // Encrypted with the relay's key; the schedules' role is trusted by Scheduler only and may
  // invoke the poller and decrypt with that key.
  const [keyId] = Object.keys(resources('AWS::KMS::Key'));
  for (const s of schedules) assert.deepEqual(s.Properties.KmsKeyArn, { 'Fn::GetAtt': [keyId, 'Arn'] });
  const roleId = schedules[0].Properties.Target.RoleArn['Fn::GetAtt'][0];
  const role = resources('AWS::IAM::Role')[roleId].Properties;
  assert.deepEqual(role.AssumeRolePolicyDocument.Statement.map((s: any) => s.Principal.Service), ['scheduler.amazonaws.com']);
  const granted = Object.values(resources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement)
    .flatMap((s: any): string[] => [].concat(s.Action));
  assert.ok(granted.includes('lambda:InvokeFunction') && granted.includes('kms:Decrypt'), JSON.stringify(granted));
});

test('the delivery rule: okta-relay records to the API destination with retries and a DLQ', () => {
  template.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: contract.rules.delivery,
    Targets: [
      Match.objectLike({
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
        DeadLetterConfig: { Arn: Match.anyValue() },
        HttpParameters: Match.absent(),
      }),
    ],
  });
  template.hasResourceProperties('AWS::Events::ApiDestination', {
    HttpMethod: 'POST',
    InvocationEndpoint: 'https://siem.example.com/ingest',
    InvocationRateLimitPerSecond: contract.api_destination.invocation_rate_limit_per_second,
  });
  template.resourceCountIs('AWS::Events::EventBus', 1);
});

test('the Okta-object-only option sends each Okta object alone and every other record whole, and the alarms see both', () => {
  const t = synth({ siemReceivesOktaObjectOnly: true });
  const rules = Object.entries(t.findResources('AWS::Events::Rule')).filter(([, r]) => r.Properties.EventPattern?.source?.[0] === 'okta-relay');
  assert.equal(rules.length, 2);
  const objects = rules.find(([, r]) => r.Properties.Targets[0].InputPath);
  const whole = rules.find(([, r]) => !r.Properties.Targets[0].InputPath);
  assert.ok(objects && whole);
  assert.equal(objects[1].Properties.Targets[0].InputPath, '$.detail.okta');
  assert.deepEqual(objects[1].Properties.EventPattern['detail-type'], contract.okta_object_detail_types);
  assert.deepEqual(whole[1].Properties.EventPattern['detail-type'], [{ 'anything-but': contract.okta_object_detail_types }]);
  for (const marker of ['Okta Relay Quarantined Record', 'OCSF Authentication']) {
    assert.ok(!contract.okta_object_detail_types.includes(marker), `${marker} goes whole`);
  }
  const failing = Object.values(t.findResources('AWS::CloudWatch::Alarm')).find((a) =>
    String(a.Properties.AlarmDescription).includes(contract.delivery_alarms.siem_failing.runbook),
  )!;
  const ruleRefs = failing.Properties.Metrics.filter((m: any) => m.MetricStat).map(
    (m: any) => m.MetricStat.Metric.Dimensions.find((d: any) => d.Name === 'RuleName').Value.Ref,
  );
  assert.deepEqual([...new Set(ruleRefs)].sort(), [objects[0], whole[0]].sort(), 'the SIEM alarm sums both rules');
});

test('connection auth: API key, Basic and OAuth all reference Secrets Manager, never a value', () => {
  const siem = secret(SIEM_SECRET);
  const cases: events.Authorization[] = [
    events.Authorization.apiKey('X-Api-Key', siem.secretValueFromJson('key')),
    events.Authorization.basic('relay', siem.secretValue),
    events.Authorization.oauth({
      authorizationEndpoint: 'https://siem.example.com/token',
      clientId: 'relay',
      clientSecret: siem.secretValue,
      httpMethod: events.HttpMethod.POST,
    }),
  ];
  for (const [i, auth] of cases.entries()) {
    const t = synth({ siemAuthorization: auth });
    const conn = Object.values(t.findResources('AWS::Events::Connection'))[0];
    const kind = ['API_KEY', 'BASIC', 'OAUTH_CLIENT_CREDENTIALS'][i];
    assert.equal(conn.Properties.AuthorizationType, kind);
    assert.match(JSON.stringify(conn.Properties.AuthParameters), /resolve:secretsmanager/);
  }
});

test('least privilege: each function gets exactly its contract actions on its resources, no wildcard', () => {
  for (const [name, spec] of Object.entries(contract.functions)) {
    const [logicalId] = fnByBinary(spec.binary);
    const statements = policiesOf(logicalId);
    const actions = (s: { Action: string | string[] }) => [s.Action].flat().sort();
    const tables = statements.filter((s) => actions(s).some((a) => a.startsWith('dynamodb:')));
    const granted = tables.map((s) => ({
      actions: actions(s),
      leading_keys: s.Condition['ForAllValues:StringLike']['dynamodb:LeadingKeys'],
    }));
    assert.deepEqual(granted, spec.state_table_grants, `${name}: each table action on its own items only`);
    for (const s of tables) assert.equal(s.Resource['Fn::GetAtt'][1], 'Arn');
    const keysOf = (action: string) => granted.filter((g) => g.actions.includes(action)).flatMap((g) => [g.leading_keys].flat());
    assert.deepEqual(keysOf('dynamodb:BatchWriteItem'), ['dedupe#*'], 'a batch write replaces whole items: dedupe marks only');
    if (name === 'events') {
      assert.ok(
        !granted.some((g) => [g.leading_keys].flat().some((k: string) => k.startsWith('stream'))),
        'the events function never touches a cursor or a lease',
      );
      assert.ok(!keysOf('dynamodb:UpdateItem').includes('org#*'), 'the events function only reads the org identity');
    }
    const bus = statements.find((s) => actions(s).includes('events:PutEvents'));
    assert.deepEqual(actions(bus), spec.delivery_bus_actions);
    const queue = statements.filter((s) => actions(s).some((a) => a.startsWith('sqs:')));
    const queueActions = 'queue_actions' in spec ? (spec.queue_actions as string[]) : [];
    assert.deepEqual(queue.flatMap(actions).sort(), [...queueActions].sort(), `${name} queue actions`);
    const secrets = statements.filter((s) => actions(s).some((a) => a.startsWith('secretsmanager:')));
    if (spec.secret_actions.length === 0) {
      assert.equal(secrets.length, 0, `${name} reads no secret`);
    } else {
      assert.deepEqual(actions(secrets[0]), spec.secret_actions);
      assert.ok(JSON.stringify(secrets[0].Resource).includes(ORG_SECRET), 'by ARN');
    }
    for (const s of statements) {
      for (const a of actions(s)) {
        if (a.startsWith('sqs:') || a.startsWith('kms:') || a.startsWith('xray:')) continue;
        assert.ok(!a.includes('*'), `${name}: wildcard action ${a}`);
      }
      assert.notEqual(s.Resource, '*', `${name}: wildcard resource for ${actions(s)}`);
    }
  }
});

test('the key lets AWS services use it only on this account\'s behalf', () => {
  const [key] = Object.values(resources('AWS::KMS::Key'));
  const services = key.Properties.KeyPolicy.Statement.filter((s: any) => s.Principal?.Service);
  assert.equal(services.length, 2, 'EventBridge and CloudWatch Logs');
  for (const s of services) assert.ok(s.Condition, `${JSON.stringify(s.Principal)} has a source condition`);
});

test('each DLQ takes messages only from the rules that dead-letter into it', () => {
  const policies = Object.values(resources('AWS::SQS::QueuePolicy'));
  assert.ok(policies.length >= 2);
  for (const p of policies) {
    for (const s of p.Properties.PolicyDocument.Statement.filter((s: any) => s.Effect === 'Allow')) {
      assert.ok(JSON.stringify(s.Condition).includes('aws:SourceArn'), JSON.stringify(s));
    }
  }
});

test('function roles carry no managed policy (logs only on their own log group)', () => {
  for (const role of Object.values(resources('AWS::IAM::Role'))) {
    assert.equal(role.Properties.ManagedPolicyArns, undefined);
  }
});

test('alarms: both DLQs, both functions errors, and each org lag, stream health, quarantined records and overdue streams, to the topic', () => {
  const alarms = Object.values(resources('AWS::CloudWatch::Alarm'));
  const metrics = alarms.map((a) => a.Properties.MetricName);
  assert.equal(metrics.filter((m) => m === 'ApproximateNumberOfMessagesVisible').length, 2);
  assert.equal(metrics.filter((m) => m === 'Errors').length, 2);
  assert.equal(metrics.filter((m) => m === 'LagSeconds').length, 2);
  assert.equal(metrics.filter((m) => m === 'StreamErrors').length, 2);
  assert.equal(metrics.filter((m) => m === 'Quarantined').length, 2, 'poison records, per org');
  assert.equal(metrics.filter((m) => m === 'Overdue').length, 2, 'starved streams, per org');
  // No Overdue data at all means the poller did not run for the org: that alarms too.
  for (const a of alarms.filter((x) => x.Properties.MetricName === 'Overdue')) {
    assert.equal(a.Properties.TreatMissingData, 'breaching');
  }
  for (const a of alarms) assert.equal(a.Properties.AlarmActions.length, 1);
});

test('no secret value anywhere in the template', () => {
  const text = JSON.stringify(template.toJSON());
  assert.ok(!/api_token"\s*:/.test(text));
  assert.ok(!/SSWS /.test(text));
  for (const s of Object.values(resources('AWS::SecretsManager::Secret'))) {
    assert.equal(s.Properties.SecretString, undefined, 'an org secret is created without a value');
  }
});

/** The dashboard body with each token (a queue's name) written as `<LogicalId>`. */
function dashboardBody(t: Template): { widgets: { x: number; y: number; width: number; properties: Record<string, any> }[] } {
  const dashboards = Object.values(t.findResources('AWS::CloudWatch::Dashboard'));
  assert.equal(dashboards.length, 1);
  const body = dashboards[0].Properties.DashboardBody;
  const parts: unknown[] = typeof body === 'string' ? [body] : body['Fn::Join'][1];
  const text = parts
    .map((p) => (typeof p === 'string' ? p : `<${JSON.stringify(p).match(/"(\w+)"/)?.[1]}>`))
    .join('');
  return JSON.parse(text);
}

test('the dashboard: per org lag, records by path, duplicates, headroom, errors by fault, quarantine; DLQ depths', () => {
  const body = dashboardBody(template);
  const spec = contract.dashboard;
  assert.equal(body.widgets.length, spec.shared_widgets.length + 2 * spec.org_widgets.length);
  for (const org of ['acme', 'beta']) {
    const own = body.widgets.filter((w) => w.properties.title.startsWith(`${org}: `));
    assert.deepEqual(
      own.map((w) => w.properties.title.replace(`${org}: `, '')),
      ['lag (s) by stream', 'records per minute by path', 'duplicates dropped', 'Okta rate limit left by bucket', 'errors by whose fault', 'quarantined and malformed published'],
    );
    const text = JSON.stringify(own);
    assert.ok(!text.includes('{org}') && text.includes(`Org=\\"${org}\\"`), text);
    // The org's block starts on a row of its own.
    assert.equal(own[0].x, 0);
    const errors = own.find((w) => w.properties.title.endsWith('errors by whose fault'))!;
    assert.deepEqual(
      errors.properties.metrics.map((m: unknown[]) => [m[1], m[3]]),
      ['ErrorsOktaConfiguration', 'ErrorsOktaTransient', 'ErrorsAws', 'ErrorsRelay'].map((n) => [n, org]),
    );
    const byPath = own.find((w) => w.properties.title.endsWith('by path'))!;
    assert.deepEqual(byPath.properties.metrics.map((m: any[]) => m[m.length - 1].label), ['pull', 'push']);
  }
  const dlq = body.widgets[0].properties;
  const queueIds = Object.keys(template.findResources('AWS::SQS::Queue'));
  const named = dlq.metrics.map((m: string[]) => m[3].replace(/[<>]/g, ''));
  assert.equal(named.length, 3);
  for (const id of named) assert.ok(queueIds.includes(id), `${id} is one of the relay's queues`);
  assert.ok(named.some((id: string) => id.includes('DeliveryDlq')) && named.some((id: string) => id.includes('EventsDlq')));
  // No two widgets overlap.
  const cells = body.widgets.map((w) => `${w.x},${w.y}`);
  assert.equal(new Set(cells).size, cells.length);
  assert.ok(!JSON.stringify(body).includes('{region}') && !JSON.stringify(body).includes('{queue:'));
});

/** 50 orgs, each with its own secret and partner event source: about 10 KB of configuration. */
function fiftyOrgs() {
  return Array.from({ length: 50 }, (_, i) => {
    const name = `subsidiary-${String(i).padStart(2, '0')}`;
    return {
      name,
      secret: secret(`arn:aws:secretsmanager:us-east-1:123456789012:secret:okta-relay/${name}-AbCdEf`),
      partnerEventSource: `aws.partner/okta.com/${name}/okta-log-stream`,
      inventory: { users: {}, groups: {}, groupMembers: {}, apps: {} },
    };
  });
}

const configVariables = (t: Template) =>
  Object.values(t.findResources('AWS::Lambda::Function')).map((f) =>
    Object.keys(f.Properties.Environment.Variables).filter((k) => k.startsWith('OKTA_RELAY_CONFIG')),
  );

test('a configuration too big for the environment is refused with the way out', () => {
  assert.throws(() => synth({ orgs: fiftyOrgs() }), /configurationStore to PARAMETER.*or OBJECT/);
  assert.throws(() => synth({ orgs: fiftyOrgs(), configurationStore: OktaRelayConfigurationStore.PARAMETER }), /set configurationStore to OBJECT/);
});

test('configurationStore parameter: an SSM parameter of the right tier, read by each function only', () => {
  const orgs = fiftyOrgs().slice(0, 30);
  const t = synth({ orgs, configurationStore: OktaRelayConfigurationStore.PARAMETER });
  const [parameterId, parameter] = Object.entries(t.findResources('AWS::SSM::Parameter'))[0];
  assert.equal(parameter.Properties.Tier, 'Intelligent-Tiering', 'advanced past 4 KB, never a failed downgrade');
  assert.equal(parameter.Properties.Type, 'String');
  assert.deepEqual(configVariables(t), [[contract.configuration_variables.parameter], [contract.configuration_variables.parameter]]);
  for (const [id, fn] of Object.entries(t.findResources('AWS::Lambda::Function'))) {
    assert.deepEqual(fn.Properties.Environment.Variables.OKTA_RELAY_CONFIG_PARAMETER, { Ref: parameterId });
    const statements = policiesOfIn(t, id).filter((s) => JSON.stringify(s.Action).includes('ssm:'));
    assert.deepEqual(statements.map((s) => s.Action), [contract.configuration_store_actions.parameter[0]]);
    assert.ok(JSON.stringify(statements[0].Resource).includes(parameterId), 'that parameter only');
  }
});

test('configurationStore object: 50 orgs in an S3 object, read by each function only', () => {
  const t = synth({ orgs: fiftyOrgs(), configurationStore: OktaRelayConfigurationStore.OBJECT });
  assert.deepEqual(configVariables(t), [[contract.configuration_variables.object], [contract.configuration_variables.object]]);
  const schedules = Object.values(t.findResources('AWS::Scheduler::Schedule'));
  assert.equal(schedules.length, 50, 'one schedule per org');
  assert.equal(Object.values(t.findResources('AWS::Events::Rule')).filter((r) => r.Properties.EventBusName).length >= 50, true);
  for (const [id, fn] of Object.entries(t.findResources('AWS::Lambda::Function'))) {
    const uri = JSON.stringify(fn.Properties.Environment.Variables.OKTA_RELAY_CONFIG_OBJECT);
    assert.match(uri, /s3:\/\/.*\.json/);
    const statements = policiesOfIn(t, id).filter((s) => JSON.stringify(s.Action).includes('s3:'));
    assert.deepEqual(statements.map((s) => s.Action), [contract.configuration_store_actions.object[0]]);
    // The object's own ARN: bucket, then the asset's content-hashed key, never a wildcard.
    const resource = JSON.stringify(statements[0].Resource);
    assert.ok(!resource.includes('*'), `the object, not the bucket: ${resource}`);
    assert.match(resource, /[0-9a-f]{64}\.json/);
  }
  assert.throws(() => synth({ configurationStore: OktaRelayConfigurationStore.OBJECT }), /needs every org's secret from outside the stack/);
});

function policiesOfIn(t: Template, logicalId: string) {
  const fn = t.findResources('AWS::Lambda::Function')[logicalId];
  const role = fn.Properties.Role['Fn::GetAtt'][0];
  return Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === role))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

const LAKE_KEY = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';

/** A configuration variable's JSON, with any deploy-time value (an `Fn::Join` part) as `X`. */
function configJson(value: unknown): any {
  if (typeof value === 'string') return JSON.parse(value);
  const [, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'X')).join(''));
}

test('securityLake: the configuration, the staging bucket, PutObject under each custom source only (the poller), the lake key, and the commands', () => {
  const t = synth({
    securityLake: {
      bucket: s3.Bucket.fromBucketName(imports, 'Lake', 'aws-security-data-lake-us-east-1-abc'),
      kmsKey: kms.Key.fromKeyArn(imports, 'LakeKey', LAKE_KEY),
      sources: { authentication: 'okta-authn/1.0' },
      buffer: { maxAge: Duration.minutes(2) },
      writeInterval: Duration.minutes(15),
    },
  });
  const fns = t.findResources('AWS::Lambda::Function');
  const [stagingId] = Object.keys(t.findResources('AWS::S3::Bucket')).filter((id) => id.includes('LakeStaging'));
  assert.ok(stagingId, 'a staging bucket');
  for (const spec of Object.values(contract.functions)) {
    const [logicalId, fn] = Object.entries(fns).find(([, r]) =>
      String(r.Properties.Description).includes(spec.binary.replace('okta-relay-', '')),
    )!;
    const config = configJson(fn.Properties.Environment.Variables.OKTA_RELAY_CONFIG);
    assert.equal(config.security_lake.bucket, 'aws-security-data-lake-us-east-1-abc');
    assert.equal(config.security_lake.prefix, 'ext/');
    assert.equal(config.security_lake.region, 'us-east-1');
    assert.equal(config.security_lake.account_id, '123456789012');
    assert.equal(config.security_lake.max_buffer_seconds, 120);
    assert.equal(config.security_lake.sources.authentication, 'okta-authn/1.0');
    assert.equal(config.security_lake.sources.group_management, contract.security_lake.sources.group_management);
    assert.ok(config.security_lake.staging.bucket, 'the staging bucket, by reference');
    assert.equal(config.security_lake.staging.prefix, contract.security_lake.staging.prefix);
    assert.equal(config.security_lake.staging.write_interval_seconds, 900);
    const statements = policiesOfIn(t, logicalId);
    const stagingStatements = statements.filter((s) => JSON.stringify(s.Resource).includes(stagingId));
    const stagingActions = stagingStatements.flatMap((s) => [s.Action].flat()).sort();
    const poller = spec.binary.endsWith('poller');
    const wanted = poller
      ? [...contract.security_lake.staging.staged_actions, ...contract.security_lake.staging.poller_actions, 's3:ListBucket']
      : contract.security_lake.staging.staged_actions;
    assert.deepEqual(stagingActions, [...wanted].sort(), `${spec.binary}: its staging actions`);
    const puts = statements.filter(
      (s) => [s.Action].flat().includes('s3:PutObject') && !JSON.stringify(s.Resource).includes(stagingId),
    );
    if (!poller) {
      assert.equal(puts.length, 0, 'the events function stages; only the poller writes the lake');
      continue;
    }
    assert.equal(puts.length, 1, `${spec.binary}: one lake statement`);
    assert.deepEqual([puts[0].Action].flat(), contract.security_lake.object_actions);
    const resources = [puts[0].Resource].flat().map((r: unknown) => JSON.stringify(r));
    assert.equal(resources.length, Object.keys(contract.security_lake.sources).length);
    for (const source of Object.values(config.security_lake.sources as Record<string, string>)) {
      assert.ok(
        resources.some((r) => r.includes(`:s3:::aws-security-data-lake-us-east-1-abc/ext/${source}/*`)),
        `${source} in ${resources}`,
      );
    }
    assert.ok(!resources.some((r) => r.includes('abc/*') || r.includes('abc/ext/*')), 'never the whole bucket');
    const key = statements.filter((s) => JSON.stringify(s.Resource) === JSON.stringify(LAKE_KEY));
    assert.deepEqual(key.flatMap((s) => [s.Action].flat()), contract.security_lake.key_actions);
  }
  const outputs = t.findOutputs('*');
  const commands = JSON.stringify(Object.values(outputs).map((o) => o.Value));
  for (const name of ['okta-authn', 'okta-group-mgmt', 'okta-user-inventory']) {
    assert.ok(commands.includes(`--source-name ${name} `), name);
  }
  assert.ok(!commands.includes('okta-authn/1.0'), 'the source name without its version');
});

test('without securityLake: no lake grant, no lake configuration, no commands', () => {
  for (const spec of Object.values(contract.functions)) {
    const [logicalId, fn] = fnByBinary(spec.binary);
    assert.ok(!JSON.stringify(fn.Properties.Environment.Variables.OKTA_RELAY_CONFIG).includes('security_lake'));
    assert.ok(!policiesOf(logicalId).some((s) => [s.Action].flat().some((a: string) => a.startsWith('s3:'))));
  }
  assert.equal(Object.keys(template.findOutputs('*')).length, 0);
});

test('typed org settings become the configuration the relay reads, camelCase to snake_case, Durations to seconds', () => {
  const t = synth({
    orgs: [
      {
        name: 'acme',
        secret: ORG,
        logs: { pageSize: 200, interval: Duration.hours(1), initialLookback: Duration.days(2) },
        inventory: { users: { deltaInterval: Duration.minutes(10) }, groupMembers: {}, appUsers: { pageSize: 100 } },
        eventTypes: { deny: ['user.session.*'] },
        push: { silenceWindow: Duration.minutes(30) },
        output: OktaRelayOutput.OCSF,
      },
    ],
    tuning: { rateLimitReserve: 0.2, lease: Duration.minutes(3), dedupeTtl: Duration.days(3) },
  });
  const [, fn] = Object.entries(t.findResources('AWS::Lambda::Function'))[0];
  const config = configJson(fn.Properties.Environment.Variables.OKTA_RELAY_CONFIG);
  assert.deepEqual(config.orgs[0], {
    name: 'acme',
    secret_arn: ORG_SECRET,
    logs: { page_size: 200, interval_seconds: 3600, initial_lookback_hours: 48 },
    inventory: { users: { delta_interval_seconds: 600 }, group_members: {}, app_users: { page_size: 100 } },
    event_types: { deny: ['user.session.*'] },
    push: { silence_window_seconds: 1800 },
    output: 'ocsf',
  });
  assert.equal(config.rate_limit_reserve, 0.2);
  assert.equal(config.lease_seconds, 180);
  assert.equal(config.dedupe_ttl_hours, 72);
});

test('a wrong org setting stops the synth and names its path', () => {
  const orgs = (second: Record<string, unknown>) => [{ name: 'acme', secret: ORG }, { name: 'beta', ...second }] as OktaRelayProps['orgs'];
  // As a JavaScript or Python caller could pass them: the types do not stop these.
  assert.throws(() => synth({ orgs: orgs({ logs: { pageSize: '1000' } }) }), /orgs\[1\]\.logs\.pageSize: must be a whole number from 1 to 1000/);
  assert.throws(() => synth({ orgs: orgs({ logs: { pageSize: 5000 } }) }), /orgs\[1\]\.logs\.pageSize/);
  assert.throws(() => synth({ orgs: orgs({ logs: { page_size: 500 } }) }), /orgs\[1\]\.logs\.page_size: unknown setting/);
  assert.throws(() => synth({ orgs: orgs({ logs: { interval: 3600 } }) }), /orgs\[1\]\.logs\.interval: must be a Duration/);
  assert.throws(() => synth({ orgs: orgs({ logs: { interval: Duration.millis(1500) } }) }), /orgs\[1\]\.logs\.interval: must be a whole number of seconds/);
  assert.throws(() => synth({ orgs: orgs({ inventory: { group_members: {} } }) }), /orgs\[1\]\.inventory\.group_members: unknown setting/);
  assert.throws(() => synth({ orgs: orgs({ output: 'xml' }) }), /orgs\[1\]\.output: must be one of raw, ocsf, both/);
  assert.throws(() => synth({ tuning: { putEventsInFlight: 100 } }), /tuning\.putEventsInFlight/);
  assert.throws(() => synth({ tuning: { rateLimitReserve: 1 } }), /tuning\.rateLimitReserve/);
});

test('alarms notify when they fire and when they clear', () => {
  const alarms = Object.values(resources('AWS::CloudWatch::Alarm'));
  assert.ok(alarms.length > 0);
  for (const a of alarms) {
    assert.equal(a.Properties.AlarmActions?.length, 1, `${a.Properties.AlarmDescription}: alarm action`);
    assert.deepEqual(a.Properties.OKActions, a.Properties.AlarmActions, `${a.Properties.AlarmDescription}: OK action`);
  }
});

test('your own key: no key of the construct, yours on the table, queues, logs and environment', () => {
  const yours = 'arn:aws:kms:us-east-1:123456789012:key/99999999-8888-7777-6666-555555555555';
  const t = synth({ encryptionKey: kms.Key.fromKeyArn(imports, 'Yours', yours) });
  assert.equal(Object.keys(t.findResources('AWS::KMS::Key')).length, 0);
  const table = Object.values(t.findResources('AWS::DynamoDB::Table'))[0];
  assert.equal(table.Properties.SSESpecification.KMSMasterKeyId, yours);
  for (const q of Object.values(t.findResources('AWS::SQS::Queue'))) assert.equal(q.Properties.KmsMasterKeyId, yours);
  for (const g of Object.values(t.findResources('AWS::Logs::LogGroup'))) assert.equal(g.Properties.KmsKeyId, yours);
  for (const f of Object.values(t.findResources('AWS::Lambda::Function'))) assert.equal(f.Properties.KmsKeyArn, yours);
});

test('in a VPC: both functions in its private subnets with a security group, and the network-interface actions', () => {
  const t = synth((stack) => ({ vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 }) }));
  for (const [id, f] of Object.entries(t.findResources('AWS::Lambda::Function'))) {
    assert.equal(f.Properties.VpcConfig.SubnetIds.length, 2, `${id}: two private subnets`);
    assert.equal(f.Properties.VpcConfig.SecurityGroupIds.length, 1);
    const vpcStatements = policiesOfIn(t, id).filter((s) => JSON.stringify(s.Action).includes('ec2:'));
    assert.deepEqual(vpcStatements.map((s) => [s.Action].flat()), [contract.vpc_actions]);
  }
  const none = Object.values(resources('AWS::Lambda::Function'));
  assert.ok(none.every((f) => f.Properties.VpcConfig === undefined), 'no VPC unless asked for');
});

test('a failing SIEM alarms within 5 minutes: the share of failed attempts of the delivery rule, per minute', () => {
  const alarms = Object.values(resources('AWS::CloudWatch::Alarm'));
  const spec = contract.delivery_alarms.siem_failing;
  const failing = alarms.find((a) => String(a.Properties.AlarmDescription).includes(spec.runbook));
  assert.ok(failing, 'the failing-SIEM alarm');
  const p = failing.Properties;
  assert.ok(p.EvaluationPeriods * spec.period_seconds <= 300 && p.DatapointsToAlarm === spec.datapoints);
  const stats = p.Metrics.filter((m: any) => m.MetricStat);
  assert.deepEqual(stats.map((m: any) => m.MetricStat.Metric.MetricName).sort(), ['InvocationAttempts', 'SuccessfulInvocationAttempts']);
  const [ruleId] = Object.entries(resources('AWS::Events::Rule')).find(([, r]) => r.Properties.EventPattern?.source?.[0] === 'okta-relay')!;
  for (const m of stats) {
    const dims = Object.fromEntries(m.MetricStat.Metric.Dimensions.map((d: any) => [d.Name, d.Value]));
    assert.deepEqual(dims.RuleName, { Ref: ruleId }, 'the delivery rule');
    assert.ok(dims.EventBusName, 'on the delivery bus');
    assert.equal(m.MetricStat.Period, 60);
  }
  for (const key of ['delivery_failed', 'dlq_send_failed', 'push_queue_age'] as const) {
    assert.ok(alarms.some((a) => String(a.Properties.AlarmDescription).includes(contract.delivery_alarms[key].runbook)), key);
  }
});

test('EventBridge may use the key and the SIEM role only for the relay own rules', () => {
  const key = Object.values(resources('AWS::KMS::Key'))[0];
  const events = key.Properties.KeyPolicy.Statement.find((s: any) => s.Principal?.Service === 'events.amazonaws.com');
  assert.ok(events.Condition.StringEquals['aws:SourceAccount']);
  const arns = JSON.stringify(events.Condition.ArnLike['aws:SourceArn']);
  assert.ok(arns.includes('rule/aws.partner/okta.com/*') && arns.includes('DeliveryBus'), arns);
  const [ruleId, rule] = Object.entries(resources('AWS::Events::Rule')).find(([, r]) => r.Properties.EventPattern?.source?.[0] === 'okta-relay')!;
  const roleId = rule.Properties.Targets[0].RoleArn['Fn::GetAtt'][0];
  const trust = resources('AWS::IAM::Role')[roleId].Properties.AssumeRolePolicyDocument.Statement[0];
  assert.equal(trust.Principal.Service, 'events.amazonaws.com');
  assert.ok(trust.Condition.StringEquals['aws:SourceAccount'], `${ruleId}: the account`);
  assert.match(JSON.stringify(trust.Condition.ArnLike['aws:SourceArn']), /rule\//);
});

test('firehose: a SIEM stream and an archive stream, each org delivering to the one it chose', () => {
  const t = synth({
    orgs: [
      { name: 'acme', secret: ORG, sink: OktaRelaySink.SIEM_STREAM },
      { name: 'beta', sink: OktaRelaySink.ARCHIVE_STREAM },
      { name: 'gamma' },
    ],
    firehose: { siem: { url: 'https://http-inputs-acme.splunkcloud.com/services/collector/event', accessKey: secret(SIEM_SECRET) }, archive: true },
  });
  const streams = t.findResources('AWS::KinesisFirehose::DeliveryStream');
  const [siemId, siem] = Object.entries(streams).find(([, s]) => s.Properties.HttpEndpointDestinationConfiguration)!;
  const [archiveId, archive] = Object.entries(streams).find(([, s]) => s.Properties.ExtendedS3DestinationConfiguration)!;
  const http = siem.Properties.HttpEndpointDestinationConfiguration;
  assert.equal(http.SecretsManagerConfiguration.SecretARN, SIEM_SECRET, 'the access key by ARN, never its value');
  assert.equal(http.EndpointConfiguration.AccessKey, undefined);
  assert.deepEqual(http.RetryOptions, { DurationInSeconds: contract.firehose.siem.retry_duration_seconds });
  assert.equal(http.S3BackupMode, 'FailedDataOnly');
  assert.equal(http.RequestConfiguration.ContentEncoding, 'GZIP');
  const s3dest = archive.Properties.ExtendedS3DestinationConfiguration;
  assert.equal(s3dest.Prefix, contract.firehose.archive.prefix);
  assert.equal(s3dest.CompressionFormat, 'GZIP');
  assert.equal(s3dest.DynamicPartitioningConfiguration.Enabled, true);
  const query = s3dest.ProcessingConfiguration.Processors[0].Parameters.find((p: { ParameterName: string }) => p.ParameterName === 'MetadataExtractionQuery');
  assert.equal(query.ParameterValue, '{org: .org}');
  for (const s of [siem, archive]) {
    assert.equal(s.Properties.DeliveryStreamEncryptionConfigurationInput.KeyType, 'CUSTOMER_MANAGED_CMK');
  }
  // The configuration: acme to the SIEM stream, beta to the archive, gamma to the bus.
  const [, events] = Object.entries(t.findResources('AWS::Lambda::Function')).find(([, f]) => String(f.Properties.Description).includes('events'))!;
  const config = JSON.stringify(events.Properties.Environment.Variables.OKTA_RELAY_CONFIG);
  assert.ok(config.includes(`\\"sink\\":{\\"type\\":\\"firehose\\",\\"stream\\":\\"`), config);
  assert.ok(config.includes(siemId) && config.includes(archiveId), 'each org names its stream');
  // Both functions may put records on exactly those two streams.
  for (const spec of Object.values(contract.functions)) {
    const [id] = Object.entries(t.findResources('AWS::Lambda::Function')).find(([, f]) => String(f.Properties.Description).includes(spec.binary.replace('okta-relay-', '')))!;
    const role = t.findResources('AWS::Lambda::Function')[id].Properties.Role['Fn::GetAtt'][0];
    const statements = Object.values(t.findResources('AWS::IAM::Policy'))
      .filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === role))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    const put = statements.filter((s) => JSON.stringify(s.Action).includes('firehose:'));
    assert.equal(put.length, 1);
    assert.deepEqual(put[0].Action, 'firehose:PutRecordBatch');
    assert.deepEqual(put[0].Resource.map((r: { 'Fn::GetAtt': string[] }) => r['Fn::GetAtt'][0]).sort(), [archiveId, siemId].sort());
  }
  // Firehose's role: only this account's Firehose may take it.
  const firehoseRole = Object.values(t.findResources('AWS::IAM::Role')).find((r) =>
    JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('firehose.amazonaws.com'),
  )!;
  assert.deepEqual(firehoseRole.Properties.AssumeRolePolicyDocument.Statement[0].Condition, { StringEquals: { 'aws:SourceAccount': '123456789012' } });
  // The archive's Athena table: the contract's columns and projected partitions.
  const [table] = Object.values(t.findResources('AWS::Glue::Table'));
  const input = table.Properties.TableInput;
  const cfn = (cols: { name: string; type: string }[]) => cols.map((c) => ({ Name: c.name, Type: c.type }));
  assert.deepEqual(input.StorageDescriptor.Columns, cfn(contract.firehose.archive.glue_table.columns));
  assert.deepEqual(input.PartitionKeys, cfn(contract.firehose.archive.glue_table.partition_keys));
  assert.equal(input.Parameters['projection.enabled'], 'true');
  // Each stream alarms when its oldest record is stale, and clears.
  const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm')).filter((a) => a.Properties.Namespace === 'AWS/Firehose');
  assert.deepEqual(alarms.map((a) => a.Properties.MetricName).sort(), ['DeliveryToHttpEndpoint.DataFreshness', 'DeliveryToS3.DataFreshness']);
  for (const a of alarms) assert.equal(a.Properties.OKActions.length, 1);
});

test('firehose: an org naming a stream the construct does not create stops the synth', () => {
  assert.throws(
    () => synth({ orgs: [{ name: 'acme', secret: ORG, sink: OktaRelaySink.ARCHIVE_STREAM }] }),
    /orgs\[0\]\.sink: archive_stream needs the stream, which the construct creates with firehose\.archive: true/,
  );
  assert.throws(
    () => synth({ orgs: [{ name: 'acme', secret: ORG, sink: 'kafka' as OktaRelaySink }] }),
    /orgs\[0\]\.sink: must be one of event_bus, siem_stream, archive_stream/,
  );
  // Without firehose: no stream, no firehose grant.
  assert.equal(Object.keys(resources('AWS::KinesisFirehose::DeliveryStream')).length, 0);
  assert.ok(!JSON.stringify(resources('AWS::IAM::Policy')).includes('firehose:'));
});

test('nobody but the partner rules and the named operators sends to the push queue, nobody but the relay and them puts on the delivery bus', () => {
  const OPERATOR = 'arn:aws:iam::123456789012:role/okta-relay-operator';
  const t = synth({ operatorPrincipals: [OPERATOR] });
  const queuePolicies = Object.values(t.findResources('AWS::SQS::QueuePolicy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
  const deny = queuePolicies.find((s) => s.Sid === contract.ingress.push_queue_deny_sid);
  assert.ok(deny, 'the push queue denies other senders');
  assert.equal(deny.Effect, 'Deny');
  assert.equal(deny.Action, 'sqs:SendMessage');
  assert.deepEqual(deny.Principal, { AWS: '*' });
  assert.deepEqual(deny.Condition.ArnNotLike, { 'aws:PrincipalArn': [OPERATOR] });
  const partnerRules = Object.keys(t.findResources('AWS::Events::Rule')).filter((id) => id.includes('PartnerRule'));
  assert.deepEqual(
    [deny.Condition.ArnNotEquals['aws:SourceArn']].flat().map((r: { 'Fn::GetAtt': string[] }) => r['Fn::GetAtt'][0]),
    partnerRules,
  );
  const busPolicies = Object.values(t.findResources('AWS::Events::EventBusPolicy'));
  assert.equal(busPolicies.length, 1);
  const statement = busPolicies[0].Properties.Statement;
  assert.ok(statement.Sid.endsWith(contract.ingress.delivery_bus_deny_sid), statement.Sid);
  assert.equal(statement.Effect, 'Deny');
  assert.equal(statement.Action, 'events:PutEvents');
  const allowed = statement.Condition.ArnNotLike['aws:PrincipalArn'];
  const roles = Object.values(t.findResources('AWS::Lambda::Function')).map((f) => f.Properties.Role['Fn::GetAtt'][0]);
  assert.deepEqual(
    allowed.filter((a: unknown) => typeof a !== 'string').map((a: { 'Fn::GetAtt': string[] }) => a['Fn::GetAtt'][0]).sort(),
    roles.sort(),
  );
  assert.ok(allowed.includes(OPERATOR));
});

test('securityLake in another account: the poller takes each source provider role, with the external id, and has no grant on the bucket', () => {
  const arns: { [k: string]: string } = {};
  for (const key of Object.keys(contract.security_lake.sources)) arns[key] = `arn:aws:iam::210987654321:role/AmazonSecurityLake-Provider-${key}`;
  const t = synth({
    securityLake: {
      bucket: s3.Bucket.fromBucketName(imports, 'OtherLake', 'aws-security-data-lake-us-east-1-other'),
      bucketOwner: '210987654321',
      providerRoles: { externalId: 'okta-relay-7', arns },
    },
  });
  const [pollerId, poller] = Object.entries(t.findResources('AWS::Lambda::Function')).find(([, f]) => String(f.Properties.Description).includes('poller'))!;
  const config = configJson(poller.Properties.Environment.Variables.OKTA_RELAY_CONFIG);
  assert.deepEqual(config.security_lake.provider_roles, { external_id: 'okta-relay-7', arns });
  const statements = policiesOfIn(t, pollerId);
  const assume = statements.filter((s) => [s.Action].flat().includes('sts:AssumeRole'));
  assert.equal(assume.length, 1);
  assert.deepEqual([assume[0].Resource].flat().sort(), Object.values(arns).sort());
  assert.ok(!JSON.stringify(statements).includes('aws-security-data-lake-us-east-1-other'), 'no grant on the lake bucket itself');
});
