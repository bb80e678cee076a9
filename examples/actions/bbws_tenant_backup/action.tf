# Dump a tenant's database to the provider's backup bucket
# (provider "bbws" { backup { bucket = "…"  prefix = "tenants/" } }):
#   terraform apply -invoke=action.bbws_tenant_backup.acme
# The last progress line names the object: s3://{bucket}/{prefix}{env}/{tenant_id}/{timestamp}.sql.gz
action "bbws_tenant_backup" "acme" {
  config {
    tenant_id = bbws_tenant.acme.tenant_id
  }
}
