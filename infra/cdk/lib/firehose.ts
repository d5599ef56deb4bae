/**
 * The Firehose sink's streams (contract.json `firehose`): a stream to the SIEM's HTTP endpoint,
 * batched and gzip-compressed, retried for two hours, what it cannot deliver backed up to the
 * archive bucket; and a stream to an S3 archive, gzip NDJSON partitioned by org and day, with a
 * Glue table for Athena. Orgs choose one with their `sink`; the Terraform module renders the
 * same contract (infra/terraform/firehose.tf).
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import * as contract from './contract.json';
import { OktaRelayFirehose } from './props';

/** One alarm of a stream: its id, metric, threshold and description. */
export interface StreamAlarm {
  readonly id: string;
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly description: string;
}

export class FirehoseStreams extends Construct {
  /** The archive bucket (also the SIEM stream's backup). */
  readonly bucket: s3.IBucket;
  readonly siemStream?: firehose.CfnDeliveryStream;
  readonly archiveStream?: firehose.CfnDeliveryStream;
  /** The archive's Glue table (Athena), with the archive stream. */
  readonly table?: glue.CfnTable;
  readonly alarms: StreamAlarm[] = [];

  constructor(scope: Construct, id: string, props: OktaRelayFirehose & { key: kms.IKey }) {
    super(scope, id);
    const { account } = Stack.of(this);
    const spec = contract.firehose;
    this.bucket = props.bucket ?? this.archiveBucket(props.key);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.key,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Firehose's own role, only for this account's streams.
    const role = new iam.Role(this, 'Role', {
      description: 'okta-relay: Firehose writes the archive and calls the SIEM',
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': account },
      }),
    });
    this.bucket.grantReadWrite(role);
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetBucketLocation', 's3:ListBucketMultipartUploads', 's3:AbortMultipartUpload'],
        resources: [this.bucket.bucketArn, this.bucket.arnForObjects('*')],
      }),
    );
    role.addToPolicy(new iam.PolicyStatement({ actions: ['logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    const encryption = { keyType: 'CUSTOMER_MANAGED_CMK', keyArn: props.key.keyArn };
    const logging = (name: string) => {
      const stream = new logs.LogStream(this, `LogStream-${name}`, { logGroup, removalPolicy: RemovalPolicy.RETAIN });
      return { enabled: true, logGroupName: logGroup.logGroupName, logStreamName: stream.logStreamName };
    };
    const freshness = (streamName: string, alarm: typeof spec.alarms.siem) =>
      this.alarms.push({
        id: alarm.cdk_id,
        metric: new cloudwatch.Metric({
          namespace: 'AWS/Firehose',
          metricName: alarm.metric,
          dimensionsMap: { DeliveryStreamName: streamName },
          statistic: 'Maximum',
          period: Duration.seconds(spec.alarms.period_seconds),
        }),
        threshold: alarm.freshness_seconds,
        description: `okta-relay: ${alarm.description}. Runbook: docs/operate.md#${alarm.runbook}`,
      });

    if (props.siem) {
      const siem = spec.siem;
      props.siem.accessKey.grantRead(role);
      this.siemStream = new firehose.CfnDeliveryStream(this, 'Siem', {
        deliveryStreamType: 'DirectPut',
        deliveryStreamEncryptionConfigurationInput: encryption,
        httpEndpointDestinationConfiguration: {
          endpointConfiguration: { url: props.siem.url, name: props.siem.name ?? 'SIEM' },
          secretsManagerConfiguration: { enabled: true, secretArn: props.siem.accessKey.secretArn, roleArn: role.roleArn },
          requestConfiguration: { contentEncoding: siem.content_encoding },
          bufferingHints: { intervalInSeconds: siem.buffer_interval_seconds, sizeInMBs: siem.buffer_size_mb },
          retryOptions: { durationInSeconds: siem.retry_duration_seconds },
          roleArn: role.roleArn,
          s3BackupMode: 'FailedDataOnly',
          s3Configuration: {
            bucketArn: this.bucket.bucketArn,
            roleArn: role.roleArn,
            prefix: siem.failed_prefix,
            errorOutputPrefix: siem.failed_error_prefix,
            compressionFormat: 'GZIP',
          },
          cloudWatchLoggingOptions: logging('siem'),
        },
      });
      this.siemStream.node.addDependency(role);
      freshness(this.siemStream.ref, spec.alarms.siem);
    }

    if (props.archive) {
      const archive = spec.archive;
      this.archiveStream = new firehose.CfnDeliveryStream(this, 'ArchiveStream', {
        deliveryStreamType: 'DirectPut',
        deliveryStreamEncryptionConfigurationInput: encryption,
        extendedS3DestinationConfiguration: {
          bucketArn: this.bucket.bucketArn,
          roleArn: role.roleArn,
          prefix: archive.prefix,
          errorOutputPrefix: archive.error_output_prefix,
          compressionFormat: archive.compression,
          bufferingHints: { intervalInSeconds: archive.buffer_interval_seconds, sizeInMBs: archive.buffer_size_mb },
          dynamicPartitioningConfiguration: { enabled: true },
          processingConfiguration: {
            enabled: true,
            processors: [
              {
                type: 'MetadataExtraction',
                parameters: [
                  { parameterName: 'MetadataExtractionQuery', parameterValue: archive.partition_query },
                  { parameterName: 'JsonParsingEngine', parameterValue: 'JQ-1.6' },
                ],
              },
            ],
          },
          cloudWatchLoggingOptions: logging('archive'),
        },
      });
      this.archiveStream.node.addDependency(role);
      freshness(this.archiveStream.ref, spec.alarms.archive);
      this.table = this.glueTable(account);
    }
  }

  /** The archive bucket the construct creates: the relay's key, versioned, TLS only, retained. */
  private archiveBucket(key: kms.IKey): s3.Bucket {
    const bucket = new s3.Bucket(this, 'Archive', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    (bucket.node.defaultChild as s3.CfnBucket).addMetadata('checkov', {
      skip: [
        {
          id: 'CKV_AWS_18',
          comment: 'The archive is itself a log; its reads are in CloudTrail data events where the account records them.',
        },
      ],
    });
    return bucket;
  }

  /** The archive as an Athena table: a database of its own, the contract's columns, org and
   * day as projected partitions (no crawler, no MSCK REPAIR). */
  private glueTable(account: string): glue.CfnTable {
    const t = contract.firehose.archive.glue_table;
    const database = new glue.CfnDatabase(this, 'Database', {
      catalogId: account,
      databaseInput: { description: 'okta-relay: the record archive' },
    });
    const location = `s3://${this.bucket.bucketName}/${contract.firehose.archive.prefix.split('org=')[0]}`;
    const table = new glue.CfnTable(this, 'Table', {
      catalogId: account,
      databaseName: database.ref,
      tableInput: {
        name: t.name,
        description: 'okta-relay records: one per line, as the Firehose sink writes them (docs/record.md)',
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: t.partition_keys,
        parameters: {
          classification: 'json',
          compressionType: 'gzip',
          ...t.projection,
          'storage.location.template': `${location}org=\${org}/dt=\${dt}/`,
        },
        storageDescriptor: {
          location,
          columns: t.columns,
          inputFormat: t.input_format,
          outputFormat: t.output_format,
          serdeInfo: { serializationLibrary: t.serde, parameters: t.serde_parameters },
        },
      },
    });
    return table;
  }
}
