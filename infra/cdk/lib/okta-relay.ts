/**
 * The okta-relay construct: the two functions, their state table, the EventBridge rules on the
 * Okta partner bus and on the delivery bus, the API destination to the SIEM, the DLQs, the
 * alarms and the operations dashboard. The functions' configuration contract (runtime,
 * environment, IAM actions, rule patterns) comes from ./contract.json, a copy of
 * infra/contract.json kept inside the package so it builds on its own; the Terraform module and
 * `cargo lambda deploy` share the same contract, and infra/tests/parity.py checks all three.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CfnOutput, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import * as contract from './contract.json';
import { OktaRelayConfigurationStore, OktaRelayProps, OktaRelaySecurityLake } from './props';
import { FirehoseStreams } from './firehose';
import { lakeBufferConfig, OktaRelaySink, orgSettingsConfig, tuningConfig } from './settings';

/** Lambda's limit on a function's environment variables, less the other variables' share. */
const ENVIRONMENT_CONFIG_BYTES = 3500;
/** The System Log lag that alarms unless `lagAlarmThreshold` says otherwise: one hour. */
const DEFAULT_LAG_ALARM_SECONDS = 3600;
/** SSM Parameter Store's value limit (advanced tier). */
const PARAMETER_ADVANCED_BYTES = 8192;
/** What a secret ARN the stack creates takes in the configuration once resolved. */
const RESOLVED_ARN_BYTES = 100;

type FunctionName = keyof typeof contract.functions;
type StoreKind = keyof typeof contract.configuration_variables;

export class OktaRelay extends Construct {
  readonly stateTable: dynamodb.Table;
  readonly deliveryBus: events.EventBus;
  readonly eventsFunction: lambda.Function;
  readonly pollerFunction: lambda.Function;
  readonly deliveryDlq: sqs.Queue;
  readonly eventsDlq: sqs.Queue;
  /** The partner rule's queue; the events function reads it in batches. */
  readonly pushQueue: sqs.Queue;
  /** The delivery bus's rule to the SIEM's API destination (with `siemReceivesOktaObjectOnly`,
   * the rule of the records that carry an Okta object). */
  readonly deliveryRule: events.Rule;
  /** Every rule to the SIEM: `deliveryRule`, and with `siemReceivesOktaObjectOnly` the rule
   * that sends every other record whole. */
  readonly deliveryRules: events.Rule[];
  /** Per org: lag, records per minute by path, duplicates, rate-limit headroom, errors by
   * whose fault, quarantined; and the DLQ depths (contract.json's `dashboard`). */
  readonly dashboard: cloudwatch.CfnDashboard;
  /** The bucket the functions stage lake objects in (with `securityLake`). */
  readonly lakeStaging?: s3.Bucket;
  /** The SIEM Firehose stream (with `firehose.siem`). */
  readonly siemStream?: firehose.CfnDeliveryStream;
  /** The archive Firehose stream (with `firehose.archive`). */
  readonly archiveStream?: firehose.CfnDeliveryStream;
  /** The archive bucket (with `firehose`): the archive and the SIEM stream's failed deliveries. */
  readonly archiveBucket?: s3.IBucket;
  private readonly firehoseStreams?: FirehoseStreams;

