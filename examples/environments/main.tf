# The same tenant promoted DEV → SIT → PROD: one tenant-fleet module per
# environment, each on its environment's provider alias (and so in its
# account, as its role).

variable "external_id" {
  description = "The external id the deployer roles' trust policies require."
  type        = string
  sensitive   = true
}

variable "platform" {
  description = "Each environment's shared platform (from its platform stack's outputs)."
  type = map(object({
    listener_arn        = string
    hosted_zone_id      = string
    vpc_id              = string
    subnet_ids          = list(string)
    security_group_ids  = list(string)
    efs_file_system_id  = string
    db_admin_secret_arn = string
  }))
}

locals {
  tenants = {
    acme = {
      name          = "ACME Corporation"
      contact_email = "ops@acme.example"
      tenant_id     = "123456789012"
      subdomain     = "acme"
      tier          = "professional"
    }
  }
}

module "dev" {
  source    = "../modules/tenant-fleet"
  providers = { bbws = bbws.dev }
  tenants   = local.tenants
}

module "sit" {
  source    = "../modules/tenant-fleet"
  providers = { bbws = bbws.sit }
  tenants   = local.tenants
}

module "prod" {
  source    = "../modules/tenant-fleet"
  providers = { bbws = bbws.prod }
  tenants   = local.tenants
}

output "urls" {
  value = {
    dev  = module.dev.urls
    sit  = module.sit.urls
    prod = module.prod.urls
  }
}
