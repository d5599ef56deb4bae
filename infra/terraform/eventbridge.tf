# Dead-letter queues: partner events the events function could not take, and records the SIEM
# did not accept. Encrypted with the relay key, TLS only, kept 14 days.
resource "aws_sqs_queue" "dlq" {
  for_each                  = toset(["events", "delivery"])
  name                      = "${var.name_prefix}-${each.key}-dlq"
  message_retention_seconds = 1209600
  kms_master_key_id         = local.kms_key_arn
  tags                      = var.tags
}

# Push path: per streaming org, a rule on the org's own partner event bus (named after its
# partner event source), to the push queue, with retries, a maximum age and the DLQ; the queue
# invokes the events function in batches.
resource "aws_cloudwatch_event_rule" "partner" {
  for_each       = local.partner_sources
  name           = "${var.name_prefix}-partner-${each.key}"
  description    = "okta-relay: Okta Log Streaming events of org ${each.key} to the events function"
  event_bus_name = each.value
  event_pattern  = jsonencode(local.partner_rule_pattern)
  lifecycle {
    precondition {
      condition     = length("${var.name_prefix}-partner-${each.key}") <= 64
      error_message = "The rule name ${var.name_prefix}-partner-${each.key} is longer than 64 characters: shorten name_prefix or the org's name."
    }
  }
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "partner" {
  for_each       = local.partner_sources
  rule           = aws_cloudwatch_event_rule.partner[each.key].name
  event_bus_name = each.value
  arn            = aws_sqs_queue.push.arn
  retry_policy {
    maximum_retry_attempts       = 185
    maximum_event_age_in_seconds = 86400
  }
  dead_letter_config {
    arn = aws_sqs_queue.dlq["events"].arn
  }
}

# The push queue: partner events wait here for the events function, which takes them in
# batches and answers with the messages to deliver again; a message that failed
# max_receive_count times moves to the events DLQ.
resource "aws_sqs_queue" "push" {
  name                       = "${var.name_prefix}-push"
  kms_master_key_id          = local.kms_key_arn
  visibility_timeout_seconds = local.push_queue.visibility_timeout_seconds
  message_retention_seconds  = 1209600 # 14 days, as long as SQS keeps anything
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq["events"].arn
    maxReceiveCount     = local.push_queue.max_receive_count
  })
  tags = var.tags
}

# Who may send to each queue: only the rules that target it (the partner rule the push queue,
# each rule its dead-letter queue), and only over TLS.
locals {
  queue_senders = {
    push = {
      queue = aws_sqs_queue.push
      rules = [for r in aws_cloudwatch_event_rule.partner : r.arn]
    }
    events_dlq = {
      queue = aws_sqs_queue.dlq["events"]
      rules = [for r in aws_cloudwatch_event_rule.partner : r.arn]
    }
    delivery_dlq = {
      queue = aws_sqs_queue.dlq["delivery"]
      rules = [for r in aws_cloudwatch_event_rule.delivery : r.arn]
    }
  }
}

data "aws_iam_policy_document" "queue" {
  for_each = local.queue_senders
  dynamic "statement" {
    for_each = length(each.value.rules) > 0 ? [1] : []
    content {
      sid       = "EventBridgeRules"
      actions   = ["sqs:SendMessage"]
      resources = [each.value.queue.arn]
      principals {
        type        = "Service"
        identifiers = ["events.amazonaws.com"]
      }
      condition {
        test     = "ArnEquals"
        variable = "aws:SourceArn"
        values   = each.value.rules
      }
    }
  }
  # Nobody else sends to the push queue, whatever their IAM policies allow (contract.json
  # ingress): only the partner rules, and the operators who move the events DLQ back.
  dynamic "statement" {
    for_each = each.key == "push" ? [1] : []
    content {
      sid       = local.ingress.push_queue_deny_sid
      effect    = "Deny"
      actions   = ["sqs:SendMessage"]
      resources = [each.value.queue.arn]
      principals {
        type        = "AWS"
        identifiers = ["*"]
      }
      dynamic "condition" {
        for_each = length(each.value.rules) > 0 ? [1] : []
        content {
          test     = "ArnNotEquals"
          variable = "aws:SourceArn"
          values   = each.value.rules
        }
      }
      dynamic "condition" {
        for_each = length(var.operator_principal_arns) > 0 ? [1] : []
        content {
          test     = "ArnNotLike"
          variable = "aws:PrincipalArn"
          values   = var.operator_principal_arns
        }
      }
    }
  }
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [each.value.queue.arn]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

# Only the relay's functions, and the operators who redrive the delivery DLQ, put records on the
# delivery bus (contract.json ingress).
data "aws_iam_policy_document" "delivery_bus" {
  statement {
    sid       = local.ingress.delivery_bus_deny_sid
    effect    = "Deny"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.delivery.arn]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "ArnNotLike"
      variable = "aws:PrincipalArn"
      values   = concat([for r in aws_iam_role.relay : r.arn], var.operator_principal_arns)
    }
  }
}

