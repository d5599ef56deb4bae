output "state_table_name" {
  description = "The DynamoDB state table."
  value       = aws_dynamodb_table.state.name
}

output "delivery_bus_name" {
  description = "The EventBridge delivery bus."
  value       = aws_cloudwatch_event_bus.delivery.name
}

output "events_function_name" {
  description = "The events function."
  value       = aws_lambda_function.relay["events"].function_name
}

output "poller_function_name" {
  description = "The poller function."
  value       = aws_lambda_function.relay["poller"].function_name
}

output "delivery_dlq_url" {
  description = "Records the SIEM did not accept."
  value       = aws_sqs_queue.dlq["delivery"].url
}

output "events_dlq_url" {
  description = "Partner events the events function could not take."
  value       = aws_sqs_queue.dlq["events"].url
}

output "push_queue_url" {
  description = "The partner events' queue, the events function's event source."
  value       = aws_sqs_queue.push.url
}

output "siem_connection_name" {
  description = "The EventBridge connection whose credentials are set from the SIEM secret after apply."
  value       = aws_cloudwatch_event_connection.siem.name
}

output "org_secret_arns" {
  description = "Each org's secret ARN (created empty when not given)."
  value       = local.org_secret_arns
}

output "firehose_streams" {
  description = "The Firehose streams by the sink that names them (siem_stream, archive_stream): name and ARN."
  value       = local.firehose_streams
}

output "archive_bucket" {
  description = "The archive bucket (with var.firehose): the archive stream's records and the SIEM stream's failed deliveries."
  value       = local.archive_bucket
}

output "archive_table" {
  description = "The archive's Glue database and table, for Athena (with firehose.archive)."
  value       = local.archive ? "${aws_glue_catalog_database.archive[0].name}.${aws_glue_catalog_table.archive[0].name}" : null
}
