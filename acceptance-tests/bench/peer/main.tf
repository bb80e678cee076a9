# The same tenants the way platforms write them today: terraform-provider-aws
# 3.39.0 with one aws_* resource per part (the nine AWS parts; there is no
# MySQL provider in the peer's set, so the database and user are left out).
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "3.39.0" }
  }
}

provider "aws" {
  region                      = var.region
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  max_retries                 = var.max_retries
  endpoints {
    ecs            = var.aws_endpoint
    elb            = var.aws_endpoint
    route53        = var.aws_endpoint
    efs            = var.aws_endpoint
    secretsmanager = var.aws_endpoint
    cloudwatchlogs = var.aws_endpoint
    sts            = var.aws_endpoint
    iam            = var.aws_endpoint
    ec2            = var.aws_endpoint
  }
}

locals {
  ids = [for i in range(var.n) : format("9%s%08d", var.run, i)]
  # The stack's one listener, or a pool of them (bench.py --listeners).
  listeners = length(var.listener_arns) > 0 ? var.listener_arns : [var.listener_arn]
}

resource "aws_cloudwatch_log_group" "t" {
  count             = var.n
  name              = "/ecs/peer-${local.ids[count.index]}"
  retention_in_days = 30
  tags              = { "bbws:tenant" = local.ids[count.index] }
}

resource "aws_secretsmanager_secret" "t" {
  count                   = var.n
  name                    = "peer-${local.ids[count.index]}-db-credentials"
  recovery_window_in_days = 0
}

resource "aws_secretsmanager_secret_version" "t" {
  count         = var.n
  secret_id     = aws_secretsmanager_secret.t[count.index].id
  secret_string = jsonencode({ username = "${local.ids[count.index]}_user", password = "not-a-real-one" })
}

resource "aws_efs_access_point" "t" {
  count          = var.n
  file_system_id = var.efs_file_system_id
  posix_user {
    uid = 33
    gid = 33
  }
  root_directory {
    path = "/${local.ids[count.index]}"
    creation_info {
      owner_uid   = 33
      owner_gid   = 33
      permissions = "755"
    }
  }
  tags = { Name = "peer-${local.ids[count.index]}-ap" }
}

resource "aws_lb_target_group" "t" {
  count       = var.n
  name        = "peer-${local.ids[count.index]}-tg"
  port        = 80
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id
  health_check {
    path = "/"
  }
}

resource "aws_ecs_task_definition" "t" {
  count                    = var.n
  family                   = "peer-${local.ids[count.index]}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = "256"
  memory                   = "512"
  container_definitions = jsonencode([{
    name         = "wordpress"
    image        = "wordpress:6.6-php8.3-apache"
    essential    = true
    portMappings = [{ containerPort = 80 }]
  }])
}

resource "aws_lb_listener_rule" "t" {
  count = var.n
  # Round robin over the pool, as a hand-written module places tenants:
  # tenant i on listener i mod L, the (i div L)-th rule there, so the
  # priorities on each listener are unique and a tenant added later never
  # moves one that exists.
  listener_arn = local.listeners[count.index % length(local.listeners)]
  priority     = 40000 + floor(count.index / length(local.listeners))
  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.t[count.index].arn
  }
  condition {
    host_header {
      values = ["peer-${local.ids[count.index]}.${var.domain}"]
    }
  }
}

resource "aws_route53_record" "t" {
  count   = var.n
  zone_id = var.hosted_zone_id
  name    = "peer-${local.ids[count.index]}.${var.domain}"
  type    = "CNAME"
  ttl     = 60
  records = ["alb.${var.domain}"]
}

resource "aws_ecs_service" "t" {
  count           = var.n
  name            = "peer-${local.ids[count.index]}-service"
  cluster         = var.cluster
  task_definition = aws_ecs_task_definition.t[count.index].arn
  desired_count   = 1
  launch_type     = "FARGATE"
  network_configuration {
    subnets         = var.subnet_ids
    security_groups = var.security_group_ids
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.t[count.index].arn
    container_name   = "wordpress"
    container_port   = 80
  }
  depends_on = [aws_lb_listener_rule.t]
}
