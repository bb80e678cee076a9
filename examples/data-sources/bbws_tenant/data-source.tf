# One tenant's parts, status and health.
data "bbws_tenant" "acme" {
  tenant_id = "123456789012"
}

output "acme_health" {
  value = {
    status             = data.bbws_tenant.acme.status
    running            = "${data.bbws_tenant.acme.running_count}/${data.bbws_tenant.acme.desired_count}"
    database_reachable = data.bbws_tenant.acme.database_reachable
    health             = data.bbws_tenant.acme.health
    health_checks      = data.bbws_tenant.acme.health_checks
    http_status        = data.bbws_tenant.acme.http_status
    service_arn        = data.bbws_tenant.acme.service_arn
  }
}
