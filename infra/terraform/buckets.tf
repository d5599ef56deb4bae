# The relay's own buckets, with the same protections: the Firehose archive (var.firehose,
# unless firehose.bucket_name names one) and the Security Lake staging bucket (var.security_lake).
# Each is encrypted with the relay's key, blocks public access, takes TLS only, aborts
# incomplete uploads, and is kept on destroy. The archive is versioned; staging is not: its
# objects are content addressed and deleted once the poller has written them to the lake.

locals {
  relay_buckets = { for k, v in {
    archive = {
      name      = "${var.name_prefix}-archive-${data.aws_caller_identity.current.account_id}"
      versioned = true
      wanted    = local.firehose != null && try(local.firehose.bucket_name, null) == null
    }
    lake_staging = {
      name      = "${var.name_prefix}-lake-staging-${data.aws_caller_identity.current.account_id}"
      versioned = false
      wanted    = local.lake != null
    }
  } : k => v if v.wanted }
}

resource "aws_s3_bucket" "relay" {
  for_each = local.relay_buckets
  bucket   = each.value.name
  # checkov:skip=CKV_AWS_18: the archive is itself a log and staging is transient; their reads are in CloudTrail data events where the account records them.
  # checkov:skip=CKV_AWS_21: the archive is versioned; the staging bucket's objects are content addressed, never replaced, and deleted once written to the lake.
  # checkov:skip=CKV_AWS_144: cross-region replication is the account's choice, not the relay's.
  # checkov:skip=CKV2_AWS_62: nothing consumes these buckets' object events.
  lifecycle {
    prevent_destroy = true
  }
  tags = var.tags
}

resource "aws_s3_bucket_versioning" "relay" {
  for_each = { for k, v in local.relay_buckets : k => v if v.versioned }
  bucket   = aws_s3_bucket.relay[each.key].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "relay" {
  for_each = local.relay_buckets
  bucket   = aws_s3_bucket.relay[each.key].id
  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "relay" {
  for_each = local.relay_buckets
  bucket   = aws_s3_bucket.relay[each.key].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = local.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "relay" {
  for_each                = local.relay_buckets
  bucket                  = aws_s3_bucket.relay[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

data "aws_iam_policy_document" "relay_bucket_tls" {
  for_each = local.relay_buckets
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    resources = [aws_s3_bucket.relay[each.key].arn, "${aws_s3_bucket.relay[each.key].arn}/*"]
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "relay" {
  for_each = local.relay_buckets
  bucket   = aws_s3_bucket.relay[each.key].id
  policy   = data.aws_iam_policy_document.relay_bucket_tls[each.key].json
}
