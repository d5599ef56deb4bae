variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "okta-relay"
}

variable "orgs" {
  description = "Okta orgs. secret_arn: the secret with the org URL and credentials (omit to create an empty one). partner_event_source: the org's Log Streaming source, if it streams (its partner event bus has the same name and gets the org's own rule). settings: the org's other configuration fields (logs, inventory, event_types, push), never secret values."
  type = list(object({
    name                 = string
    secret_arn           = optional(string)
    partner_event_source = optional(string)
    settings             = optional(any, {})
  }))
  validation {
    condition     = length(var.orgs) > 0
    error_message = "orgs must name at least one org."
  }
  # Checked at plan time, as the relay checks them at start-up (schemas/config.schema.json).
  validation {
    condition = alltrue([for o in var.orgs : length(setsubtract(try(keys(o.settings), []),
    ["logs", "inventory", "event_types", "push", "output", "sink"])) == 0])
    error_message = "orgs[].settings takes only logs, inventory, event_types, push, output and sink."
  }
  validation {
    condition     = alltrue([for o in var.orgs : contains(["event_bus", "siem_stream", "archive_stream"], try(o.settings.sink, "event_bus"))])
    error_message = "orgs[].settings.sink must be event_bus, siem_stream (needs firehose.siem) or archive_stream (needs firehose.archive = true)."
  }
  validation {
    condition = alltrue([for o in var.orgs : length(setsubtract(try(keys(o.settings.logs), []),
    ["enabled", "page_size", "initial_lookback_hours", "interval_seconds"])) == 0])
    error_message = "orgs[].settings.logs takes only enabled, page_size, initial_lookback_hours and interval_seconds."
  }
  validation {
    condition = alltrue([for o in var.orgs : try(o.settings.logs.page_size, null) == null ? true :
    can(regex("^[0-9]+$", jsonencode(o.settings.logs.page_size))) && try(o.settings.logs.page_size >= 1 && o.settings.logs.page_size <= 1000, false)])
    error_message = "orgs[].settings.logs.page_size must be a whole number from 1 to 1000 (a number, not a string)."
  }
  validation {
    condition     = alltrue([for o in var.orgs : contains(["raw", "ocsf", "both"], try(o.settings.output, "raw"))])
    error_message = "orgs[].settings.output must be raw, ocsf or both."
  }
}

variable "relay_settings" {
  description = "Configuration fields outside orgs (e.g. rate_limit_reserve)."
  type        = any
  default     = {}
}

variable "siem_endpoint" {
  description = "The SIEM's HTTPS endpoint (the API destination)."
  type        = string
}

variable "siem_auth" {
  description = "How EventBridge authenticates to the SIEM: kind = api_key (header_name), basic (username) or oauth (authorization_endpoint, client_id, scope). The credential itself is set on the connection from secret_arn after apply (see docs/deploy.md); it never enters Terraform state."
  type = object({
    kind                   = string
    secret_arn             = string
    header_name            = optional(string)
    username               = optional(string)
    authorization_endpoint = optional(string)
    client_id              = optional(string)
    scope                  = optional(string)
  })
  validation {
    condition     = contains(["api_key", "basic", "oauth"], var.siem_auth.kind)
    error_message = "siem_auth.kind must be api_key, basic or oauth."
  }
}

variable "invocation_rate_limit_per_second" {
  description = "API destination invocations per second, one record each: the daily ceiling is this × 86 400 (100: 8.64 million records a day; see docs/deploy.md)."
  type        = number
  default     = 100
  validation {
    condition     = var.invocation_rate_limit_per_second >= 1 && var.invocation_rate_limit_per_second <= 300
    error_message = "invocation_rate_limit_per_second must be between 1 and 300 (EventBridge's default quota; raise the quota first for more)."
  }
}

variable "push_batch_size" {
  description = "Partner events per invocation of the events function (the push queue's batch size)."
  type        = number
  default     = 100
  validation {
    # Above 10, SQS requires a batching window of at least 1 s.
    condition     = var.push_batch_size >= 1 && var.push_batch_size <= 10000
    error_message = "push_batch_size must be between 1 and 10 000."
  }
}

variable "push_batching_window_seconds" {
  description = "How long the push queue gathers a batch before invoking the events function."
  type        = number
  default     = 5
  validation {
    condition     = var.push_batching_window_seconds >= 0 && var.push_batching_window_seconds <= 300
    error_message = "push_batching_window_seconds must be between 0 and 300."
  }
}

variable "poll_schedule_expression" {
  description = "Each org's poller schedule (one EventBridge Scheduler schedule per org, input {\"org\": name}). Overlapping runs are safe (stream leases)."
  type        = string
  default     = "rate(5 minutes)"
}

variable "log_retention_days" {
  description = "Function log retention in days."
  type        = number
  default     = 365
}

variable "alarm_topic_arn" {
  description = "SNS topic for alarms."
  type        = string
  default     = null
}

variable "siem_receives_okta_object_only" {
  description = "Send each record that carries an Okta object (System Log events, directory objects, inventory changes) as that object alone ($.detail.okta); OCSF events and markers still go whole, on a second rule."
  type        = bool
  default     = false
}

