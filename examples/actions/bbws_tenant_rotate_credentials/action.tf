# Quarterly rotation, from a scheduled pipeline:
#   terraform apply -invoke=action.bbws_tenant_rotate_credentials.acme
action "bbws_tenant_rotate_credentials" "acme" {
  config {
    tenant_id                    = bbws_tenant.acme.tenant_id
    steady_state_timeout_seconds = 900
  }
}
