# Replace every task of a tenant with a new deployment of the revision it runs:
#   terraform apply -invoke=action.bbws_tenant_restart.acme
action "bbws_tenant_restart" "acme" {
  config {
    tenant_id = bbws_tenant.acme.tenant_id
  }
}
