data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "relay" {
  for_each             = local.functions
  name                 = "${var.name_prefix}-${each.key}"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
}

# Least privilege: the state table with the actions the function uses (its own items only), the
# delivery bus, its logs, the push queue (events), (poller) its orgs' secrets, and with
# var.security_lake the custom sources' prefixes (securitylake.tf). No wildcard.
data "aws_iam_policy_document" "relay" {
  for_each = local.functions
  # One statement per action, on the items that action may touch: the events function never
  # a stream's cursor or lease (stream#...), and a batch write (which replaces whole items)
  # only dedupe marks.
  dynamic "statement" {
    for_each = each.value.state_table_grants
    content {
      sid       = "StateTable${replace(statement.value.actions[0], "dynamodb:", "")}"
      actions   = statement.value.actions
      resources = [aws_dynamodb_table.state.arn]
      condition {
        test     = "ForAllValues:StringLike"
        variable = "dynamodb:LeadingKeys"
        values   = statement.value.leading_keys
      }
    }
  }
  statement {
    sid       = "DeliveryBus"
    actions   = local.delivery_bus_actions
    resources = [aws_cloudwatch_event_bus.delivery.arn]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.relay[each.key].arn}:*"]
  }
  statement {
    sid       = "Key"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [local.kms_key_arn]
  }
  dynamic "statement" {
    for_each = length(each.value.secret_actions) > 0 ? [1] : []
    content {
      sid       = "OrgSecrets"
      actions   = each.value.secret_actions
      resources = values(local.org_secret_arns)
    }
  }
  dynamic "statement" {
    for_each = length(local.config_resource[var.configuration_store]) > 0 ? [1] : []
    content {
      sid       = "Configuration"
      actions   = local.config_store_actions[var.configuration_store]
      resources = local.config_resource[var.configuration_store]
    }
  }
  # Both functions stage lake objects; only the poller reads, lists and deletes them, and
  # writes the lake.
  dynamic "statement" {
    for_each = local.lake == null ? [] : [1]
    content {
      sid       = "LakeStaging"
      actions   = each.key == "poller" ? concat(local.lake_staging.staged_actions, local.lake_staging.poller_actions) : local.lake_staging.staged_actions
      resources = ["${aws_s3_bucket.relay["lake_staging"].arn}/${local.lake_staging.prefix}*"]
    }
  }
  dynamic "statement" {
    for_each = local.lake == null || each.key != "poller" ? [] : [1]
    content {
      sid       = "LakeStagingList"
      actions   = ["s3:ListBucket"]
      resources = [aws_s3_bucket.relay["lake_staging"].arn]
      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["${local.lake_staging.prefix}*"]
      }
    }
  }
  dynamic "statement" {
    for_each = try(local.lake.provider_roles, null) == null || each.key != "poller" ? [] : [1]
    content {
      sid       = "SecurityLakeProviderRoles"
      actions   = local.lake_role_actions
      resources = distinct(values(local.lake.provider_roles.arns))
    }
  }
  dynamic "statement" {
    for_each = local.lake == null || each.key != "poller" || try(local.lake.provider_roles, null) != null ? [] : [1]
    content {
      sid       = "SecurityLakeObjects"
      actions   = local.lake_object_actions
      resources = local.lake_object_arns
    }
  }
  dynamic "statement" {
    for_each = try(local.lake.kms_key_arn, null) == null || each.key != "poller" || try(local.lake.provider_roles, null) != null ? [] : [1]
    content {
      sid       = "SecurityLakeKey"
      actions   = local.lake_key_actions
      resources = [local.lake.kms_key_arn]
    }
  }
  dynamic "statement" {
    for_each = length(local.used_stream_arns) > 0 ? [1] : []
    content {
      sid       = "FirehoseStreams"
      actions   = local.firehose_spec.function_actions
      resources = local.used_stream_arns
    }
  }
  dynamic "statement" {
    for_each = length(each.value.queue_actions) > 0 ? [1] : []
    content {
      sid       = "PushQueue"
      actions   = each.value.queue_actions
      resources = [aws_sqs_queue.push.arn]
    }
  }
}

resource "aws_iam_role_policy" "relay" {
  for_each = local.functions
  name     = "${var.name_prefix}-${each.key}"
  role     = aws_iam_role.relay[each.key].id
  policy   = data.aws_iam_policy_document.relay[each.key].json
}

# With var.vpc_config, Lambda manages the functions' network interfaces with their roles. AWS
# documents these EC2 actions on "*" (they name no interface before it exists).
data "aws_iam_policy_document" "vpc" {
  # checkov:skip=CKV_AWS_111: Lambda's VPC actions (AWSLambdaVPCAccessExecutionRole) take no resource-level scope.
  # checkov:skip=CKV_AWS_356: Lambda's VPC actions (AWSLambdaVPCAccessExecutionRole) take no resource-level scope.
  statement {
    sid = "LambdaVpcNetworkInterfaces"
    actions = ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "vpc" {
  for_each = var.vpc_config == null ? {} : local.functions
  name     = "${var.name_prefix}-${each.key}-vpc"
  role     = aws_iam_role.relay[each.key].id
  policy   = data.aws_iam_policy_document.vpc.json
}
