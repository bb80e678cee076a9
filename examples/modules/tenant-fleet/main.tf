# A fleet of bbws tenants from a map or a YAML file, with per-tier defaults.
locals {
  from_yaml = var.tenants_yaml == null ? {} : {
    for key, t in yamldecode(var.tenants_yaml) : key => {
      name          = t.name
      contact_email = t.contact_email
      tenant_id     = tostring(t.tenant_id)
      subdomain     = try(t.subdomain, null)
      tier          = try(t.tier, "starter")
      status        = try(t.status, "active")
      php_version   = try(t.php_version, null)
    }
  }
  tenants = merge(var.tenants, local.from_yaml)

  tiers = {
    starter      = { desired_count = 1, log_retention_days = 14 }
    professional = { desired_count = 2, log_retention_days = 30 }
    enterprise   = { desired_count = 3, log_retention_days = 90 }
  }
}

resource "bbws_tenant" "this" {
  for_each = local.tenants

  name               = each.value.name
  contact_email      = each.value.contact_email
  tenant_id          = each.value.tenant_id
  subdomain          = each.value.subdomain
  tier               = each.value.tier
  status             = each.value.status
  php_version        = each.value.php_version
  desired_count      = local.tiers[each.value.tier].desired_count
  log_retention_days = local.tiers[each.value.tier].log_retention_days
  tags               = merge(var.tags, { fleet-key = each.key })
}
