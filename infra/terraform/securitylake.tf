# Amazon Security Lake (var.security_lake): the relay writes OCSF Parquet objects under each
# custom source's location with its own role, so its grant is s3:PutObject on those prefixes
# only, and kms:GenerateDataKey on the lake's key when it has one. The custom sources are
# created here when var.security_lake.custom_sources is set (CloudFormation has no such
# resource; the CDK construct outputs the CLI commands instead).

locals {
  # infra/contract.json security_lake, checked by infra/tests/parity.py.
  lake_object_actions = ["s3:PutObject"]
  lake_key_actions    = ["kms:GenerateDataKey"]
  lake_role_actions   = ["sts:AssumeRole"]
  lake_default_sources = {
    account_change         = "okta-account-change"
    authentication         = "okta-authentication"
    authorize_session      = "okta-authz-session"
    entity_management      = "okta-entity-mgmt"
    user_access_management = "okta-user-access"
    group_management       = "okta-group-mgmt"
    detection_finding      = "okta-detection"
    api_activity           = "okta-api-activity"
    user_inventory_info    = "okta-user-inventory"
    device_inventory_info  = "okta-device-inv"
  }

  lake         = var.security_lake
  lake_sources = local.lake == null ? {} : merge(local.lake_default_sources, local.lake.sources)
  # The lake at its cadence (contract.json security_lake.staging): the functions stage in a
  # bucket of the relay's, the poller writes the lake from there.
  lake_staging = jsondecode(file("${path.module}/contract.json")).security_lake.staging
  lake_config = local.lake == null ? {} : {
    security_lake = merge({
      bucket     = local.lake.bucket
      prefix     = local.lake.prefix
      region     = coalesce(local.lake.region, data.aws_region.current.name)
      account_id = coalesce(local.lake.account_id, data.aws_caller_identity.current.account_id)
      sources    = local.lake_sources
      staging = {
        bucket                 = aws_s3_bucket.relay["lake_staging"].id
        prefix                 = local.lake_staging.prefix
        write_interval_seconds = local.lake.write_interval_seconds
      }
      }, local.lake.bucket_owner == null ? {} : { bucket_owner = local.lake.bucket_owner },
    local.lake.provider_roles == null ? {} : { provider_roles = local.lake.provider_roles }, local.lake.settings)
  }
  lake_object_arns = [
    for s in values(local.lake_sources) :
    "arn:${data.aws_partition.current.partition}:s3:::${try(local.lake.bucket, "")}/${try(local.lake.prefix, "")}${s}/*"
  ]
  # The custom sources to create: one per source name (a location's part before any version).
  lake_custom_sources = try(local.lake.custom_sources, null) == null ? {} : {
    for k, s in local.lake_sources : k => split("/", s)[0]
  }
}

resource "aws_securitylake_custom_log_source" "okta" {
  for_each    = local.lake_custom_sources
  source_name = each.value

  configuration {
    crawler_configuration {
      role_arn = local.lake.custom_sources.crawler_role_arn
    }
    provider_identity {
      principal   = data.aws_caller_identity.current.account_id
      external_id = local.lake.custom_sources.external_id
    }
  }

  lifecycle {
    precondition {
      condition     = length(each.value) <= 20
      error_message = "A Security Lake custom source name is at most 20 characters (CreateCustomLogSource)."
    }
  }
}
