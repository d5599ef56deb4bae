/** The example app refuses to make up a deployment: no placeholders, every missing value named. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { REQUIRED_CONTEXT, exampleProps } from '../bin/example-props';
import { checkOrgSettings } from '../lib/okta-relay';

test('without context the example names every value it needs and synthesizes nothing', () => {
  assert.throws(
    () => exampleProps(() => undefined),
    (e: Error) => Object.keys(REQUIRED_CONTEXT).every((key) => e.message.includes(`-c ${key}=`)),
  );
});

test('one missing value is named alone', () => {
  const given: Record<string, string> = {
    orgSecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:okta/acme-AbCdEf',
    siemEndpoint: 'https://siem.example.org/ingest',
  };
  assert.throws(
    () => exampleProps((key) => given[key]),
    (e: Error) => e.message.includes('siemSecretArn') && !e.message.includes('-c orgSecretArn'),
  );
});

test('Security Lake is off unless its bucket is given, and the values given are the values used', () => {
  const given: Record<string, string> = {
    orgSecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:okta/acme-AbCdEf',
    siemEndpoint: 'https://siem.example.org/ingest',
    siemSecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:siem-AbCdEf',
  };
  const props = exampleProps((key) => given[key]);
  assert.equal(props.securityLake, undefined);
  assert.equal(props.orgs[0].secretArn, given.orgSecretArn);
  assert.equal(props.orgs[0].partnerEventSource, undefined, 'no push without a partner event source');
  assert.ok(!JSON.stringify(props).includes('123456789012'), 'no placeholder account');
  const lake = exampleProps((key) => ({ ...given, securityLakeBucket: 'aws-security-data-lake-eu-west-1-x' })[key]);
  assert.equal(lake.securityLake?.bucketName, 'aws-security-data-lake-eu-west-1-x');
});

test('org settings are checked at synth time and a mistake is named by its path', () => {
  checkOrgSettings({ logs: { page_size: 1000 }, inventory: { users: {} }, output: 'both' }, 'orgs[0].settings');
  assert.throws(
    () => checkOrgSettings({ logs: { page_size: '1000' } }, 'orgs[1].settings'),
    /orgs\[1\]\.settings\.logs\.page_size: must be a whole number/,
  );
  assert.throws(() => checkOrgSettings({ logz: {} }, 'orgs[0].settings'), /orgs\[0\]\.settings\.logz: unknown setting/);
  assert.throws(() => checkOrgSettings({ output: 'xml' }, 'orgs[0].settings'), /output: must be raw, ocsf or both/);
});
