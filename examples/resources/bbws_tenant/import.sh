# The import id is the tenant's 12-digit id.
terraform import bbws_tenant.acme 123456789012
