/**
 * What a CDK user gives the `OktaRelay` construct. Secrets, buckets and keys are CDK
 * references (`ISecret`, `IBucket`, `IKey`), spans of time are `Duration`s and every org
 * setting is typed, so a mistake is a compile error or a synth error that names its path,
 * never an `OktaRelay.Configuration` error at the first run.
 */
import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { OktaRelayLakeBuffer, OktaRelayTuning, OrgSettings } from './settings';

/** One Okta org. */
export interface OktaRelayOrg extends OrgSettings {
  /** Short name used in state keys and records: `[a-z0-9][a-z0-9_-]*`. */
  readonly name: string;
  /** The secret holding the org URL and credentials (docs/deploy.md, "Okta side"). Default: the
   * construct creates an empty secret, to be filled before the first run. */
  readonly secret?: secretsmanager.ISecret;
  /** The org's Okta Log Streaming partner event source (`aws.partner/okta.com/…`), if the org
   * streams to EventBridge. Its event bus must exist (associated in the EventBridge console). */
  readonly partnerEventSource?: string;
}

/** The SIEM's Firehose HTTP endpoint (contract.json `firehose.siem`). */
export interface OktaRelayFirehoseSiem {
  /** The endpoint's HTTPS URL, as the SIEM documents it for Amazon Data Firehose (Splunk,
   * Datadog, Elastic, Sumo Logic, New Relic, or any endpoint that speaks Firehose's HTTP
   * delivery protocol). */
  readonly url: string;
  /** The secret holding `{"api_key": "<key>"}`: Firehose reads it (every 10 minutes) and sends
   * the key as `X-Amz-Firehose-Access-Key`. The template holds only its ARN. */
  readonly accessKey: secretsmanager.ISecret;
  /** The endpoint's name in Firehose. Default `SIEM`. */
  readonly name?: string;
}

/** Batched delivery with Amazon Data Firehose (docs/deploy.md): the streams an org's `sink`
 * can name. */
export interface OktaRelayFirehose {
  /** A stream to the SIEM's HTTP endpoint (`OktaRelaySink.SIEM_STREAM`). */
  readonly siem?: OktaRelayFirehoseSiem;
  /** A stream to an S3 archive: gzip NDJSON by org and day, with a Glue table for Athena
   * (`OktaRelaySink.ARCHIVE_STREAM`). Default false. */
  readonly archive?: boolean;
  /** The archive bucket, also where the SIEM stream backs up what it could not deliver in two
   * hours. Default: one the construct creates (the relay's key, versioned, retained). */
  readonly bucket?: s3.IBucket;
}

/** Where the functions read the configuration. */
export enum OktaRelayConfigurationStore {
  /** The JSON in `OKTA_RELAY_CONFIG`; Lambda caps a function's environment at 4 KB, about 15 orgs. */
  ENVIRONMENT = 'environment',
  /** An SSM parameter the construct writes (Intelligent-Tiering, up to 8 KB, about 35 orgs),
   * re-read every `configReload`. */
  PARAMETER = 'parameter',
  /** An S3 object uploaded with the stack's assets (up to 1 MiB); every org needs its `secret`
   * then, given from outside the stack (the object is written before the stack creates anything). */
  OBJECT = 'object',
}

/** Each custom source's provider role, for a lake in another account. */
export interface OktaRelayProviderRoles {
  /** The external id given when the custom sources were created. */
  readonly externalId: string;
  /** The provider role ARN of each class's custom source, by class key (`authentication`, …). */
  readonly arns: { [classKey: string]: string };
}

/** OCSF to Amazon Security Lake custom sources, beside the delivery bus (docs/ocsf.md). */
export interface OktaRelaySecurityLake {
  /** The lake's bucket (`aws-security-data-lake-<region>-<id>`), e.g. `Bucket.fromBucketName`. */
  readonly bucket: s3.IBucket;
  /** The lake's KMS key, when Security Lake encrypts with a customer managed key: the functions
   * get `kms:GenerateDataKey` on it. */
  readonly kmsKey?: kms.IKey;
  /** Where custom sources live in the bucket. Default `ext/`. */
  readonly prefix?: string;
  /** The `region=` partition. Default the stack's Region. */
  readonly region?: string;
  /** The `accountId=` partition. Default the stack's account. */
  readonly accountId?: string;
  /** The account that owns the lake's bucket (a delegated administrator or log archive
   * account). Every put names it, so a wrong or re-created bucket elsewhere is refused.
   * Default `accountId`: set it when the lake lives in another account. */
  readonly bucketOwner?: string;
  /** Custom source location per class key (`authentication`, …, `user_inventory_info`): its
   * name, or `<name>/<version>`. Default the contract's `security_lake.sources`. */
  readonly sources?: { [classKey: string]: string };
  /** How much the relay buffers before it writes an object. */
  readonly buffer?: OktaRelayLakeBuffer;
  /** A lake in another account: write each object as its custom source's provider role
   * (`sts:AssumeRole` with `externalId`); `arns` by class key, as CreateCustomLogSource answered
   * them. The poller then gets `sts:AssumeRole` on those roles instead of a grant on the bucket. */
  readonly providerRoles?: OktaRelayProviderRoles;
  /** How often the poller writes the lake from the staging bucket: a class's staged events
   * wait at most this long (5 minutes to a day, Security Lake's guidance). Default 5 minutes. */
  readonly writeInterval?: Duration;
}