resource "aws_cloudwatch_event_bus_policy" "delivery" {
  event_bus_name = aws_cloudwatch_event_bus.delivery.name
  policy         = data.aws_iam_policy_document.delivery_bus.json
}

resource "aws_sqs_queue_policy" "queue" {
  for_each  = local.queue_senders
  queue_url = each.value.queue.id
  policy    = data.aws_iam_policy_document.queue[each.key].json
}

# The DLQ policies were named "dlq" before the push queue joined them: moved, not replaced, so
# an upgrade never leaves a DLQ without its policy (EventBridge could not dead-letter into it).
moved {
  from = aws_sqs_queue_policy.dlq["events"]
  to   = aws_sqs_queue_policy.queue["events_dlq"]
}

moved {
  from = aws_sqs_queue_policy.dlq["delivery"]
  to   = aws_sqs_queue_policy.queue["delivery_dlq"]
}

resource "aws_lambda_event_source_mapping" "push" {
  event_source_arn                   = aws_sqs_queue.push.arn
  function_name                      = aws_lambda_function.relay["events"].arn
  batch_size                         = var.push_batch_size
  maximum_batching_window_in_seconds = var.push_batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]
  # No more concurrent batches than the function's reserved concurrency: a throttled batch
  # counts as a receive, and five of those would send events nobody read to the DLQ.
  scaling_config {
    maximum_concurrency = var.events_concurrency
  }
  # The role must be allowed to read the queue before the mapping is created.
  depends_on = [aws_iam_role_policy.relay]
}

# Pull path: one EventBridge Scheduler schedule per org, whose input names the org, so each org
# polls in an invocation of its own (a slow org never holds up another). Overlap is handled by
# the stream leases; a missed run is not retried (the next schedule resumes from the cursor).
resource "aws_scheduler_schedule" "poll" {
  for_each                     = { for o in var.orgs : o.name => o }
  name                         = "${var.name_prefix}-poll-${each.key}"
  description                  = "okta-relay: poll Okta org ${each.key}"
  schedule_expression          = var.poll_schedule_expression
  schedule_expression_timezone = "UTC"
  kms_key_arn                  = local.kms_key_arn
  flexible_time_window {
    mode = "OFF"
  }
  target {
    arn      = aws_lambda_function.relay["poller"].arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ org = each.key })
    retry_policy {
      maximum_retry_attempts = 0
    }
  }
  lifecycle {
    precondition {
      condition     = length("${var.name_prefix}-poll-${each.key}") <= 64
      error_message = "The schedule name ${var.name_prefix}-poll-${each.key} is longer than 64 characters: shorten name_prefix or the org's name."
    }
  }
}

# The schedules' role: invoke the poller and read the schedules' input (encrypted with the
# relay's key), nothing else.
resource "aws_iam_role" "scheduler" {
  name = "${var.name_prefix}-scheduler"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "scheduler.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "scheduler" {
  name = "invoke-poller"
  role = aws_iam_role.scheduler.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = "lambda:InvokeFunction"
        Resource = [aws_lambda_function.relay["poller"].arn, "${aws_lambda_function.relay["poller"].arn}:*"]
      },
      {
        Effect   = "Allow"
        Action   = "kms:Decrypt"
        Resource = local.kms_key_arn
      },
    ]
  })
}

