# One customer-managed key for the table, the queues, the logs and the functions' environment:
# the module's own, or var.kms_key_arn (whose policy must then grant what data.aws_iam_policy_document.key
# below grants: EventBridge, CloudWatch Logs and the account).
locals {
  kms_key_arn = var.kms_key_arn != null ? var.kms_key_arn : aws_kms_key.relay[0].arn
}

resource "aws_kms_key" "relay" {
  count               = var.kms_key_arn == null ? 1 : 0
  description         = "okta-relay: state table, queues and logs"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.key.json
  tags                = var.tags
}

data "aws_iam_policy_document" "key" {
  # checkov:skip=CKV_AWS_111: A key policy's resource "*" is the key itself (AWS requires "*" in key policies).
  # checkov:skip=CKV_AWS_356: A key policy's resource "*" is the key itself (AWS requires "*" in key policies).
  # checkov:skip=CKV_AWS_109: The account root statement is the default key policy; without it the key cannot be administered.
  # The account administers its key (the standard default statement). KMS key policies must
  # name the key itself as "*".
  statement {
    sid       = "Account"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  # The services that write to the relay's queues and logs, only on this account's behalf;
  # EventBridge only for the relay's own rules (a rule ARN names its bus: Okta's partner buses
  # and the delivery bus).
  statement {
    sid       = "EventBridge"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*", "kms:Encrypt", "kms:ReEncrypt*", "kms:DescribeKey"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values = [for bus in ["aws.partner/okta.com/*", "${var.name_prefix}-delivery/*"] :
      "arn:${data.aws_partition.current.partition}:events:${data.aws_region.current.id}:${data.aws_caller_identity.current.account_id}:rule/${bus}"]
    }
  }
  statement {
    sid       = "Logs"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*", "kms:Encrypt", "kms:ReEncrypt*", "kms:DescribeKey"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.id}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.id}:${data.aws_caller_identity.current.account_id}:log-group:*"]
    }
  }
}