export interface OktaRelayProps {
  /** The Okta orgs, at least one. */
  readonly orgs: OktaRelayOrg[];
  /** The SIEM's HTTPS endpoint (the API destination). */
  readonly siemEndpoint: string;
  /** How EventBridge authenticates to the SIEM, e.g.
   * `Authorization.apiKey('Authorization', siemSecret.secretValueFromJson('api_key'))`: the
   * template holds a dynamic reference to the secret, never its value. */
  readonly siemAuthorization: events.Authorization;
  /** API destination invocations per second (one record each). Default 100: 8.64 million
   * records a day; see docs/deploy.md for the ceiling each setting implies. */
  readonly invocationRateLimitPerSecond?: number;
  /** Partner events per invocation of the events function (SQS batch size). Default 100. */
  readonly pushBatchSize?: number;
  /** How long the queue gathers a batch before invoking. Default 5 s. */
  readonly pushBatchingWindow?: Duration;
  /** Each org's poller schedule (one EventBridge Scheduler schedule per org, its input
   * `{"org": <name>}`). Default every 5 minutes. Overlapping runs are safe (leases). */
  readonly pollSchedule?: scheduler.ScheduleExpression;
  /** Function log retention. Default one year (an audit trail's logs). */
  readonly logRetention?: logs.RetentionDays;
  /** Where alarms go, and their return to OK. */
  readonly alarmTopic?: sns.ITopic;
  /** Send each record that carries an Okta object (System Log events, directory objects,
   * inventory changes) as that object alone (`$.detail.okta`); OCSF events and markers still
   * go whole, on a second rule. Default false: every record whole. */
  readonly siemReceivesOktaObjectOnly?: boolean;
  /** Alarm when the System Log lag exceeds this. Default one hour. */
  readonly lagAlarmThreshold?: Duration;
  /** Directory holding `<binary>/bootstrap.zip` (`make package`, or a release's `lambda/`
   * folder). Default `target/lambda`. */
  readonly codeDirectory?: string;
  /** Reserved concurrency of the events function. Default 20. */
  readonly eventsConcurrency?: number;
  /** Relay-wide settings (rate-limit reserve, timeouts, lease). */
  readonly tuning?: OktaRelayTuning;
  /** Where the functions read the configuration. Default `ENVIRONMENT`. Each function may read
   * only its own parameter or object. */
  readonly configurationStore?: OktaRelayConfigurationStore;
  /** Your own KMS key for the state table, queues, logs, created secrets and the functions'
   * environment. Default: the construct creates one (rotation on, retained). Its policy must let
   * EventBridge (`aws:SourceAccount` this account) and CloudWatch Logs (this account's log
   * groups) use it: the construct cannot edit an imported key's policy. */
  readonly encryptionKey?: kms.IKey;
  /** Run the functions in this VPC, for a fixed egress IP (a NAT gateway's Elastic IP) when
   * Okta restricts the credential to a network zone. The subnets need routes to Okta and to the
   * AWS endpoints the functions call. Default: no VPC. */
  readonly vpc?: ec2.IVpc;
  /** The subnets in `vpc`. Default the VPC's private subnets with egress. */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** The functions' security groups in `vpc`. Default one the construct creates (egress only). */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** IAM principals (role or user ARNs) that may put records on the delivery bus and send to
   * the push queue, besides the relay: the operators who run the redrive procedures of
   * docs/operate.md. Everyone else in the account is denied both, whatever their IAM policies
   * allow, so nobody can inject "Okta" records. Default none. */
  readonly operatorPrincipals?: string[];
  /** Firehose streams for orgs whose `sink` is `SIEM_STREAM` or `ARCHIVE_STREAM`. None
   * unless given. */
  readonly firehose?: OktaRelayFirehose;
  /** OCSF to Amazon Security Lake custom sources. Off unless given. Each org's `output` is
   * separate: it chooses what the delivery bus gets. */
  readonly securityLake?: OktaRelaySecurityLake;
}
