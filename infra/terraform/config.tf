# Where the functions read the relay configuration (var.configuration_store): the JSON itself
# in the environment, an SSM parameter or an S3 object. Each function gets exactly one of the
# variables in local.config_variable (infra/contract.json configuration_variables) and may
# read only that parameter or object.

locals {
  config_json = jsonencode(local.config)
  # The configuration's size at plan time: a secret this module creates has no ARN yet, so it
  # counts at the length of one (the size checks below then run at plan, not mid-apply).
  config_size = length(jsonencode(merge(var.relay_settings, local.lake_config, {
    orgs = [for o in var.orgs : merge(
      { name = o.name, secret_arn = coalesce(o.secret_arn, "arn:aws:secretsmanager:xx-xxxxxxxxx-1:000000000000:secret:${var.name_prefix}/okta/${o.name}-XXXXXX") },
      o.partner_event_source == null ? {} : { partner_event_source = o.partner_event_source },
      o.settings,
    )]
  })))

  config_variable = {
    environment = "OKTA_RELAY_CONFIG"
    parameter   = "OKTA_RELAY_CONFIG_PARAMETER"
    object      = "OKTA_RELAY_CONFIG_OBJECT"
  }
  config_store_actions = {
    environment = []
    parameter   = ["ssm:GetParameter"]
    object      = ["s3:GetObject"]
  }
  # A new configuration is a new key: the functions' environment changes with it, so every
  # execution environment starts on the new object. The new object is written before the old
  # one is deleted (create_before_destroy), so no function reads a key that is gone.
  config_object_key = "${var.name_prefix}/config-${substr(sha256(local.config_json), 0, 16)}.json"

  config_value = {
    environment = local.config_json
    parameter   = try(aws_ssm_parameter.config[0].name, null)
    object      = try("s3://${aws_s3_object.config[0].bucket}/${aws_s3_object.config[0].key}", null)
  }
  config_resource = {
    environment = []
    parameter   = aws_ssm_parameter.config[*].arn
    object      = [for o in aws_s3_object.config : "arn:${data.aws_partition.current.partition}:s3:::${o.bucket}/${o.key}"]
  }
  config_environment = { (local.config_variable[var.configuration_store]) = local.config_value[var.configuration_store] }
}

resource "aws_ssm_parameter" "config" {
  # checkov:skip=CKV2_AWS_34: The configuration holds names and ARNs, never a secret value (credentials live in Secrets Manager); a String parameter keeps it readable in the console.
  count       = var.configuration_store == "parameter" ? 1 : 0
  name        = "/${var.name_prefix}/config"
  description = "okta-relay: the relay configuration (names and ARNs, never a secret value)"
  type        = "String"
  # Standard while it fits, advanced past 4 KB, never a failed downgrade.
  tier  = "Intelligent-Tiering"
  value = local.config_json

  lifecycle {
    precondition {
      condition     = local.config_size <= 8192
      error_message = "The configuration is over an SSM parameter's 8 KB: set configuration_store = \"object\"."
    }
  }
}

resource "aws_s3_object" "config" {
  count                  = var.configuration_store == "object" ? 1 : 0
  bucket                 = var.configuration_bucket
  key                    = local.config_object_key
  content                = local.config_json
  content_type           = "application/json"
  server_side_encryption = "aws:kms"
  kms_key_id             = local.kms_key_arn

  lifecycle {
    create_before_destroy = true
    precondition {
      condition     = var.configuration_bucket != null
      error_message = "configuration_store = \"object\" needs configuration_bucket."
    }
  }
}

resource "terraform_data" "config_size" {
  count = var.configuration_store == "environment" ? 1 : 0
  lifecycle {
    precondition {
      condition     = local.config_size <= 3500
      error_message = "The configuration is over the 3500 bytes Lambda's environment leaves it: set configuration_store = \"parameter\" (up to 8 KB) or \"object\"."
    }
  }
}
