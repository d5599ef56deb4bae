/**
 * Example app: one org with the default directory streams (and Log Streaming when
 * `partnerEventSource` is given), delivering to a SIEM with an API key. Every value comes from
 * context (`bin/example-props.ts` lists them); a missing one stops the synth and names itself:
 *
 *   npx cdk deploy -c orgSecretArn=arn:… -c siemEndpoint=https://… -c siemSecretArn=arn:… \
 *     [-c partnerEventSource=aws.partner/okta.com/…] [-c securityLakeBucket=…]
 */
import { App, Stack } from 'aws-cdk-lib';
import { OktaRelay } from '../lib';
import { exampleProps } from './example-props';

const app = new App();
const stack = new Stack(app, 'OktaRelayExample', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION ?? 'us-east-1' },
});
new OktaRelay(stack, 'OktaRelay', exampleProps(stack, (key) => app.node.tryGetContext(key)));