  constructor(scope: Construct, id: string, props: OktaRelayProps) {
    super(scope, id);
    if (props.orgs.length === 0) throw new Error('OktaRelay: orgs must name at least one org');
    const eventsConcurrency = props.eventsConcurrency ?? 20;

    const { account, region, partition } = Stack.of(this);
    this.deliveryBus = new events.EventBus(this, 'DeliveryBus');
    const key = props.encryptionKey ?? this.relayKey(account, region, partition);

    this.stateTable = new dynamodb.Table(this, 'State', {
      partitionKey: { name: contract.state_table.partition_key, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: contract.state_table.ttl_attribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: key,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const secrets = props.orgs.map((org) =>
      org.secret
        ? org.secret
        : new secretsmanager.Secret(this, `OrgSecret-${org.name}`, {
            description: `okta-relay: Okta credentials of org ${org.name} (put {"org_url", "api_token"} or an OAuth service app here)`,
            encryptionKey: key,
          }),
    );
    // The lake at its cadence: the functions stage in a bucket of the relay's, the poller
    // writes the lake from there (contract.json security_lake.staging).
    this.lakeStaging = props.securityLake ? this.stagingBucket(key) : undefined;
    const lake = props.securityLake ? lakeConfig(props.securityLake, Stack.of(this), this.lakeStaging!) : undefined;
    this.firehoseStreams = props.firehose ? new FirehoseStreams(this, 'Firehose', { ...props.firehose, key }) : undefined;
    this.siemStream = this.firehoseStreams?.siemStream;
    this.archiveStream = this.firehoseStreams?.archiveStream;
    this.archiveBucket = this.firehoseStreams?.bucket;
    const sinks = props.orgs.map((org, i) => this.sinkConfig(org.sink, `orgs[${i}].sink`));
    const config = {
      ...tuningConfig(props.tuning ?? {}),
      ...(lake ? { security_lake: lake } : {}),
      orgs: props.orgs.map((org, i) => ({
        name: org.name,
        secret_arn: secrets[i].secretArn,
        ...(org.partnerEventSource ? { partner_event_source: org.partnerEventSource } : {}),
        ...orgSettingsConfig(org, `orgs[${i}]`),
        ...(sinks[i] ? { sink: sinks[i]!.config } : {}),
      })),
    };
    const store = this.configuration(config, props.configurationStore ?? OktaRelayConfigurationStore.ENVIRONMENT);
    const relayEnvironment: Record<string, string> = {
      OKTA_RELAY_STATE_TABLE: this.stateTable.tableName,
      OKTA_RELAY_DELIVERY_BUS: this.deliveryBus.eventBusName,
      [contract.configuration_variables[store.kind as StoreKind]]: store.value,
    };
    // The allocator's fixed settings (contract.json): peak RSS at glibc's level, mimalloc's CPU.
    const environment = { ...relayEnvironment, ...contract.allocator_environment };

    // Partner events that fail in the function (after the queue's redeliveries) or never reach
    // the queue (after the rule's retries) land here: nothing is dropped silently.
    this.eventsDlq = this.dlq('EventsDlq', key);
    const queue = contract.push_queue;
    this.pushQueue = new sqs.Queue(this, 'PushQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(queue.visibility_timeout_seconds),
      // As long as SQS keeps anything (14 days): partner events wait out an events function that
      // cannot take them, instead of expiring after the default 4.
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: this.eventsDlq, maxReceiveCount: queue.max_receive_count },
    });
    const codeDirectory = props.codeDirectory ?? 'target/lambda';
    const fn = (name: FunctionName): lambda.Function => {
      const spec = contract.functions[name];
      const id = name === 'events' ? 'EventsFunction' : 'PollerFunction';
      const logGroup = new logs.LogGroup(this, `${id}Logs`, {
        retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
        encryptionKey: key,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      // Our own role: no managed policy (AWSLambdaBasicExecutionRole grants logs on "*").
      const role = new iam.Role(this, `${id}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `okta-relay ${String(name)} function`,
      });
      role.addToPolicy(
        new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
      );
      const f = new lambda.Function(this, id, {
        role,
        runtime: new lambda.Runtime(contract.runtime, lambda.RuntimeFamily.OTHER),
        architecture: contract.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
        handler: contract.handler,
        code: lambda.Code.fromAsset(`${codeDirectory}/${spec.binary}/bootstrap.zip`),
        memorySize: spec.memory_mb,
        timeout: Duration.seconds(spec.timeout_seconds),
        environment,
        environmentEncryption: key,
        logGroup,
        loggingFormat: lambda.LoggingFormat.JSON,
        // One poller per org at a time (each org has its own schedule, so a slow org never
        // holds up another; leases make overlap safe); the events function is capped so a
        // burst of partner events cannot starve the account.
        reservedConcurrentExecutions: name === 'poller' ? props.orgs.length : eventsConcurrency,
        // The events function reads its queue (the queue's redrive policy is its DLQ); the
        // poller's scheduled event carries nothing to keep.
        // A throttled poller invocation older than a schedule period is dropped: the next
        // schedule comes anyway.
        ...(name === 'events' ? {} : { retryAttempts: 0, maxEventAge: Duration.minutes(5) }),
        description: `okta-relay ${String(name)} function`,
        ...(props.vpc ? { vpc: props.vpc, vpcSubnets: props.vpcSubnets, securityGroups: props.securityGroups } : {}),
      });
      this.grant(f, name, secrets);
      const streams = [...new Set(sinks.filter((x) => x !== undefined).map((x) => x!.arn))];
      if (streams.length > 0) {
        role.addToPolicy(new iam.PolicyStatement({ actions: contract.firehose.function_actions, resources: streams }));
      }
      if (props.vpc) {
        // Lambda manages the functions' network interfaces with their roles; AWS documents these
        // EC2 actions on "*" (they name no interface before it exists).
        role.addToPolicy(new iam.PolicyStatement({ actions: contract.vpc_actions, resources: ['*'] }));
      }
      store.grantRead?.(f);
      if (lake) {
        grantStaging(f, name, this.lakeStaging!);
        // Only the poller writes the lake; the events function stages.
        if (name === 'poller') grantLake(f, lake, props.securityLake!, Stack.of(this).partition);
      }
      (f.node.defaultChild as lambda.CfnFunction).addMetadata('checkov', { skip: checkovSkips(name, props.vpc !== undefined) });
      return f;
    };
    this.eventsFunction = fn('events');
    this.pollerFunction = fn('poller');
    // Only the relay's functions (and the operators who redrive the delivery DLQ) put records on
    // the delivery bus, whatever other principals' IAM policies allow.
    this.deliveryBus.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: contract.ingress.delivery_bus_deny_sid,
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [this.deliveryBus.eventBusArn],
        conditions: {
          ArnNotLike: {
            'aws:PrincipalArn': [this.eventsFunction.role!.roleArn, this.pollerFunction.role!.roleArn, ...(props.operatorPrincipals ?? [])],
          },
        },
      }),
    );
    this.eventsFunction.addEventSource(
      new SqsEventSource(this.pushQueue, {
        batchSize: props.pushBatchSize ?? queue.batch_size,
        maxBatchingWindow: props.pushBatchingWindow ?? Duration.seconds(queue.max_batching_window_seconds),
        reportBatchItemFailures: true,
        // No more concurrent batches than the reserved concurrency: a throttled batch counts as
        // a receive, and five of those would send unread events to the DLQ.
        maxConcurrency: eventsConcurrency,
      }),
    );

    // Push path: per streaming org, a rule on the org's own partner event bus (named after its
    // partner event source) to the queue, with retries, a maximum age and a DLQ; the queue
    // invokes the events function with batches.
    const partnerRules = props.orgs
      .filter((org) => org.partnerEventSource)
      .map((org) => {
        const bus = events.EventBus.fromEventBusName(this, `PartnerBus-${org.name}`, org.partnerEventSource!);
        const rule = new events.Rule(this, `PartnerRule-${org.name}`, {
          eventBus: bus,
          description: `okta-relay: Okta Log Streaming events of org ${org.name} to the push queue`,
          eventPattern: eventPattern(contract.rules.partner),
        });
        // A target of our own: CDK's SqsQueue target would grant EventBridge the queue and the
        // key without naming the rule. Here only the partner rules may send, to either queue.
        rule.addTarget({
          bind: () => ({
            arn: this.pushQueue.queueArn,
            retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 },
            deadLetterConfig: { arn: this.eventsDlq.queueArn },
          }),
        });
        return rule;
      });
    // Nobody else sends to the push queue: a principal in the account whose IAM policy allows
    // sqs:SendMessage broadly could otherwise inject "Okta" events. Operators who move the
    // events DLQ back are named in operatorPrincipals.
    const operators = props.operatorPrincipals ?? [];
    this.pushQueue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: contract.ingress.push_queue_deny_sid,
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['sqs:SendMessage'],
        resources: [this.pushQueue.queueArn],
        conditions: {
          ...(partnerRules.length > 0 ? { ArnNotEquals: { 'aws:SourceArn': partnerRules.map((r) => r.ruleArn) } } : {}),
          ...(operators.length > 0 ? { ArnNotLike: { 'aws:PrincipalArn': operators } } : {}),
        },
      }),
    );
    if (partnerRules.length > 0) {
      for (const queue of [this.pushQueue, this.eventsDlq]) {
        queue.addToResourcePolicy(
          new iam.PolicyStatement({
            principals: [new iam.ServicePrincipal('events.amazonaws.com')],
            actions: ['sqs:SendMessage'],
            resources: [queue.queueArn],
            conditions: { ArnEquals: { 'aws:SourceArn': partnerRules.map((r) => r.ruleArn) } },
          }),
        );
      }
    }

    // Pull path: one EventBridge Scheduler schedule per org, whose input names the org, so
    // each org polls in an invocation of its own. Overlap is handled by the stream leases.
    for (const org of props.orgs) {
      new scheduler.Schedule(this, `PollSchedule-${org.name}`, {
        description: `okta-relay: poll Okta org ${org.name}`,
        schedule: props.pollSchedule ?? scheduler.ScheduleExpression.rate(Duration.minutes(5)),
        key,
        target: new schedulerTargets.LambdaInvoke(this.pollerFunction, {
          input: scheduler.ScheduleTargetInput.fromObject({ org: org.name }),
          // The next schedule resumes from the cursor: a retry would only overlap it.
          retryAttempts: 0,
        }),
      });
    }

    // Delivery: the delivery bus rule to the SIEM's API destination.
    this.deliveryDlq = this.dlq('DeliveryDlq', key);
    const connection = new events.Connection(this, 'SiemConnection', {
      description: 'okta-relay: SIEM authentication',
      authorization: props.siemAuthorization,
    });
    const destination = new events.ApiDestination(this, 'Siem', {
      connection,
      endpoint: props.siemEndpoint,
      httpMethod: events.HttpMethod.POST,
      rateLimitPerSecond: props.invocationRateLimitPerSecond ?? contract.api_destination.invocation_rate_limit_per_second,
      description: 'okta-relay: the SIEM',
    });
    // One rule sends whole records. With siemReceivesOktaObjectOnly, the records that carry an
    // Okta object (contract.json `okta_object_detail_types`) go as that object alone, and every
    // other record (OCSF events, markers) still goes whole, on a second rule.
    // The role EventBridge takes to call the SIEM, only for the delivery bus's rules.
    const { account: acct, region: rgn, partition: part } = Stack.of(this);
    const deliveryRole = new iam.Role(this, 'DeliveryRole', {
      description: 'okta-relay: the delivery rules invoke the SIEM API destination',
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': acct },
        ArnLike: { 'aws:SourceArn': `arn:${part}:events:${rgn}:${acct}:rule/${this.deliveryBus.eventBusName}/*` },
      }),
    });
    const target = (okta: boolean) =>
      new targets.ApiDestination(destination, {
        eventRole: deliveryRole,
        retryAttempts: 185,
        maxEventAge: Duration.hours(24),
        deadLetterQueue: this.deliveryDlq,
        event: okta ? events.RuleTargetInput.fromEventPath('$.detail.okta') : undefined,
      });
    const objectTypes = contract.okta_object_detail_types;
    const split = props.siemReceivesOktaObjectOnly === true;
    this.deliveryRule = new events.Rule(this, 'DeliveryRule', {
      eventBus: this.deliveryBus,
      description: split ? 'okta-relay: Okta objects to the SIEM, each alone' : 'okta-relay: forwarded records to the SIEM',
      eventPattern: eventPattern(split ? { ...contract.rules.delivery, 'detail-type': objectTypes } : contract.rules.delivery),
      targets: [target(split)],
    });
    this.deliveryRules = [this.deliveryRule];
    if (split) {
      this.deliveryRules.push(
        new events.Rule(this, 'DeliveryRuleWhole', {
          eventBus: this.deliveryBus,
          description: 'okta-relay: OCSF events and markers to the SIEM, whole',
          eventPattern: eventPattern({ ...contract.rules.delivery, 'detail-type': [{ 'anything-but': objectTypes }] }),
          targets: [target(false)],
        }),
      );
    }

    this.alarms(props);
    this.dashboard = this.operationsDashboard(props);
    if (lake) {
      new CfnOutput(this, 'SecurityLakeCustomSources', {
        description: 'okta-relay: create the Security Lake custom sources (docs/ocsf.md, "Security Lake")',
        value: customSourceCommands(lake, Stack.of(this).account),
      });
    }
  }

  /** Delivery to the SIEM, watched within minutes (contract.json `delivery_alarms`, which the
   * Terraform module renders too): the share of the delivery rule's attempts that failed, each
   * minute (EventBridge retries a failing SIEM for 24 hours before anything reaches the DLQ);
   * invocations that failed for good; records that could not even be put in the DLQ; and the
   * age of the push queue's oldest partner event. */
  private deliveryAlarms(
    alarm: (id: string, metric: cloudwatch.IMetric, threshold: number, description: string, missing?: cloudwatch.TreatMissingData, datapoints?: number) => void,
  ) {
    const spec = contract.delivery_alarms;
    // Each of an alarm's metrics summed over the delivery rules (`<id>_<n>` per rule).
    const summed = (id: string, name: string, period: Duration) =>
      new cloudwatch.MathExpression({
        expression: this.deliveryRules.map((_, n) => `FILL(${id}_${n}, 0)`).join(' + '),
        usingMetrics: Object.fromEntries(
          this.deliveryRules.map((rule, n) => [
            `${id}_${n}`,
            new cloudwatch.Metric({
              namespace: 'AWS/Events',
              metricName: name,
              dimensionsMap: { EventBusName: this.deliveryBus.eventBusName, RuleName: rule.ruleName },
              statistic: 'Sum',
              period,
            }),
          ]),
        ),
        period,
      });
    for (const a of [spec.siem_failing, spec.delivery_failed, spec.dlq_send_failed]) {
      const period = Duration.seconds(a.period_seconds);
      alarm(
        a.cdk_id,
        new cloudwatch.MathExpression({
          expression: a.expression,
          usingMetrics: Object.fromEntries(Object.entries(a.metrics).map(([id, name]) => [id, summed(id, name, period)])),
          period,
          label: a.label,
        }),
        a.threshold,
        `okta-relay: ${a.description}. Runbook: docs/operate.md#${a.runbook}`,
        cloudwatch.TreatMissingData.NOT_BREACHING,
        a.datapoints,
      );
    }
    const age = spec.push_queue_age;
    alarm(
      age.cdk_id,
      this.pushQueue.metricApproximateAgeOfOldestMessage({ period: Duration.seconds(age.period_seconds), statistic: 'Maximum' }),
      age.threshold,
      `okta-relay: ${age.description}. Runbook: docs/operate.md#${age.runbook}`,
    );
  }

  /** The lake's staging bucket: the relay's key, TLS only, retained; each object is deleted
   * once it is in the lake. */
  private stagingBucket(key: kms.IKey): s3.Bucket {
    const bucket = new s3.Bucket(this, 'LakeStaging', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });
    (bucket.node.defaultChild as s3.CfnBucket).addMetadata('checkov', {
      skip: [
        { id: 'CKV_AWS_18', comment: 'A transient staging area: every object is deleted once the poller has written it to the lake.' },
        { id: 'CKV_AWS_21', comment: 'Staged objects are content addressed and never replaced; versions would only keep what the poller deleted after writing it to the lake.' },
      ],
    });
    return bucket;
  }

  /** An org's `sink` in the configuration's form, and the stream's ARN; `undefined` for the
   * delivery bus. A stream the construct was not asked to create stops the synth. */
  private sinkConfig(sink: OktaRelaySink | undefined, at: string): { config: Record<string, string>; arn: string } | undefined {
    if (sink === undefined || sink === OktaRelaySink.EVENT_BUS) return undefined;
    const known = Object.values(OktaRelaySink) as string[];
    if (!known.includes(sink)) throw new Error(`OktaRelay: ${at}: must be one of ${known.join(', ')}, not ${JSON.stringify(sink)}`);
    const stream = sink === OktaRelaySink.SIEM_STREAM ? this.siemStream : this.archiveStream;
    if (!stream) {
      const wanted = sink === OktaRelaySink.SIEM_STREAM ? 'firehose.siem' : 'firehose.archive: true';
      throw new Error(`OktaRelay: ${at}: ${sink} needs the stream, which the construct creates with ${wanted}`);
    }
    return { config: { type: 'firehose', stream: stream.ref }, arn: stream.attrArn };
  }

  /** The ARNs of every rule the relay owns, as patterns: a rule ARN names its bus, and the
   * partner buses and the delivery bus are the relay's. */
  private relayRuleArns(account: string, region: string, partition: string): string[] {
    const rules = `arn:${partition}:events:${region}:${account}:rule`;
    return [`${rules}/aws.partner/okta.com/*`, `${rules}/${this.deliveryBus.eventBusName}/*`];
  }

  /** The relay's own key, when the caller brings none: the services that write to the relay's
   * queues and logs may use it, only on this account's behalf. */
  private relayKey(account: string, region: string, partition: string): kms.Key {
    const key = new kms.Key(this, 'Key', {
      enableKeyRotation: true,
      description: 'okta-relay: state table, queues and logs',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // EventBridge only for the relay's own rules: the partner rules (on Okta's partner buses)
    // and the delivery rules (on the delivery bus), which write to the push queue and the DLQs.
    key.grantEncryptDecrypt(
      new iam.ServicePrincipal('events.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': account },
        ArnLike: { 'aws:SourceArn': this.relayRuleArns(account, region, partition) },
      }),
    );
    key.grantEncryptDecrypt(
      new iam.ServicePrincipal(`logs.${region}.amazonaws.com`).withConditions({
        ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${partition}:logs:${region}:${account}:log-group:*` },
      }),
    );
    return key;
  }

  /** contract.json's dashboard, rendered: the Terraform module renders the same data. */
  private operationsDashboard(props: OktaRelayProps): cloudwatch.CfnDashboard {
    const spec = contract.dashboard;
    const queues: Record<string, string> = {
      delivery_dlq: this.deliveryDlq.queueName,
      events_dlq: this.eventsDlq.queueName,
      push: this.pushQueue.queueName,
    };
    const fill = (widget: unknown, org?: string): unknown => {
      let text = JSON.stringify(widget).split('{region}').join(Stack.of(this).region);
      if (org !== undefined) text = text.split('{org}').join(org);
      text = text.replace(/\{queue:([a-z_]+)\}/g, (_, name: string) => queues[name]);
      return JSON.parse(text);
    };
    // Blocks of widgets, each starting on a new row: the shared widgets, then one per org.
    const blocks = [spec.shared_widgets.map((w) => fill(w)), ...props.orgs.map((o) => spec.org_widgets.map((w) => fill(w, o.name)))];
    const rows = (n: number) => Math.ceil(n / spec.per_row);
    const widgets = blocks.flatMap((block, b) => {
      const top = blocks.slice(0, b).reduce((sum, earlier) => sum + rows(earlier.length), 0);
      return block.map((w, i) => ({
        ...(w as object),
        x: (i % spec.per_row) * spec.widget_width,
        y: (top + Math.floor(i / spec.per_row)) * spec.widget_height,
        width: spec.widget_width,
        height: spec.widget_height,
      }));
    });
    return new cloudwatch.CfnDashboard(this, 'Dashboard', {
      dashboardBody: Stack.of(this).toJsonString({ widgets }),
    });
  }

  /** Least privilege: the table with the actions the function uses, on its own items only
   * (the events function never a stream's cursor or lease), the delivery bus, and (poller) its
   * orgs' secrets. No wildcard action or resource. */
  private grant(f: lambda.Function, name: FunctionName, secrets: secretsmanager.ISecret[]) {
    const spec = contract.functions[name];
    // One statement per action, on the items that action may touch: the events function never
    // a cursor or a lease, and a batch write (which replaces whole items) only dedupe marks.
    for (const grant of spec.state_table_grants) {
      f.addToRolePolicy(
        new iam.PolicyStatement({
          actions: grant.actions,
          resources: [this.stateTable.tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': grant.leading_keys } },
        }),
      );
    }
    f.addToRolePolicy(
      new iam.PolicyStatement({ actions: spec.delivery_bus_actions, resources: [this.deliveryBus.eventBusArn] }),
    );
    if (spec.secret_actions.length > 0) {
      f.addToRolePolicy(
        new iam.PolicyStatement({ actions: spec.secret_actions, resources: secrets.map((s) => s.secretArn) }),
      );
      secrets.forEach((s) => s.encryptionKey?.grantDecrypt(f));
    }
  }

  /** The configuration where `kind` keeps it: the variable's value, and the read grant. */
  private configuration(
    config: Record<string, unknown>,
    kind: OktaRelayConfigurationStore,
  ): { kind: OktaRelayConfigurationStore; value: string; grantRead?: (f: lambda.Function) => void } {
    const stack = Stack.of(this);
    // Unresolved secret ARNs (secrets this stack creates) counted at their resolved length.
    const size = Buffer.byteLength(
      JSON.stringify(config, (_, v) => (typeof v === 'string' && Token.isUnresolved(v) ? 'x'.repeat(RESOLVED_ARN_BYTES) : v)),
    );
    const orgs = (config.orgs as unknown[]).length;
    if (kind === OktaRelayConfigurationStore.ENVIRONMENT) {
      if (size > ENVIRONMENT_CONFIG_BYTES) {
        throw new Error(
          `OktaRelay: the configuration of ${orgs} orgs is about ${size} bytes, over the ${ENVIRONMENT_CONFIG_BYTES} bytes Lambda's environment leaves it; set configurationStore to PARAMETER (up to ${PARAMETER_ADVANCED_BYTES} bytes) or OBJECT`,
        );
      }
      return { kind, value: stack.toJsonString(config) };
    }
    if (kind === OktaRelayConfigurationStore.PARAMETER) {
      if (size > PARAMETER_ADVANCED_BYTES) {
        throw new Error(
          `OktaRelay: the configuration of ${orgs} orgs is about ${size} bytes, over an SSM parameter's ${PARAMETER_ADVANCED_BYTES}; set configurationStore to OBJECT`,
        );
      }
      const parameter = new ssm.StringParameter(this, 'Configuration', {
        description: 'okta-relay: the relay configuration (names and ARNs, never a secret value)',
        stringValue: stack.toJsonString(config),
        // Intelligent-Tiering: standard while it fits, advanced past 4 KB, and no failed update
        // when a shrinking configuration would otherwise ask SSM to downgrade the tier.
        tier: ssm.ParameterTier.INTELLIGENT_TIERING,
      });
      return {
        kind,
        value: parameter.parameterName,
        grantRead: (f) =>
          f.addToRolePolicy(
            new iam.PolicyStatement({ actions: contract.configuration_store_actions.parameter, resources: [parameter.parameterArn] }),
          ),
      };
    }
    const text = JSON.stringify(config);
    if (Token.isUnresolved(text)) {
      throw new Error(
        "OktaRelay: configurationStore OBJECT needs every org's secret from outside the stack (and no other deploy-time value): the object is uploaded before the stack creates anything",
      );
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okta-relay-config-'));
    fs.writeFileSync(path.join(dir, 'config.json'), text);
    const asset = new s3assets.Asset(this, 'Configuration', { path: path.join(dir, 'config.json') });
    return {
      kind,
      value: `s3://${asset.s3BucketName}/${asset.s3ObjectKey}`,
      grantRead: (f) =>
        f.addToRolePolicy(
          new iam.PolicyStatement({
            actions: contract.configuration_store_actions.object,
            resources: [`arn:${stack.partition}:s3:::${asset.s3BucketName}/${asset.s3ObjectKey}`],
          }),
        ),
    };
  }

  private dlq(id: string, key: kms.IKey): sqs.Queue {
    return new sqs.Queue(this, id, {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
    });
  }

  private alarms(props: OktaRelayProps) {
    const alarm = (
      id: string,
      metric: cloudwatch.IMetric,
      threshold: number,
      description: string,
      missing = cloudwatch.TreatMissingData.NOT_BREACHING,
      datapoints = 1,
    ) => {
      const a = new cloudwatch.Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: datapoints,
        datapointsToAlarm: datapoints,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: missing,
        alarmDescription: description,
      });
      if (props.alarmTopic) {
        // OK actions too: whoever was paged learns that it cleared.
        a.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
        a.addOkAction(new cwActions.SnsAction(props.alarmTopic));
      }
    };
    this.deliveryAlarms(alarm);
    for (const a of this.firehoseStreams?.alarms ?? []) alarm(a.id, a.metric, a.threshold, a.description);
    if (props.securityLake) {
      // The lake from staging (contract.json security_lake.staging.alarms).
      const spec = contract.security_lake.staging.alarms;
      const lakeMetric = (name: string, statistic: string, period: number) =>
        new cloudwatch.Metric({ namespace: 'OktaRelay', metricName: name, dimensionsMap: { Stream: 'lake' }, statistic, period: Duration.seconds(period) });
      const interval = props.securityLake.writeInterval?.toSeconds() ?? contract.security_lake.staging.write_interval_seconds;
      alarm(
        spec.staged_age.cdk_id,
        lakeMetric(spec.staged_age.metric, 'Maximum', spec.period_seconds),
        interval + spec.staged_age.slack_seconds,
        `okta-relay: staged Security Lake events have waited an hour past the write interval: the poller is not writing the lake from staging. Runbook: docs/operate.md#${spec.runbook}`,
      );
      alarm(
        spec.write_errors.cdk_id,
        lakeMetric(spec.write_errors.metric, 'Sum', spec.write_errors.errors_period_seconds),
        spec.write_errors.threshold,
        `okta-relay: writing the Security Lake from staging failed 3 times within 45 minutes (the lake's bucket, key or provider roles). Runbook: docs/operate.md#${spec.runbook}`,
      );
    }
    const visible = (q: sqs.Queue) => q.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) });
    alarm('DeliveryDlqAlarm', visible(this.deliveryDlq), 1, 'okta-relay: records the SIEM did not accept (redrive the DLQ). Runbook: docs/operate.md#alarm-delivery-dlq');
    alarm('EventsDlqAlarm', visible(this.eventsDlq), 1, 'okta-relay: partner events the events function could not take. Runbook: docs/operate.md#alarm-events-dlq');
    for (const [id, f] of [['EventsErrors', this.eventsFunction], ['PollerErrors', this.pollerFunction]] as const) {
      alarm(`${id}Alarm`, f.metricErrors({ period: Duration.minutes(5) }), 1, `okta-relay: ${id}. Runbook: docs/operate.md#alarm-function-errors`);
    }
    for (const org of props.orgs) {
      const dims = { Org: org.name, Stream: 'logs' };
      alarm(
        `LagAlarm-${org.name}`,
        new cloudwatch.Metric({ namespace: 'OktaRelay', metricName: 'LagSeconds', dimensionsMap: dims, statistic: 'Maximum', period: Duration.minutes(15) }),
        props.lagAlarmThreshold?.toSeconds() ?? DEFAULT_LAG_ALARM_SECONDS,
        `okta-relay: System Log lag of org ${org.name}. Runbook: docs/operate.md#alarm-lag`,
      );
      alarm(
        `HealthAlarm-${org.name}`,
        new cloudwatch.Metric({ namespace: 'OktaRelay', metricName: 'StreamErrors', dimensionsMap: { Org: org.name }, statistic: 'Sum', period: Duration.minutes(15) }),
        3,
        `okta-relay: failing streams of org ${org.name}. Runbook: docs/operate.md#alarm-stream-errors`,
      );
      alarm(
        `QuarantineAlarm-${org.name}`,
        new cloudwatch.Metric({ namespace: 'OktaRelay', metricName: 'Quarantined', dimensionsMap: { Org: org.name }, statistic: 'Sum', period: Duration.minutes(15) }),
        1,
        `okta-relay: records of org ${org.name} forwarded as quarantine markers. Runbook: docs/operate.md#alarm-quarantined`,
      );
      alarm(
        `OverdueAlarm-${org.name}`,
        new cloudwatch.Metric({ namespace: 'OktaRelay', metricName: 'Overdue', dimensionsMap: { Org: org.name }, statistic: 'Maximum', period: Duration.minutes(15) }),
        1,
        `okta-relay: a stream of org ${org.name} did not succeed within its interval plus overdue_slack_seconds, or the poller did not run for the org at all. Runbook: docs/operate.md#alarm-overdue`,
        // No data means no poller invocation for the org in 15 minutes: a disabled or deleted
        // schedule, a poller that cannot start or is throttled.
        cloudwatch.TreatMissingData.BREACHING,
      );
    }
  }
}

/** A pattern as EventBridge writes it (`detail-type`) to CDK's spelling (`detailType`). */
function eventPattern(pattern: Record<string, unknown>): events.EventPattern {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(pattern)) out[k === 'detail-type' ? 'detailType' : k] = v;
  return out as events.EventPattern;
}

