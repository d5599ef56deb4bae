# The alarms, as data: both DLQs not empty, either function's errors, and per org the System Log
# lag, failing streams, overdue streams and quarantined (poison) records (metrics the functions publish in
# Embedded Metric Format).
locals {
  alarm_actions = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  # Delivery to the SIEM (contract.json delivery_alarms, which the CDK construct renders too).
  delivery_alarms = jsondecode(file("${path.module}/contract.json")).delivery_alarms
  # Each rule-metric alarm's metrics, per delivery rule: "<id>_<rule>" (summed in the alarm).
  delivery_alarm_metrics = { for k in ["siem_failing", "delivery_failed", "dlq_send_failed"] : k => merge([
    for id, metric in local.delivery_alarms[k].metrics : {
      for rule in keys(local.delivery_rules) : "${id}_${rule}" => { id = id, metric = metric, rule = rule }
    }
  ]...) }
  alarms = merge(
    { for q, d in {
      delivery = "records the SIEM did not accept (redrive the DLQ). Runbook: docs/operate.md#alarm-delivery-dlq"
      events   = "partner events the events function could not take. Runbook: docs/operate.md#alarm-events-dlq"
      } : "${q}-dlq" => {
      description = d, namespace = "AWS/SQS", metric = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.dlq[q].name }, statistic = "Maximum", period = 300, threshold = 1, missing = "notBreaching"
    } },
    { for f in keys(local.functions) : "${f}-errors" => {
      description = "${f} function errors. Runbook: docs/operate.md#alarm-function-errors", namespace = "AWS/Lambda", metric = "Errors"
      dimensions  = { FunctionName = aws_lambda_function.relay[f].function_name }, statistic = "Sum", period = 300, threshold = 1, missing = "notBreaching"
    } },
    { for o in var.orgs : "${o.name}-lag" => {
      description = "System Log lag of org ${o.name}. Runbook: docs/operate.md#alarm-lag", namespace = "OktaRelay", metric = "LagSeconds"
      dimensions  = { Org = o.name, Stream = "logs" }, statistic = "Maximum", period = 900, threshold = var.lag_alarm_seconds, missing = "notBreaching"
    } },
    { for o in var.orgs : "${o.name}-stream-errors" => {
      description = "failing streams of org ${o.name}. Runbook: docs/operate.md#alarm-stream-errors", namespace = "OktaRelay", metric = "StreamErrors"
      dimensions  = { Org = o.name }, statistic = "Sum", period = 900, threshold = 3, missing = "notBreaching"
    } },
    { for o in var.orgs : "${o.name}-overdue" => {
      description = "a stream of org ${o.name} did not succeed within its interval plus overdue_slack_seconds, or the poller did not run for the org at all. Runbook: docs/operate.md#alarm-overdue"
      namespace   = "OktaRelay", metric = "Overdue"
      dimensions  = { Org = o.name }, statistic = "Maximum", period = 900, threshold = 1
      # No data: no poller invocation for the org in 15 minutes (a disabled schedule, a poller
      # that cannot start or is throttled).
      missing = "breaching"
    } },
    { (local.delivery_alarms.push_queue_age.name) = {
      description = "${local.delivery_alarms.push_queue_age.description}. Runbook: docs/operate.md#${local.delivery_alarms.push_queue_age.runbook}"
      namespace   = "AWS/SQS", metric = "ApproximateAgeOfOldestMessage", dimensions = { QueueName = aws_sqs_queue.push.name }
      statistic   = "Maximum", period = local.delivery_alarms.push_queue_age.period_seconds, threshold = local.delivery_alarms.push_queue_age.threshold, missing = "notBreaching"
    } },
    # Each Firehose stream: its oldest record not yet delivered (contract.json firehose.alarms).
    { for k, s in local.firehose_streams : local.firehose_spec.alarms[trimsuffix(k, "_stream")].name => {
      description = "${local.firehose_spec.alarms[trimsuffix(k, "_stream")].description}. Runbook: docs/operate.md#${local.firehose_spec.alarms[trimsuffix(k, "_stream")].runbook}"
      namespace   = "AWS/Firehose", metric = local.firehose_spec.alarms[trimsuffix(k, "_stream")].metric, dimensions = { DeliveryStreamName = s.name }
      statistic   = "Maximum", period = local.firehose_spec.alarms.period_seconds, threshold = local.firehose_spec.alarms[trimsuffix(k, "_stream")].freshness_seconds, missing = "notBreaching"
    } },
    # The lake from staging (contract.json security_lake.staging.alarms).
    { for k, v in {
      "lake-staged-age" = {
        description = "staged Security Lake events have waited an hour past the write interval: the poller is not writing the lake from staging. Runbook: docs/operate.md#alarm-lake-staging"
        namespace   = "OktaRelay", metric = "LakeStagedAgeSeconds", dimensions = { Stream = "lake" }
        statistic   = "Maximum", period = local.lake_staging.alarms.period_seconds, missing = "notBreaching"
        threshold   = try(local.lake.write_interval_seconds, 0) + local.lake_staging.alarms.staged_age.slack_seconds
      }
      "lake-write-errors" = {
        description = "writing the Security Lake from staging failed 3 times within 45 minutes (the lake's bucket, key or provider roles). Runbook: docs/operate.md#alarm-lake-staging"
        namespace   = "OktaRelay", metric = "LakeWriteErrors", dimensions = { Stream = "lake" }
        statistic   = "Sum", period = local.lake_staging.alarms.write_errors.errors_period_seconds, missing = "notBreaching"
        threshold   = local.lake_staging.alarms.write_errors.threshold
      }
    } : k => v if local.lake != null },
    { for o in var.orgs : "${o.name}-quarantined" => {
      description = "records of org ${o.name} forwarded as quarantine markers. Runbook: docs/operate.md#alarm-quarantined"
      namespace   = "OktaRelay", metric = "Quarantined"
      dimensions  = { Org = o.name }, statistic = "Sum", period = 900, threshold = 1, missing = "notBreaching"
    } },
  )
}

