# Import by resource identity (Terraform 1.12+): the environment must be the
# provider's. `terraform plan -generate-config-out=acme.tf` writes the
# resource block for you.
import {
  to = bbws_tenant.acme
  identity = {
    environment = "dev"
    tenant_id   = "123456789012"
  }
}
