# The alarms, as data: both DLQs not empty, either function's errors, and per org the System Log
# lag, failing streams, overdue streams and quarantined (poison) records (metrics the functions publish in
# Embedded Metric Format).
locals {
  alarm_actions = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
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
