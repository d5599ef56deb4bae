/** The example app refuses to make up a deployment: no placeholders, every missing value named. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { REQUIRED_CONTEXT, exampleProps } from '../bin/example-props';

const stack = () => new Stack(new App(), 'Example', { env: { account: '111122223333', region: 'eu-west-1' } });

test('without context the example names every value it needs and synthesizes nothing', () => {
  assert.throws(
    () => exampleProps(stack(), () => undefined),
    (e: Error) => Object.keys(REQUIRED_CONTEXT).every((key) => e.message.includes(`-c ${key}=`)),
  );
});

test('one missing value is named alone', () => {
  const given: Record<string, string> = {
    orgSecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:okta/acme-AbCdEf',
    siemEndpoint: 'https://siem.example.org/ingest',
  };
  assert.throws(
    () => exampleProps(stack(), (key) => given[key]),
    (e: Error) => e.message.includes('siemSecretArn') && !e.message.includes('-c orgSecretArn'),
  );
});

test('Security Lake is off unless its bucket is given, and the values given are the values used', () => {
  const given: Record<string, string> = {
    orgSecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:okta/acme-AbCdEf',
    siemEndpoint: 'https://siem.example.org/ingest',
    siemSecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:siem-AbCdEf',
  };
  const props = exampleProps(stack(), (key) => given[key]);
  assert.equal(props.securityLake, undefined);
  assert.equal(props.orgs[0].secret?.secretArn, given.orgSecretArn);
  assert.equal(props.orgs[0].partnerEventSource, undefined, 'no push without a partner event source');
  assert.equal(props.orgs[0].logs?.interval?.toSeconds(), Duration.hours(1).toSeconds());
  const lake = exampleProps(stack(), (key) => ({ ...given, securityLakeBucket: 'aws-security-data-lake-eu-west-1-x' })[key]);
  assert.equal(lake.securityLake?.bucket.bucketName, 'aws-security-data-lake-eu-west-1-x');
  assert.equal(lake.securityLake?.kmsKey, undefined, 'no key unless given');
});
