# N bbws tenants: one resource each.
terraform {
  required_providers {
    bbws = { source = "registry.terraform.io/bbws/bbws" }
  }
}

locals {
  # The stack's one listener, or a pool of them (bench.py --listeners). One
  # listener stays `listener_arn`, as before pools, so those figures compare.
  listeners = length(var.listener_arns) > 0 ? var.listener_arns : [var.listener_arn]
}

provider "bbws" {
  environment        = var.environment
  domain             = var.domain
  region             = var.region
  cluster            = var.cluster
  vpc_id             = var.vpc_id
  subnet_ids         = var.subnet_ids
  security_group_ids = var.security_group_ids
  listener_arn       = length(local.listeners) == 1 ? local.listeners[0] : null
  listener_arns      = length(local.listeners) > 1 ? local.listeners : null
  hosted_zone_id     = var.hosted_zone_id
  efs_file_system_id = var.efs_file_system_id
  max_retries        = var.max_retries
  database {
    instance_identifier = var.db_instance_identifier
    host                = var.db_host
    port                = var.db_port
    admin_secret_arn    = var.db_admin_secret_arn
    ssl_ca              = var.db_ssl_ca
  }
  endpoints {
    ecs            = var.aws_endpoint
    elbv2          = var.aws_endpoint
    route53        = var.aws_endpoint
    efs            = var.aws_endpoint
    secretsmanager = var.aws_endpoint
    logs           = var.aws_endpoint
    rds            = var.aws_endpoint
    sts            = var.aws_endpoint
  }
}

resource "bbws_tenant" "t" {
  count                  = var.n
  name                   = "Bench ${count.index}"
  contact_email          = "bench@bbws.example"
  tenant_id              = format("8%s%08d", var.run, count.index)
  retain_data_on_destroy = false
}