/** The checkov findings this design answers differently, each with its reason. */
function checkovSkips(name: FunctionName, inVpc: boolean): { id: string; comment: string }[] {
  const skips = inVpc
    ? []
    : [
        {
          id: 'CKV_AWS_117',
          comment:
            'No VPC unless asked for (vpc): the functions only make outbound calls (Okta over the internet, AWS public endpoints); a VPC adds a NAT gateway, worth it only for a fixed egress IP.',
        },
      ];
  skips.push({
    id: 'CKV_AWS_116',
    comment:
      name === 'poller'
        ? 'The poller is invoked by its schedule; the scheduled event carries no data to keep, and a failed run resumes from its cursor at the next schedule.'
        : "The events function is invoked by its SQS queue's event source mapping: the queue's redrive policy (to the events DLQ) is where failed events go.",
  });
  return skips;
}

/** The `security_lake` section of the relay configuration. */
function lakeConfig(lake: OktaRelaySecurityLake, stack: Stack, staging: s3.IBucket): Record<string, unknown> {
  const interval = lake.writeInterval?.toSeconds() ?? contract.security_lake.staging.write_interval_seconds;
  return {
    staging: { bucket: staging.bucketName, prefix: contract.security_lake.staging.prefix, write_interval_seconds: interval },
    bucket: lake.bucket.bucketName,
    prefix: lake.prefix ?? contract.security_lake.prefix,
    region: lake.region ?? stack.region,
    account_id: lake.accountId ?? stack.account,
    ...(lake.bucketOwner ? { bucket_owner: lake.bucketOwner } : {}),
    sources: { ...contract.security_lake.sources, ...(lake.sources ?? {}) },
    ...lakeBufferConfig(lake.buffer ?? {}),
    ...(lake.providerRoles ? { provider_roles: { external_id: lake.providerRoles.externalId, arns: lake.providerRoles.arns } } : {}),
  };
}