variable "lag_alarm_seconds" {
  description = "Alarm when an org's System Log lag exceeds this."
  type        = number
  default     = 3600
}

variable "events_concurrency" {
  description = "Reserved concurrency of the events function, and the most batches the push queue's event source mapping runs at once."
  type        = number
  default     = 20
  validation {
    condition     = var.events_concurrency >= 2 && var.events_concurrency <= 1000
    error_message = "events_concurrency must be between 2 and 1000 (the event source mapping's maximum concurrency range)."
  }
}

variable "package_directory" {
  description = "Directory holding <binary>/bootstrap.zip (make package)."
  type        = string
}

variable "configuration_store" {
  description = "Where the functions read the configuration: environment (the JSON in OKTA_RELAY_CONFIG; Lambda's 4 KB environment, about 15 orgs), parameter (an SSM parameter this module writes: standard tier up to 4 KB, advanced up to 8 KB, about 35 orgs; re-read every config_reload_seconds) or object (an S3 object this module writes into configuration_bucket, up to 1 MiB)."
  type        = string
  default     = "environment"
  validation {
    condition     = contains(["environment", "parameter", "object"], var.configuration_store)
    error_message = "configuration_store must be environment, parameter or object."
  }
}

variable "configuration_bucket" {
  description = "With configuration_store = object: an existing S3 bucket (versioned, private) the module writes the configuration object into, encrypted with the relay's key."
  type        = string
  default     = null
}

variable "security_lake" {
  description = "OCSF to Amazon Security Lake custom sources, beside the delivery bus (docs/ocsf.md, Security Lake). bucket: the lake's bucket. prefix (default ext/), region and account_id (default this module's): the object layout. bucket_owner: the account owning the bucket (default account_id; set it when the lake is in another account, every put names it). sources: custom source location per class key (its name, or name/version; default infra/contract.json security_lake.sources). kms_key_arn: the lake's key, if it has one. settings: max_buffer_events, max_buffer_bytes, max_buffer_seconds. custom_sources: set to create the custom sources here (aws_securitylake_custom_log_source) with the Glue crawler role and the external id the provider role trusts."
  type = object({
    bucket       = string
    prefix       = optional(string, "ext/")
    region       = optional(string)
    account_id   = optional(string)
    bucket_owner = optional(string)
    sources      = optional(map(string), {})
    kms_key_arn  = optional(string)
    settings     = optional(map(any), {})
    # How often the poller writes the lake from staging (Security Lake: 5 minutes to a day).
    write_interval_seconds = optional(number, 300)
    # A lake in another account: each custom source's provider role, by class key, and the
    # external id their trust names (the poller takes them; no grant on the bucket).
    provider_roles = optional(object({
      external_id = string
      arns        = map(string)
    }))
    custom_sources = optional(object({
      crawler_role_arn = string
      external_id      = string
    }))
  })
  default = null
}

variable "operator_principal_arns" {
  description = "IAM principals (role or user ARNs) that may put records on the delivery bus and send to the push queue besides the relay: the operators who run the redrive procedures of docs/operate.md. Everyone else in the account is denied both, whatever their IAM policies allow."
  type        = list(string)
  default     = []
}

variable "firehose" {
  description = "Batched delivery with Amazon Data Firehose (docs/deploy.md): the streams an org's settings.sink can name. siem: a stream to the SIEM's HTTP endpoint (url; access_key_secret_arn, a secret holding {\"api_key\": ...} that Firehose reads; name) for sink = siem_stream. archive = true: a stream to an S3 archive, gzip NDJSON by org and day with a Glue table, for sink = archive_stream. bucket_name: the archive bucket, also where the SIEM stream backs up what it could not deliver (default: one the module creates)."
  type = object({
    siem = optional(object({
      url                   = string
      access_key_secret_arn = string
      name                  = optional(string, "SIEM")
    }))
    archive     = optional(bool, false)
    bucket_name = optional(string)
  })
  default = null
  validation {
    condition     = try(startswith(var.firehose.siem.url, "https://"), true)
    error_message = "firehose.siem.url must be an https:// URL (Firehose calls only HTTPS endpoints)."
  }
}

variable "tags" {
  description = "Tags for every resource of the module that takes tags."
  type        = map(string)
  default     = {}
}

variable "permissions_boundary" {
  description = "The ARN of an IAM permissions boundary for the functions' roles, if your organisation requires one."
  type        = string
  default     = null
}

variable "kms_key_arn" {
  description = "Your own KMS key for the state table, queues, logs and the functions' environment (default: the module creates one). Its policy must let EventBridge and CloudWatch Logs use it on this account's behalf (kms.tf shows the statements)."
  type        = string
  default     = null
}

variable "vpc_config" {
  description = "Run the functions in your VPC (subnet_ids, security_group_ids): for a fixed egress IP (a NAT gateway's Elastic IP) when Okta restricts the credential to a network zone. The subnets need a route to the internet (Okta) and to the AWS endpoints the functions call."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null
  validation {
    condition     = var.vpc_config == null ? true : length(var.vpc_config.subnet_ids) > 0 && length(var.vpc_config.security_group_ids) > 0
    error_message = "vpc_config needs at least one subnet and one security group."
  }
}
