# DEV, SIT and PROD are three AWS accounts (the operating procedure's
# promotion order). One provider alias per environment: each assumes the
# deployer role of its own account and refuses to work in any other, so a
# pipeline holding the wrong credentials fails at plan, before it changes
# anything.
#
# The pipeline's own credentials (an instance role, OIDC web identity, SSO)
# come from the standard AWS chain; they need sts:AssumeRole on the three
# roles, and each role's trust policy must name them (with the external id).

terraform {
  required_version = ">= 1.11"
  required_providers {
    bbws = {
      source  = "registry.terraform.io/bbws/bbws"
      version = "~> 0.1"
    }
  }
}

locals {
  accounts = {
    dev  = "536580886816"
    sit  = "815856636111"
    prod = "093646564004"
  }
}

provider "bbws" {
  alias       = "dev"
  environment = "dev"
  domain      = "wpdev.example.io"
  region      = "eu-west-1"

  assume_role {
    role_arn     = "arn:aws:iam::${local.accounts.dev}:role/platform-deployer"
    session_name = "bbws-dev"
    external_id  = var.external_id
  }
  allowed_account_ids = [local.accounts.dev]
  max_retries         = 25

  listener_arn       = var.platform.dev.listener_arn
  hosted_zone_id     = var.platform.dev.hosted_zone_id
  vpc_id             = var.platform.dev.vpc_id
  subnet_ids         = var.platform.dev.subnet_ids
  security_group_ids = var.platform.dev.security_group_ids
  efs_file_system_id = var.platform.dev.efs_file_system_id
  database {
    instance_identifier = "dev-shared-mysql"
    admin_secret_arn    = var.platform.dev.db_admin_secret_arn
  }
}

provider "bbws" {
  alias       = "sit"
  environment = "sit"
  domain      = "wpsit.example.io"
  region      = "eu-west-1"

  assume_role {
    role_arn     = "arn:aws:iam::${local.accounts.sit}:role/platform-deployer"
    session_name = "bbws-sit"
    external_id  = var.external_id
  }
  allowed_account_ids = [local.accounts.sit]
  max_retries         = 25

  listener_arn       = var.platform.sit.listener_arn
  hosted_zone_id     = var.platform.sit.hosted_zone_id
  vpc_id             = var.platform.sit.vpc_id
  subnet_ids         = var.platform.sit.subnet_ids
  security_group_ids = var.platform.sit.security_group_ids
  efs_file_system_id = var.platform.sit.efs_file_system_id
  database {
    instance_identifier = "sit-shared-mysql"
    admin_secret_arn    = var.platform.sit.db_admin_secret_arn
  }
}

provider "bbws" {
  alias       = "prod"
  environment = "prod"
  domain      = "wp.example.io"
  region      = "eu-west-1"

  assume_role {
    role_arn     = "arn:aws:iam::${local.accounts.prod}:role/platform-deployer"
    session_name = "bbws-prod"
    external_id  = var.external_id
  }
  allowed_account_ids = [local.accounts.prod]
  max_retries         = 25

  listener_arn       = var.platform.prod.listener_arn
  hosted_zone_id     = var.platform.prod.hosted_zone_id
  vpc_id             = var.platform.prod.vpc_id
  subnet_ids         = var.platform.prod.subnet_ids
  security_group_ids = var.platform.prod.security_group_ids
  efs_file_system_id = var.platform.prod.efs_file_system_id
  database {
    instance_identifier = "prod-shared-mysql"
    admin_secret_arn    = var.platform.prod.db_admin_secret_arn
  }
}
