# The operations dashboard: infra/contract.json's `dashboard`, the data the CDK construct renders
# too (the module carries its own copy of the contract, checked equal by parity.py, so it works
# from a registry or a git source on its own). Per org: lag,
# records per minute by path, duplicates, Okta rate-limit headroom, errors by whose fault,
# quarantined; and the DLQ depths.
locals {
  dashboard = jsondecode(file("${path.module}/contract.json")).dashboard
  dashboard_names = {
    "{region}"             = data.aws_region.current.id
    "{queue:delivery_dlq}" = aws_sqs_queue.dlq["delivery"].name
    "{queue:events_dlq}"   = aws_sqs_queue.dlq["events"].name
    "{queue:push}"         = aws_sqs_queue.push.name
  }
  # Blocks of widgets as JSON text, each starting on a row of its own: shared, then per org.
  dashboard_blocks = concat(
    [[for w in local.dashboard.shared_widgets : jsonencode(w)]],
    [for o in var.orgs : [for w in local.dashboard.org_widgets : replace(jsonencode(w), "{org}", o.name)]],
  )
  dashboard_rows = [for b in local.dashboard_blocks : ceil(length(b) / local.dashboard.per_row)]
  dashboard_widgets = flatten([
    for b, block in local.dashboard_blocks : [
      for i, text in block : merge(
        jsondecode(replace(replace(replace(replace(text,
          "{region}", local.dashboard_names["{region}"]),
          "{queue:delivery_dlq}", local.dashboard_names["{queue:delivery_dlq}"]),
          "{queue:events_dlq}", local.dashboard_names["{queue:events_dlq}"]),
        "{queue:push}", local.dashboard_names["{queue:push}"])),
        {
          x      = (i % local.dashboard.per_row) * local.dashboard.widget_width
          y      = (sum(concat([0], slice(local.dashboard_rows, 0, b))) + floor(i / local.dashboard.per_row)) * local.dashboard.widget_height
          width  = local.dashboard.widget_width
          height = local.dashboard.widget_height
        },
      )
    ]
  ])
}

resource "aws_cloudwatch_dashboard" "relay" {
  dashboard_name = "${var.name_prefix}-operations"
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
