# Batched delivery with Amazon Data Firehose (var.firehose; infra/contract.json firehose, which
# the CDK construct renders too): a stream to the SIEM's HTTP endpoint, its access key read by
# Firehose from Secrets Manager, what it cannot deliver in two hours backed up to the archive
# bucket; and a stream to an S3 archive, gzip NDJSON by org and day, with a Glue table for
# Athena. An org chooses one with settings.sink = "siem_stream" or "archive_stream".

locals {
  firehose_spec = jsondecode(file("${path.module}/contract.json")).firehose
  firehose      = var.firehose
  siem_stream   = try(local.firehose.siem, null) != null
  archive       = try(local.firehose.archive, false) == true
  # The created streams by the sink that names them.
  firehose_streams = { for sink, streams in {
    siem_stream    = aws_kinesis_firehose_delivery_stream.siem
    archive_stream = aws_kinesis_firehose_delivery_stream.archive
  } : sink => { name = streams[0].name, arn = streams[0].arn } if length(streams) > 0 }
  # Each org's sink as the configuration spells it ({} for the delivery bus), and the streams
  # the functions may put records on.
  org_sink = { for o in var.orgs : o.name => try(o.settings.sink, "event_bus") }
  org_sink_config = { for name, sink in local.org_sink : name => sink == "event_bus" ? {} : {
    sink = { type = "firehose", stream = try(local.firehose_streams[sink].name, "") }
  } }
  used_stream_arns = distinct([for name, sink in local.org_sink : local.firehose_streams[sink].arn if contains(keys(local.firehose_streams), sink)])
  archive_bucket   = local.firehose == null ? null : coalesce(local.firehose.bucket_name, try(aws_s3_bucket.relay["archive"].id, null))
  archive_location = "s3://${coalesce(local.archive_bucket, "none")}/${split("org=", local.firehose_spec.archive.prefix)[0]}"
}

resource "aws_cloudwatch_log_group" "firehose" {
  count             = local.firehose == null ? 0 : 1
  name              = "/aws/kinesisfirehose/${var.name_prefix}"
  retention_in_days = 365
  kms_key_id        = local.kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_log_stream" "firehose" {
  for_each       = toset(concat(local.siem_stream ? ["siem"] : [], local.archive ? ["archive"] : []))
  name           = each.key
  log_group_name = aws_cloudwatch_log_group.firehose[0].name
}

# Firehose's own role, only for this account's streams.
data "aws_iam_policy_document" "firehose_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["firehose.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "firehose" {
  count                = local.firehose == null ? 0 : 1
  name                 = "${var.name_prefix}-firehose"
  assume_role_policy   = data.aws_iam_policy_document.firehose_assume.json
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
}

data "aws_iam_policy_document" "firehose" {
  count = local.firehose == null ? 0 : 1
  statement {
    sid = "ArchiveBucket"
    actions = ["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket",
    "s3:ListBucketMultipartUploads", "s3:PutObject"]
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${local.archive_bucket}",
    "arn:${data.aws_partition.current.partition}:s3:::${local.archive_bucket}/*"]
  }
  statement {
    sid       = "Key"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [local.kms_key_arn]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.firehose[0].arn}:*"]
  }
  dynamic "statement" {
    for_each = local.siem_stream ? [1] : []
    content {
      sid       = "SiemAccessKey"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [local.firehose.siem.access_key_secret_arn]
    }
  }
}

resource "aws_iam_role_policy" "firehose" {
  count  = local.firehose == null ? 0 : 1
  name   = "${var.name_prefix}-firehose"
  role   = aws_iam_role.firehose[0].id
  policy = data.aws_iam_policy_document.firehose[0].json
}