# Delivery: the delivery bus rule to the SIEM's API destination, through a connection.
# The connection is created with a placeholder credential and Terraform ignores later changes:
# set the real one from siem_auth.secret_arn after apply (docs/deploy.md), so it never enters state.
resource "aws_cloudwatch_event_connection" "siem" {
  name               = "${var.name_prefix}-siem"
  description        = "okta-relay: SIEM authentication (credential set from ${var.siem_auth.secret_arn})"
  authorization_type = { api_key = "API_KEY", basic = "BASIC", oauth = "OAUTH_CLIENT_CREDENTIALS" }[var.siem_auth.kind]
  auth_parameters {
    dynamic "api_key" {
      for_each = var.siem_auth.kind == "api_key" ? [1] : []
      content {
        key   = var.siem_auth.header_name
        value = "set-after-apply"
      }
    }
    dynamic "basic" {
      for_each = var.siem_auth.kind == "basic" ? [1] : []
      content {
        username = var.siem_auth.username
        password = "set-after-apply"
      }
    }
    dynamic "oauth" {
      for_each = var.siem_auth.kind == "oauth" ? [1] : []
      content {
        authorization_endpoint = var.siem_auth.authorization_endpoint
        http_method            = "POST"
        client_parameters {
          client_id     = var.siem_auth.client_id
          client_secret = "set-after-apply"
        }
        dynamic "oauth_http_parameters" {
          for_each = var.siem_auth.scope == null ? [] : [1]
          content {
            body {
              key   = "scope"
              value = var.siem_auth.scope
            }
          }
        }
      }
    }
  }
  lifecycle {
    ignore_changes = [auth_parameters]
  }
}

resource "aws_cloudwatch_event_api_destination" "siem" {
  name                             = "${var.name_prefix}-siem"
  description                      = "okta-relay: the SIEM"
  invocation_endpoint              = var.siem_endpoint
  http_method                      = "POST"
  invocation_rate_limit_per_second = var.invocation_rate_limit_per_second
  connection_arn                   = aws_cloudwatch_event_connection.siem.arn
}

# One rule sends whole records. With siem_receives_okta_object_only, the records that carry an
# Okta object (contract.json okta_object_detail_types) go as that object alone ("main"), and
# every other record (OCSF events, markers) still goes whole ("whole").
locals {
  okta_object_detail_types = jsondecode(file("${path.module}/contract.json")).okta_object_detail_types
  delivery_rules = merge(
    {
      main = {
        name        = "${var.name_prefix}-to-siem"
        description = var.siem_receives_okta_object_only ? "okta-relay: Okta objects to the SIEM, each alone" : "okta-relay: forwarded records to the SIEM"
        # Patterns as JSON text: the two rules' patterns have different shapes.
        pattern    = var.siem_receives_okta_object_only ? jsonencode(merge(local.delivery_rule_pattern, { "detail-type" = local.okta_object_detail_types })) : jsonencode(local.delivery_rule_pattern)
        input_path = var.siem_receives_okta_object_only ? "$.detail.okta" : null
      }
    },
    var.siem_receives_okta_object_only ? {
      whole = {
        name        = "${var.name_prefix}-to-siem-whole"
        description = "okta-relay: OCSF events and markers to the SIEM, whole"
        pattern     = jsonencode(merge(local.delivery_rule_pattern, { "detail-type" = [{ "anything-but" = local.okta_object_detail_types }] }))
        input_path  = null
      }
    } : {},
  )
}

resource "aws_cloudwatch_event_rule" "delivery" {
  for_each       = local.delivery_rules
  name           = each.value.name
  description    = each.value.description
  event_bus_name = aws_cloudwatch_event_bus.delivery.name
  event_pattern  = each.value.pattern
  tags           = var.tags
}

moved {
  from = aws_cloudwatch_event_rule.delivery
  to   = aws_cloudwatch_event_rule.delivery["main"]
}

# Only the delivery rules may pass this role (a confused deputy elsewhere in EventBridge may not).
resource "aws_iam_role" "delivery" {
  name = "${var.name_prefix}-to-siem"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "events.amazonaws.com" }
      Condition = {
        StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
        ArnEquals    = { "aws:SourceArn" = [for r in aws_cloudwatch_event_rule.delivery : r.arn] }
      }
    }]
  })
}

resource "aws_iam_role_policy" "delivery" {
  name = "${var.name_prefix}-to-siem"
  role = aws_iam_role.delivery.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["events:InvokeApiDestination"], Resource = [aws_cloudwatch_event_api_destination.siem.arn] }]
  })
}

resource "aws_cloudwatch_event_target" "delivery" {
  for_each       = local.delivery_rules
  rule           = aws_cloudwatch_event_rule.delivery[each.key].name
  event_bus_name = aws_cloudwatch_event_bus.delivery.name
  arn            = aws_cloudwatch_event_api_destination.siem.arn
  role_arn       = aws_iam_role.delivery.arn
  input_path     = each.value.input_path
  retry_policy {
    maximum_retry_attempts       = 185
    maximum_event_age_in_seconds = 86400
  }
  dead_letter_config {
    arn = aws_sqs_queue.dlq["delivery"].arn
  }
}

moved {
  from = aws_cloudwatch_event_target.delivery
  to   = aws_cloudwatch_event_target.delivery["main"]
}
