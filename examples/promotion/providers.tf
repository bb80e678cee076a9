# SIT and PROD, each on its own provider configuration. On AWS each would
# assume its own account's deployer role and refuse any other account (see
# examples/environments); here both take their platform from var.platform.

terraform {
  required_version = ">= 1.11"
  required_providers {
    bbws = { source = "registry.terraform.io/bbws/bbws" }
  }
}

provider "bbws" {
  alias              = "sit"
  environment        = "sit"
  domain             = var.platform.sit.domain
  region             = var.platform.sit.region
  cluster            = var.platform.sit.cluster
  vpc_id             = var.platform.sit.vpc_id
  subnet_ids         = var.platform.sit.subnet_ids
  security_group_ids = var.platform.sit.security_group_ids
  listener_arn       = var.platform.sit.listener_arn
  hosted_zone_id     = var.platform.sit.hosted_zone_id
  efs_file_system_id = var.platform.sit.efs_file_system_id
  database {
    instance_identifier = var.platform.sit.db_instance_identifier
    admin_secret_arn    = var.platform.sit.db_admin_secret_arn
    host                = var.platform.sit.db_host
    port                = var.platform.sit.db_port
    ssl_ca              = var.platform.sit.db_ssl_ca
  }
}

provider "bbws" {
  environment        = "prod"
  domain             = var.platform.prod.domain
  region             = var.platform.prod.region
  cluster            = var.platform.prod.cluster
  vpc_id             = var.platform.prod.vpc_id
  subnet_ids         = var.platform.prod.subnet_ids
  security_group_ids = var.platform.prod.security_group_ids
  listener_arn       = var.platform.prod.listener_arn
  hosted_zone_id     = var.platform.prod.hosted_zone_id
  efs_file_system_id = var.platform.prod.efs_file_system_id
  database {
    instance_identifier = var.platform.prod.db_instance_identifier
    admin_secret_arn    = var.platform.prod.db_admin_secret_arn
    host                = var.platform.prod.db_host
    port                = var.platform.prod.db_port
    ssl_ca              = var.platform.prod.db_ssl_ca
  }
}
