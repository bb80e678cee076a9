# `terraform query` lists the environment's tenants;
# `terraform query -generate-config-out=tenants.tf` writes an import block
# and a resource block for each.
list "bbws_tenant" "all" {
  provider         = bbws
  include_resource = true

  # Optional filters.
  config {
    status = "active"
  }
}
