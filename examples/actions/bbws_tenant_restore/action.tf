# Load a dump that bbws_tenant_backup wrote back into the tenant's database
# (its tables are replaced by the dumped ones):
#   terraform apply -invoke=action.bbws_tenant_restore.acme -var 'backup_source=s3://…'
variable "backup_source" {
  type        = string
  description = "The s3:// key a bbws_tenant_backup reported."
}

action "bbws_tenant_restore" "acme" {
  config {
    tenant_id = bbws_tenant.acme.tenant_id
    source    = var.backup_source
    # A dump of another tenant (copying a site) is refused unless:
    # allow_other_tenant = true
  }
}
