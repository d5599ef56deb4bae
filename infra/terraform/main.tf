# okta-relay: the same system as the CDK construct (infra/cdk/lib/okta-relay.ts).
# The function contract below is written out literally and checked against infra/contract.json
# by infra/tests/parity.py, so this module and the construct cannot drift.

locals {
  runtime      = "provided.al2023"
  architecture = "arm64"
  handler      = "bootstrap"

  functions = {
    events = {
      binary          = "okta-relay-events"
      memory_mb       = 256
      timeout_seconds = 30
      state_table_grants = [
        { actions = ["dynamodb:BatchGetItem"], leading_keys = ["dedupe#*", "org#*"] },
        { actions = ["dynamodb:BatchWriteItem"], leading_keys = ["dedupe#*"] },
        { actions = ["dynamodb:UpdateItem"], leading_keys = ["health#*"] },
      ]
      secret_actions = []
      queue_actions  = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]
    }
    poller = {
      binary          = "okta-relay-poller"
      memory_mb       = 512
      timeout_seconds = 300
      state_table_grants = [
        { actions = ["dynamodb:BatchGetItem"], leading_keys = ["dedupe#*", "org#*"] },
        { actions = ["dynamodb:BatchWriteItem"], leading_keys = ["dedupe#*"] },
        { actions = ["dynamodb:GetItem"], leading_keys = ["stream#*", "health#*"] },
        { actions = ["dynamodb:UpdateItem"], leading_keys = ["stream#*", "health#*", "org#*"] },
      ]
      secret_actions = ["secretsmanager:GetSecretValue"]
      queue_actions  = []
    }
  }
  delivery_bus_actions = ["events:PutEvents"]

  push_queue = {
    batch_size                  = 100
    max_batching_window_seconds = 5
    visibility_timeout_seconds  = 180
    max_receive_count           = 5
  }

  partner_rule_pattern  = { source = [{ prefix = "aws.partner/okta.com" }], "detail-type" = ["SystemLog"] }
  delivery_rule_pattern = { source = ["okta-relay"] }

  ingress = jsondecode(file("${path.module}/contract.json")).ingress

  state_partition_key = "pk"
  state_ttl_attribute = "expires_at"

  # Each streaming org's partner event source: its own partner event bus has the same name.
  partner_sources = { for o in var.orgs : o.name => o.partner_event_source if o.partner_event_source != null }
  created_secrets = { for o in var.orgs : o.name => o if o.secret_arn == null }
  org_secret_arns = { for o in var.orgs : o.name => coalesce(o.secret_arn, try(aws_secretsmanager_secret.org[o.name].arn, null)) }

  config = merge(var.relay_settings, local.lake_config, {
    orgs = [for o in var.orgs : merge(
      { name = o.name, secret_arn = local.org_secret_arns[o.name] },
      o.partner_event_source == null ? {} : { partner_event_source = o.partner_event_source },
      { for k, v in o.settings : k => v if k != "sink" },
      local.org_sink_config[o.name],
    )]
  })

  # With the one configuration variable of config.tf (local.config_environment).
  environment = {
    OKTA_RELAY_STATE_TABLE  = aws_dynamodb_table.state.name
    OKTA_RELAY_DELIVERY_BUS = aws_cloudwatch_event_bus.delivery.name
    # The allocator's fixed settings (infra/contract.json): peak RSS at glibc's level.
    MIMALLOC_ARENA_EAGER_COMMIT = "0"
    MIMALLOC_PURGE_DELAY        = "0"
  }
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

resource "aws_dynamodb_table" "state" {
  name         = "${var.name_prefix}-state"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = local.state_partition_key

  attribute {
    name = local.state_partition_key
    type = "S"
  }
  ttl {
    attribute_name = local.state_ttl_attribute
    enabled        = true
  }
  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled     = true
    kms_key_arn = local.kms_key_arn
  }
  lifecycle {
    prevent_destroy = true
  }
  tags = var.tags
}

resource "aws_cloudwatch_event_bus" "delivery" {
  name = "${var.name_prefix}-delivery"
  tags = var.tags
}

# An org without a secret ARN gets an empty secret; put its credentials in it after apply.
resource "aws_secretsmanager_secret" "org" {
  for_each    = local.created_secrets
  name        = "${var.name_prefix}/okta/${each.key}"
  description = "okta-relay: Okta credentials of org ${each.key}"
  kms_key_id  = local.kms_key_arn
  # checkov:skip=CKV2_AWS_57: Okta API tokens and service-app keys are rotated in Okta, not by a rotation Lambda; the relay re-reads the secret after a 401.
  tags = var.tags
}
