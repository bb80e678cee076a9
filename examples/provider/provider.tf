# The environment's shared platform. `scripts/quickstart.sh` feeds these from
# the local stack (.bbws/platform.tfvars.json); on AWS, set them to your
# environment's values (or read them from remote state / data sources).

terraform {
  required_providers {
    bbws = { source = "registry.terraform.io/bbws/bbws" }
  }
}

variable "environment" { type = string }
variable "domain" { type = string }
variable "region" { type = string }
variable "cluster" { type = string }
variable "vpc_id" { type = string }
variable "subnet_ids" { type = list(string) }
variable "security_group_ids" { type = list(string) }
variable "listener_arn" { type = string }
variable "hosted_zone_id" { type = string }
variable "efs_file_system_id" { type = string }
variable "db_instance_identifier" { type = string }
variable "db_host" {
  type    = string
  default = null
}
variable "db_port" {
  type    = number
  default = null
}
variable "db_admin_secret_arn" { type = string }
variable "db_ssl_ca" {
  type        = string
  default     = null
  description = "PEM CA certificates for MySQL's TLS (for RDS, the AWS global bundle: file(\"global-bundle.pem\")); null trusts the system's roots."
}
variable "alarm_topic_arn" {
  type        = string
  default     = null
  description = "An SNS topic for every tenant's alarms (5xx rate, unhealthy hosts, tasks below desired); null: no alarms."
}
variable "aws_endpoint" {
  type        = string
  default     = null
  description = "Only for the local emulator; leave null on AWS."
}

provider "bbws" {
  environment        = var.environment
  domain             = var.domain
  region             = var.region
  cluster            = var.cluster
  vpc_id             = var.vpc_id
  subnet_ids         = var.subnet_ids
  security_group_ids = var.security_group_ids
  listener_arn       = var.listener_arn
  hosted_zone_id     = var.hosted_zone_id
  efs_file_system_id = var.efs_file_system_id
  alarm_topic_arn    = var.alarm_topic_arn

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
    cloudwatch     = var.aws_endpoint
    acm            = var.aws_endpoint
    rds            = var.aws_endpoint
    sts            = var.aws_endpoint
    s3             = var.aws_endpoint
  }

  default_tags {
    tags = { team = "platform" }
  }
}