/** Least privilege on the lake: `s3:PutObject` under each custom source's location only, and
 * `kms:GenerateDataKey` on the lake's key when it has one. */
function grantLake(f: lambda.Function, lake: Record<string, unknown>, props: OktaRelaySecurityLake, partition: string) {
  const kmsKeyArn = props.kmsKey?.keyArn;
  if (props.providerRoles) {
    // The lake's account grants its provider roles; the relay only takes them.
    f.addToRolePolicy(
      new iam.PolicyStatement({ actions: contract.security_lake.provider_role_actions, resources: [...new Set(Object.values(props.providerRoles.arns))] }),
    );
    return;
  }
  const sources = Object.values(lake.sources as Record<string, string>);
  f.addToRolePolicy(
    new iam.PolicyStatement({
      actions: contract.security_lake.object_actions,
      resources: sources.map((s) => `arn:${partition}:s3:::${lake.bucket}/${lake.prefix}${s}/*`),
    }),
  );
  if (kmsKeyArn) {
    f.addToRolePolicy(new iam.PolicyStatement({ actions: contract.security_lake.key_actions, resources: [kmsKeyArn] }));
  }
}

/** The staging bucket: both functions put staged objects under the contract's prefix; the
 * poller also reads, lists and deletes them there; each with the bucket key's use. */
function grantStaging(f: lambda.Function, name: FunctionName, bucket: s3.Bucket) {
  const spec = contract.security_lake.staging;
  const objects = bucket.arnForObjects(`${spec.prefix}*`);
  const actions = name === 'poller' ? [...spec.staged_actions, ...spec.poller_actions] : spec.staged_actions;
  f.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [objects] }));
  if (name === 'poller') {
    f.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${spec.prefix}*`] } },
      }),
    );
  }
  bucket.encryptionKey?.grantEncryptDecrypt(f);
}

/** One `aws securitylake create-custom-log-source` per class, for the operator to run with
 * the Glue crawler role; the provider is the account the relay runs in (docs/ocsf.md). */
function customSourceCommands(lake: Record<string, unknown>, account: string): string {
  const names = Object.values(lake.sources as Record<string, string>).map((s) => s.split('/')[0]);
  return names
    .map(
      (name) =>
        `aws securitylake create-custom-log-source --source-name ${name} --configuration ` +
        `crawlerConfiguration={roleArn=<GLUE_CRAWLER_ROLE_ARN>},providerIdentity={principal=${account},externalId=<EXTERNAL_ID>}`,
    )
    .join(' ; ');
}