resource "aws_kinesis_firehose_delivery_stream" "siem" {
  count       = local.siem_stream ? 1 : 0
  name        = "${var.name_prefix}-${local.firehose_spec.siem.stream_suffix}"
  destination = "http_endpoint"
  server_side_encryption {
    enabled  = true
    key_type = "CUSTOMER_MANAGED_CMK"
    key_arn  = local.kms_key_arn
  }
  http_endpoint_configuration {
    url                = local.firehose.siem.url
    name               = local.firehose.siem.name
    role_arn           = aws_iam_role.firehose[0].arn
    buffering_interval = local.firehose_spec.siem.buffer_interval_seconds
    buffering_size     = local.firehose_spec.siem.buffer_size_mb
    retry_duration     = local.firehose_spec.siem.retry_duration_seconds
    s3_backup_mode     = "FailedDataOnly"
    secrets_manager_configuration {
      enabled    = true
      secret_arn = local.firehose.siem.access_key_secret_arn
      role_arn   = aws_iam_role.firehose[0].arn
    }
    request_configuration {
      content_encoding = local.firehose_spec.siem.content_encoding
    }
    s3_configuration {
      role_arn            = aws_iam_role.firehose[0].arn
      bucket_arn          = "arn:${data.aws_partition.current.partition}:s3:::${local.archive_bucket}"
      prefix              = local.firehose_spec.siem.failed_prefix
      error_output_prefix = local.firehose_spec.siem.failed_error_prefix
      compression_format  = "GZIP"
    }
    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.firehose[0].name
      log_stream_name = aws_cloudwatch_log_stream.firehose["siem"].name
    }
  }
  depends_on = [aws_iam_role_policy.firehose]
  tags       = var.tags
}

resource "aws_kinesis_firehose_delivery_stream" "archive" {
  count       = local.archive ? 1 : 0
  name        = "${var.name_prefix}-${local.firehose_spec.archive.stream_suffix}"
  destination = "extended_s3"
  server_side_encryption {
    enabled  = true
    key_type = "CUSTOMER_MANAGED_CMK"
    key_arn  = local.kms_key_arn
  }
  extended_s3_configuration {
    role_arn            = aws_iam_role.firehose[0].arn
    bucket_arn          = "arn:${data.aws_partition.current.partition}:s3:::${local.archive_bucket}"
    prefix              = local.firehose_spec.archive.prefix
    error_output_prefix = local.firehose_spec.archive.error_output_prefix
    compression_format  = local.firehose_spec.archive.compression
    buffering_interval  = local.firehose_spec.archive.buffer_interval_seconds
    buffering_size      = local.firehose_spec.archive.buffer_size_mb
    dynamic_partitioning_configuration {
      enabled = true
    }
    processing_configuration {
      enabled = true
      processors {
        type = "MetadataExtraction"
        parameters {
          parameter_name  = "MetadataExtractionQuery"
          parameter_value = local.firehose_spec.archive.partition_query
        }
        parameters {
          parameter_name  = "JsonParsingEngine"
          parameter_value = "JQ-1.6"
        }
      }
    }
    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.firehose[0].name
      log_stream_name = aws_cloudwatch_log_stream.firehose["archive"].name
    }
  }
  depends_on = [aws_iam_role_policy.firehose]
  tags       = var.tags
}

# The archive as an Athena table: the contract's columns, org and day as projected partitions.
resource "aws_glue_catalog_database" "archive" {
  count       = local.archive ? 1 : 0
  name        = replace("${var.name_prefix}_archive", "-", "_")
  description = "okta-relay: the record archive"
}

resource "aws_glue_catalog_table" "archive" {
  count         = local.archive ? 1 : 0
  name          = local.firehose_spec.archive.glue_table.name
  database_name = aws_glue_catalog_database.archive[0].name
  description   = "okta-relay records: one per line, as the Firehose sink writes them (docs/record.md)"
  table_type    = "EXTERNAL_TABLE"
  parameters = merge(local.firehose_spec.archive.glue_table.projection, {
    classification              = "json"
    compressionType             = "gzip"
    "storage.location.template" = "${local.archive_location}org=$${org}/dt=$${dt}/"
  })
  dynamic "partition_keys" {
    for_each = local.firehose_spec.archive.glue_table.partition_keys
    content {
      name = partition_keys.value.name
      type = partition_keys.value.type
    }
  }
  storage_descriptor {
    location      = local.archive_location
    input_format  = local.firehose_spec.archive.glue_table.input_format
    output_format = local.firehose_spec.archive.glue_table.output_format
    ser_de_info {
      serialization_library = local.firehose_spec.archive.glue_table.serde
      parameters            = local.firehose_spec.archive.glue_table.serde_parameters
    }
    dynamic "columns" {
      for_each = local.firehose_spec.archive.glue_table.columns
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}
