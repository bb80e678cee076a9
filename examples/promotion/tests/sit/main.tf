# The test's SIT: the tenant running the release, made before PROD is
# planned and destroyed when the test ends.

terraform {
  required_providers {
    bbws = { source = "registry.terraform.io/bbws/bbws" }
  }
}

variable "platform" {
  type = map(object({
    domain                 = string
    region                 = string
    cluster                = string
    vpc_id                 = string
    subnet_ids             = list(string)
    security_group_ids     = list(string)
    listener_arn           = string
    hosted_zone_id         = string
    efs_file_system_id     = string
    db_instance_identifier = string
    db_admin_secret_arn    = string
    db_host                = optional(string)
    db_port                = optional(number)
    db_ssl_ca              = optional(string)
  }))
}

variable "tenant_id" { type = string }

variable "release" {
  type = object({
    wordpress_version = string
    php_version       = string
    image             = optional(string, "wordpress")
  })
}

locals {
  sit = var.platform.sit
}

provider "bbws" {
  environment        = "sit"
  domain             = local.sit.domain
  region             = local.sit.region
  cluster            = local.sit.cluster
  vpc_id             = local.sit.vpc_id
  subnet_ids         = local.sit.subnet_ids
  security_group_ids = local.sit.security_group_ids
  listener_arn       = local.sit.listener_arn
  hosted_zone_id     = local.sit.hosted_zone_id
  efs_file_system_id = local.sit.efs_file_system_id
  database {
    instance_identifier = local.sit.db_instance_identifier
    admin_secret_arn    = local.sit.db_admin_secret_arn
    host                = local.sit.db_host
    port                = local.sit.db_port
    ssl_ca              = local.sit.db_ssl_ca
  }
}

resource "bbws_tenant" "sit" {
  name              = "ACME Corporation"
  contact_email     = "ops@acme.example"
  tenant_id         = var.tenant_id
  subdomain         = "acme"
  tier              = "professional"
  wordpress_version = var.release.wordpress_version
  php_version       = var.release.php_version
  image             = var.release.image

  # A test's tenant leaves no database or user behind when torn down.
  retain_data_on_destroy = false
}
