resource "aws_cloudwatch_log_group" "relay" {
  for_each          = local.functions
  name              = "/aws/lambda/${var.name_prefix}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "relay" {
  # checkov:skip=CKV_AWS_117: No VPC: the functions only make outbound calls (Okta over the internet, AWS public endpoints); a VPC adds a NAT gateway and no control over inbound traffic, of which there is none.
  # checkov:skip=CKV_AWS_116: The events function is invoked by its SQS queue's event source mapping (the queue's redrive policy to the events DLQ is where failed events go); the poller's scheduled event carries no data to keep, and a failed run resumes from its cursor.
  # checkov:skip=CKV_AWS_272: Code signing needs a signing profile the deployer owns; the zips are built from this repository by make package.
  # checkov:skip=CKV_AWS_50: X-Ray tracing is optional; the functions log one structured line per page and per run.
  for_each      = local.functions
  function_name = "${var.name_prefix}-${each.key}"
  description   = "okta-relay ${each.key} function"
  role          = aws_iam_role.relay[each.key].arn
  runtime       = local.runtime
  architectures = [local.architecture]
  handler       = local.handler
  filename      = "${var.package_directory}/${each.value.binary}/bootstrap.zip"
  memory_size   = each.value.memory_mb
  timeout       = each.value.timeout_seconds
  kms_key_arn   = local.kms_key_arn
  # One poller per org at a time (each org has its own schedule; leases make overlap safe);
  # the events function is capped.
  reserved_concurrent_executions = each.key == "poller" ? length(var.orgs) : var.events_concurrency
  source_code_hash               = filebase64sha256("${var.package_directory}/${each.value.binary}/bootstrap.zip")

  environment {
    variables = merge(local.environment, local.config_environment)
  }
  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.relay[each.key].name
  }
  lifecycle {
    # An org's sink names a stream this module creates (var.firehose).
    precondition {
      condition     = alltrue([for name, sink in local.org_sink : sink == "event_bus" || contains(keys(local.firehose_streams), sink)])
      error_message = "orgs[].settings.sink: siem_stream needs firehose.siem, archive_stream needs firehose.archive = true."
    }
  }
  tags = var.tags
}

# The poller's schedule is not retried (the next schedule resumes from the cursor), and a
# throttled invocation older than a schedule period is dropped: the next schedule comes anyway.
resource "aws_lambda_function_event_invoke_config" "poller" {
  function_name                = aws_lambda_function.relay["poller"].function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 300
}

moved {
  from = aws_lambda_function_event_invoke_config.relay["poller"]
  to   = aws_lambda_function_event_invoke_config.poller
}

