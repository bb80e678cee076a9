# Tenants from a map and from a YAML file, through the tenant-fleet module.
module "fleet" {
  source = "../modules/tenant-fleet"

  tenants = {
    acme = {
      name          = "ACME Corporation"
      contact_email = "ops@acme.example"
      tenant_id     = "123456789012"
      subdomain     = "acme"
      tier          = "professional"
    }
  }
  tenants_yaml = file("${path.module}/tenants.yaml")
  tags         = { cost-center = "42" }
}

output "urls" {
  value = module.fleet.urls
}
