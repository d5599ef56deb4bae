# One org with Log Streaming and three directory streams, delivering to a SIEM with an API key.
#   make package && cd infra/terraform/examples/basic && terraform init && terraform apply
provider "aws" {
  region = "us-east-1"
}

module "okta_relay" {
  source            = "../.."
  package_directory = "${path.root}/../../../../target/lambda"
  orgs = [{
    name                 = "example"
    secret_arn           = "arn:aws:secretsmanager:us-east-1:123456789012:secret:okta/example-AbCdEf"
    partner_event_source = "aws.partner/okta.com/example-org/okta-relay"
    settings = {
      logs      = { interval_seconds = 3600 }
      inventory = { users = {}, groups = {}, group_members = {} }
    }
  }]
  siem_endpoint = "https://siem.example.com/ingest/okta"
  siem_auth = {
    kind        = "api_key"
    header_name = "Authorization"
    secret_arn  = "arn:aws:secretsmanager:us-east-1:123456789012:secret:siem-key-AbCdEf"
  }
}

output "okta_relay" {
  value = module.okta_relay
}
