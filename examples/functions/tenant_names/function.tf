# The names of one tenant's parts, for policies, dashboards and alarms that
# module authors write against them (no AWS call, no provider configuration).
locals {
  acme = provider::bbws::tenant_names("dev", "123456789012")
}

# A migration job's policy: this tenant's secret and log group, nothing else.
output "acme_job_policy" {
  value = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = "arn:aws:secretsmanager:*:*:secret:${local.acme.secret}-*"
      },
      {
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "arn:aws:logs:*:*:log-group:${local.acme.log_group}:*"
      },
    ]
  })
}

output "acme_service" {
  value = local.acme.service
}
