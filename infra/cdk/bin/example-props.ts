/**
 * The example app's props, from CDK context values. Nothing is made up: every value a
 * deployment needs must be given (`-c key=value` or cdk.json's `context`), and a missing one
 * stops the synth with a message naming each. Security Lake is on only when its bucket is given.
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { OktaRelayProps, OktaRelaySink } from '../lib';

/** The context values the example needs, with what each one is. */
export const REQUIRED_CONTEXT: Record<string, string> = {
  orgSecretArn: "the ARN of the org's Okta secret in Secrets Manager (docs/deploy.md, step 1)",
  siemEndpoint: "your SIEM's HTTPS ingestion URL",
  siemSecretArn: "the ARN of the secret holding the SIEM's API key (field api_key)",
};

/** Optional context: `partnerEventSource` (the org's Log Streaming source, for push),
 * `orgName` (default `acme`), `securityLakeBucket` and `securityLakeKeyArn` (Security Lake),
 * `siemFirehoseUrl` and `siemFirehoseSecretArn` (a Firehose stream to the SIEM's HTTP endpoint,
 * the secret holding `{"api_key": …}`), `archive=true` (a Firehose stream to an S3 archive),
 * `orgSink` (`event_bus`, the default, `siem_stream` or `archive_stream`),
 * `codeDirectory` (default `../../target/lambda`, `make package`'s output; a release's `lambda/`),
 * `alarmTopicArn` (an SNS topic for alarms and their return to OK). */
export function exampleProps(scope: Construct, get: (key: string) => string | undefined): OktaRelayProps {
  const missing = Object.entries(REQUIRED_CONTEXT).filter(([key]) => !get(key));
  if (missing.length > 0) {
    const lines = missing.map(([key, what]) => `  -c ${key}=<${what}>`);
    throw new Error(`the example app needs these context values, none has a default:\n${lines.join('\n')}`);
  }
  const lakeBucket = get('securityLakeBucket');
  const firehoseUrl = get('siemFirehoseUrl');
  const firehoseSecret = get('siemFirehoseSecretArn');
  if ((firehoseUrl === undefined) !== (firehoseSecret === undefined)) {
    throw new Error('the example app needs both siemFirehoseUrl and siemFirehoseSecretArn, or neither');
  }
  const archive = get('archive') === 'true';
  const lakeKey = get('securityLakeKeyArn');
  const secret = (id: string, arn: string) => secretsmanager.Secret.fromSecretCompleteArn(scope, id, arn);
  const siemSecret = secret('SiemSecret', get('siemSecretArn')!);
  return {
    codeDirectory: get('codeDirectory') ?? '../../target/lambda',
    orgs: [
      {
        name: get('orgName') ?? 'acme',
        secret: secret('OrgSecret', get('orgSecretArn')!),
        ...(get('partnerEventSource') ? { partnerEventSource: get('partnerEventSource')! } : {}),
        // With Log Streaming, polling the System Log hourly is the safety net.
        logs: { interval: Duration.hours(1) },
        inventory: { users: {}, groups: {}, groupMembers: {} },
        ...(get('orgSink') ? { sink: get('orgSink') as OktaRelaySink } : {}),
      },
    ],
    ...(firehoseUrl || archive
      ? {
          firehose: {
            ...(firehoseUrl ? { siem: { url: firehoseUrl, accessKey: secret('SiemFirehoseSecret', firehoseSecret!) } } : {}),
            archive,
          },
        }
      : {}),
    ...(lakeBucket
      ? {
          securityLake: {
            bucket: s3.Bucket.fromBucketName(scope, 'LakeBucket', lakeBucket),
            ...(lakeKey ? { kmsKey: kms.Key.fromKeyArn(scope, 'LakeKey', lakeKey) } : {}),
          },
        }
      : {}),
    ...(get('alarmTopicArn') ? { alarmTopic: sns.Topic.fromTopicArn(scope, 'Alarms', get('alarmTopicArn')!) } : {}),
    siemEndpoint: get('siemEndpoint')!,
    siemAuthorization: events.Authorization.apiKey('Authorization', siemSecret.secretValueFromJson('api_key')),
  };
}
