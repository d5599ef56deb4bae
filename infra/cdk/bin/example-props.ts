/**
 * The example app's props, from CDK context values. Nothing is made up: every value a
 * deployment needs must be given (`-c key=value` or cdk.json's `context`), and a missing one
 * stops the synth with a message naming each. Security Lake is on only when its bucket is given.
 */
import { OktaRelayProps } from '../lib/okta-relay';

/** The context values the example needs, with what each one is. */
export const REQUIRED_CONTEXT: Record<string, string> = {
  orgSecretArn: "the ARN of the org's Okta secret in Secrets Manager (docs/deploy.md, step 1)",
  siemEndpoint: "your SIEM's HTTPS ingestion URL",
  siemSecretArn: "the ARN of the secret holding the SIEM's API key (field api_key)",
};

/** Optional context: `partnerEventSource` (the org's Log Streaming source, for push),
 * `orgName` (default `acme`), `securityLakeBucket` and `securityLakeKeyArn` (Security Lake),
 * `codeDirectory` (default `../../target/lambda`, `make package`'s output). */
export function exampleProps(get: (key: string) => string | undefined): OktaRelayProps {
  const missing = Object.entries(REQUIRED_CONTEXT).filter(([key]) => !get(key));
  if (missing.length > 0) {
    const lines = missing.map(([key, what]) => `  -c ${key}=<${what}>`);
    throw new Error(`the example app needs these context values, none has a default:\n${lines.join('\n')}`);
  }
  const lakeBucket = get('securityLakeBucket');
  const lakeKey = get('securityLakeKeyArn');
  return {
    codeDirectory: get('codeDirectory') ?? '../../target/lambda',
    orgs: [
      {
        name: get('orgName') ?? 'acme',
        secretArn: get('orgSecretArn')!,
        ...(get('partnerEventSource') ? { partnerEventSource: get('partnerEventSource')! } : {}),
        settings: { logs: { interval_seconds: 3600 }, inventory: { users: {}, groups: {}, group_members: {} } },
      },
    ],
    ...(lakeBucket ? { securityLake: { bucketName: lakeBucket, ...(lakeKey ? { kmsKeyArn: lakeKey } : {}) } } : {}),
    siemEndpoint: get('siemEndpoint')!,
    siemAuth: {
      kind: 'apiKey',
      headerName: 'Authorization',
      secretArn: get('siemSecretArn')!,
      secretField: 'api_key',
    },
  };
}
