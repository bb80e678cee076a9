# Every tenant of the environment, and just the suspended ones.
data "bbws_tenants" "all" {}

data "bbws_tenants" "suspended" {
  status = "suspended"
}

output "tenant_urls" {
  value = { for t in data.bbws_tenants.all.tenants : t.tenant_id => t.url }
}

output "suspended_ids" {
  value = data.bbws_tenants.suspended.tenant_ids
}
