# Dead-letter queues: partner events the events function could not take, and records the SIEM
# did not accept. Encrypted with the relay key, TLS only, kept 14 days.
resource "aws_sqs_queue" "dlq" {
  for_each                  = toset(["events", "delivery"])
  name                      = "${var.name_prefix}-${each.key}-dlq"
  message_retention_seconds = 1209600
  kms_master_key_id         = aws_kms_key.relay.arn
}

# The rules whose targets dead-letter into each queue: only they may send to it.
locals {
  dlq_source_rules = {
    events   = aws_cloudwatch_event_rule.partner[*].arn
    delivery = [aws_cloudwatch_event_rule.delivery.arn]
  }
}

data "aws_iam_policy_document" "dlq" {
  for_each = aws_sqs_queue.dlq
  dynamic "statement" {
    for_each = length(local.dlq_source_rules[each.key]) > 0 ? [1] : []
    content {
      sid       = "EventBridgeDeadLetters"
      actions   = ["sqs:SendMessage"]
      resources = [each.value.arn]
      principals {
        type        = "Service"
        identifiers = ["events.amazonaws.com"]
      }
      condition {
        test     = "ArnEquals"
        variable = "aws:SourceArn"
        values   = local.dlq_source_rules[each.key]
      }
    }
  }
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [each.value.arn]
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

resource "aws_sqs_queue_policy" "dlq" {
  for_each  = aws_sqs_queue.dlq
  queue_url = each.value.id
  policy    = data.aws_iam_policy_document.dlq[each.key].json
}

# Push path: the rule on the Okta partner bus, to the events function, with retries, a maximum
# age and the DLQ.
resource "aws_cloudwatch_event_rule" "partner" {
  count          = var.partner_event_bus_name == null ? 0 : 1
  name           = "${var.name_prefix}-partner"
  description    = "okta-relay: Okta Log Streaming events to the events function"
  event_bus_name = var.partner_event_bus_name
  event_pattern  = jsonencode(local.partner_rule_pattern)
  lifecycle {
    precondition {
      condition     = !local.streaming || var.partner_event_bus_name != null
      error_message = "An org has partner_event_source but partner_event_bus_name is not set."
    }
  }
}

resource "aws_cloudwatch_event_target" "partner" {
  count          = length(aws_cloudwatch_event_rule.partner)
  rule           = aws_cloudwatch_event_rule.partner[0].name
  event_bus_name = var.partner_event_bus_name
  arn            = aws_lambda_function.relay["events"].arn
  retry_policy {
    maximum_retry_attempts       = 185
    maximum_event_age_in_seconds = 86400
  }
  dead_letter_config {
    arn = aws_sqs_queue.dlq["events"].arn
  }
}

resource "aws_lambda_permission" "partner" {
  count         = length(aws_cloudwatch_event_rule.partner)
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.relay["events"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.partner[0].arn
}

# Pull path: the schedule. Overlap is handled by the stream leases.
resource "aws_cloudwatch_event_rule" "schedule" {
  name                = "${var.name_prefix}-poll"
  description         = "okta-relay: poll Okta"
  schedule_expression = var.poll_schedule_expression
}

resource "aws_cloudwatch_event_target" "schedule" {
  rule = aws_cloudwatch_event_rule.schedule.name
  arn  = aws_lambda_function.relay["poller"].arn
  retry_policy {
    maximum_retry_attempts       = 0
    maximum_event_age_in_seconds = 60
  }
}

resource "aws_lambda_permission" "schedule" {
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.relay["poller"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule.arn
}

# Delivery: the delivery bus rule to the SIEM's API destination, through a connection.
# The connection is created with a placeholder credential and Terraform ignores later changes:
# set the real one from siem_auth.secret_arn after apply (README), so it never enters state.
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

resource "aws_cloudwatch_event_rule" "delivery" {
  name           = "${var.name_prefix}-to-siem"
  description    = "okta-relay: forwarded records to the SIEM"
  event_bus_name = aws_cloudwatch_event_bus.delivery.name
  event_pattern  = jsonencode(local.delivery_rule_pattern)
}

resource "aws_iam_role" "delivery" {
  name = "${var.name_prefix}-to-siem"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "events.amazonaws.com" } }]
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
  rule           = aws_cloudwatch_event_rule.delivery.name
  event_bus_name = aws_cloudwatch_event_bus.delivery.name
  arn            = aws_cloudwatch_event_api_destination.siem.arn
  role_arn       = aws_iam_role.delivery.arn
  input_path     = var.siem_receives_okta_object_only ? "$.detail.okta" : null
  retry_policy {
    maximum_retry_attempts       = 185
    maximum_event_age_in_seconds = 86400
  }
  dead_letter_config {
    arn = aws_sqs_queue.dlq["delivery"].arn
  }
}
