variable "db_password" {
  description = "From your vault; never stored in state or plan."
  type        = string
  sensitive   = true
  ephemeral   = true
  default     = null
}

variable "db_password_version" {
  description = "Bump to rotate db_password."
  type        = number
  default     = null
}

# One WordPress tenant: ten AWS and MySQL parts, planned and applied as one.
resource "bbws_tenant" "acme" {
  name          = "ACME Corporation"
  contact_email = "ops@acme.example"
  tenant_id     = "123456789012"
  subdomain     = "acme"
  tier          = "professional"
  php_version   = "8.3"
  desired_count = 2

  # Optional: scale between 2 and 6 tasks on CPU and ALB requests per task;
  # desired_count is then the starting count, and suspend parks scaling.
  autoscaling {
    min                 = 2
    max                 = 6
    cpu_target          = 60
    requests_per_target = 1000
  }

  # Optional: the customer's own domains, routed beside acme.{domain}. Publish
  # certificate_validation_records in their DNS; the certificate is served
  # from the first apply after ACM has issued it.
  custom_domains = ["www.acme.com", "acme.com"]

  environment_variables = { WP_DEBUG = "false" }
  tags                  = { cost-center = "42" }

  # Optional: your own database password (write-only). Bump the version to
  # rotate it; without it bbws generates one.
  db_password_wo         = var.db_password
  db_password_wo_version = var.db_password_version
}

output "url" {
  value = bbws_tenant.acme.url
}

# Where the customer's DNS must answer for ACM to issue the certificate.
output "certificate_validation_records" {
  value = bbws_tenant.acme.certificate_validation_records
}
