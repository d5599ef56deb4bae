variable "region" {
  description = "The AWS Region to deploy in (the Region of the org's Log Streaming, if any)."
  type        = string
}

variable "package_directory" {
  description = "The functions' zips: <release>/lambda from make release, or target/lambda from make package."
  type        = string
}

variable "org_name" {
  description = "The org's name in the relay (records carry it)."
  type        = string
  default     = "acme"
}

variable "org_secret_arn" {
  description = "The ARN of the org's Okta secret in Secrets Manager (docs/deploy.md, step 1)."
  type        = string
}

variable "partner_event_source" {
  description = "The org's Log Streaming partner event source (aws.partner/okta.com/...), for push; null for pull only."
  type        = string
  default     = null
}

variable "siem_endpoint" {
  description = "Your SIEM's HTTPS ingestion URL."
  type        = string
}

variable "siem_secret_arn" {
  description = "The ARN of the secret holding the SIEM's API key."
  type        = string
}

variable "security_lake_bucket" {
  description = "The Security Lake bucket (aws-security-data-lake-<region>-<id>); null keeps the lake off."
  type        = string
  default     = null
}

variable "security_lake_key_arn" {
  description = "The lake's KMS key, when Security Lake encrypts with one."
  type        = string
  default     = null
}
