# One WordPress tenant: ten AWS and MySQL parts, planned and applied as one.
resource "bbws_tenant" "acme" {
  name          = "ACME Corporation"
  contact_email = "ops@acme.example"
  tenant_id     = "123456789012"
  subdomain     = "acme"
  tier          = "professional"

  environment_variables = { WP_DEBUG = "false" }
  tags                  = { cost-center = "42" }
}

output "url" {
  value = bbws_tenant.acme.url
}

output "parts" {
  description = "Each part's state: ok, missing or drifted."
  value       = bbws_tenant.acme.parts
}
