/**
 * Example app: one org with Log Streaming and the default directory streams, delivering to a
 * SIEM with an API key. `npx cdk synth -c codeDirectory=../../target/lambda` (after
 * `make package`); `npx cdk deploy` with your values in cdk.json's context.
 */
import { App, Stack } from 'aws-cdk-lib';
import { OktaRelay } from '../lib/okta-relay';

const app = new App();
const ctx = (key: string, fallback: string): string => app.node.tryGetContext(key) ?? fallback;
const stack = new Stack(app, 'OktaRelayExample', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION ?? 'us-east-1' },
});
new OktaRelay(stack, 'OktaRelay', {
  codeDirectory: ctx('codeDirectory', '../../target/lambda'),
  orgs: [
    {
      name: 'example',
      secretArn: ctx('orgSecretArn', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:okta/example-AbCdEf'),
      partnerEventSource: ctx('partnerEventSource', 'aws.partner/okta.com/example-org/okta-relay'),
      settings: { logs: { interval_seconds: 3600 }, inventory: { users: {}, groups: {}, group_members: {} } },
    },
  ],
  securityLake: {
    bucketName: ctx('securityLakeBucket', 'aws-security-data-lake-us-east-1-examplehash0123'),
    kmsKeyArn: ctx('securityLakeKeyArn', 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555'),
  },
  siemEndpoint: ctx('siemEndpoint', 'https://siem.example.com/ingest/okta'),
  siemAuth: {
    kind: 'apiKey',
    headerName: 'Authorization',
    secretArn: ctx('siemSecretArn', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:siem-key-AbCdEf'),
    secretField: 'api_key',
  },
});
