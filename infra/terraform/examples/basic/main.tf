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
  # OCSF Parquet to Amazon Security Lake, with the custom sources created here.
  security_lake = {
    bucket      = "aws-security-data-lake-us-east-1-examplehash0123"
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    custom_sources = {
      crawler_role_arn = "arn:aws:iam::123456789012:role/okta-relay-lake-crawler"
      external_id      = "okta-relay-example"
    }
  }
}

output "okta_relay" {
  value = module.okta_relay
}
