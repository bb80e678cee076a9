# `terraform test` for the module without AWS: the bbws provider is mocked
# (its schema still comes from the provider, so typos fail here too).
mock_provider "bbws" {
  mock_resource "bbws_tenant" {
    defaults = {
      url = "https://mocked.example.io"
    }
  }
}

variables {
  tenants = {
    acme = {
      name          = "ACME"
      contact_email = "ops@acme.example"
      tenant_id     = "100000000001"
      tier          = "professional"
    }
  }
}

run "one_tenant_per_entry_with_tier_defaults" {
  command = plan

  assert {
    condition     = length(bbws_tenant.this) == 1
    error_message = "one tenant per map entry"
  }
  assert {
    condition     = bbws_tenant.this["acme"].desired_count == 2 && bbws_tenant.this["acme"].log_retention_days == 30
    error_message = "professional tier defaults"
  }
}

run "yaml_tenants_are_merged" {
  command = apply

  variables {
    tenants_yaml = <<-YAML
      globex:
        name: Globex
        contact_email: it@globex.example
        tenant_id: "100000000002"
        tier: enterprise
        status: suspended
    YAML
  }

  assert {
    condition     = length(bbws_tenant.this) == 2
    error_message = "map and YAML tenants together"
  }
  assert {
    condition     = bbws_tenant.this["globex"].desired_count == 3 && bbws_tenant.this["globex"].status == "suspended"
    error_message = "enterprise defaults and status from YAML"
  }
  assert {
    condition     = output.urls["acme"] == "https://mocked.example.io"
    error_message = "urls output by key"
  }
}
