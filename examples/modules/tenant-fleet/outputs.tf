output "urls" {
  description = "Each tenant's URL, by key."
  value       = { for k, t in bbws_tenant.this : k => t.url }
}

output "tenant_ids" {
  description = "Each tenant's id, by key."
  value       = { for k, t in bbws_tenant.this : k => t.tenant_id }
}