resource "aws_cloudwatch_metric_alarm" "relay" {
  for_each            = local.alarms
  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = "okta-relay: ${each.value.description}"
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = each.value.missing
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# Delivery to the SIEM, as metric math over the delivery rules: the share of attempts that
# failed each minute (EventBridge retries a failing SIEM for 24 hours before the DLQ hears of
# it), invocations that failed for good, records that could not be put in the DLQ.
resource "aws_cloudwatch_metric_alarm" "delivery" {
  for_each            = local.delivery_alarm_metrics
  alarm_name          = "${var.name_prefix}-${local.delivery_alarms[each.key].name}"
  alarm_description   = "okta-relay: ${local.delivery_alarms[each.key].description}. Runbook: docs/operate.md#${local.delivery_alarms[each.key].runbook}"
  evaluation_periods  = local.delivery_alarms[each.key].datapoints
  datapoints_to_alarm = local.delivery_alarms[each.key].datapoints
  threshold           = local.delivery_alarms[each.key].threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags

  metric_query {
    id          = "result"
    expression  = local.delivery_alarms[each.key].expression
    label       = local.delivery_alarms[each.key].label
    return_data = true
  }
  # Each metric id of the contract's expression: the sum over the delivery rules.
  dynamic "metric_query" {
    for_each = local.delivery_alarms[each.key].metrics
    content {
      id         = metric_query.key
      expression = join(" + ", [for rule in keys(local.delivery_rules) : "FILL(${metric_query.key}_${rule}, 0)"])
    }
  }
  dynamic "metric_query" {
    for_each = each.value
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/Events"
        metric_name = metric_query.value.metric
        dimensions = {
          EventBusName = aws_cloudwatch_event_bus.delivery.name
          RuleName     = aws_cloudwatch_event_rule.delivery[metric_query.value.rule].name
        }
        stat   = "Sum"
        period = local.delivery_alarms[each.key].period_seconds
      }
    }
  }
}
