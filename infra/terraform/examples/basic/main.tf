# One org with three directory streams (and Log Streaming when partner_event_source is set),
# delivering to a SIEM with an API key. Nothing is made up: terraform asks for each required
# value (or takes it from terraform.tfvars), and Security Lake is on only when its bucket is set.
#   make release   (or make package)
#   cd infra/terraform/examples/basic && terraform init && terraform apply \
#     -var package_directory=../../../../dist/okta-relay-<version>/lambda
provider "aws" {
  region = var.region
}

module "okta_relay" {
  source            = "../.."
  package_directory = var.package_directory
  orgs = [{
    name                 = var.org_name
    secret_arn           = var.org_secret_arn
    partner_event_source = var.partner_event_source
    settings = {
      logs      = { interval_seconds = 3600 }
      inventory = { users = {}, groups = {}, group_members = {} }
    }
  }]
  siem_endpoint = var.siem_endpoint
  siem_auth = {
    kind        = "api_key"
    header_name = "Authorization"
    secret_arn  = var.siem_secret_arn
  }
  security_lake = var.security_lake_bucket == null ? null : {
    bucket      = var.security_lake_bucket
    kms_key_arn = var.security_lake_key_arn
  }
}

output "okta_relay" {
  value = module.okta_relay
}
