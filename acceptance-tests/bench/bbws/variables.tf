variable "n" { type = number }
variable "run" {
  type        = string
  description = "Three digits that make this run's tenant ids its own."
}
variable "environment" { type = string }
variable "domain" { type = string }
variable "region" { type = string }
variable "cluster" { type = string }
variable "vpc_id" { type = string }
variable "subnet_ids" { type = list(string) }
variable "security_group_ids" { type = list(string) }
variable "listener_arn" { type = string }
variable "listener_arns" {
  type        = list(string)
  default     = []
  description = "A listener pool (bench.py --listeners): empty, the stack's one listener_arn."
}
variable "hosted_zone_id" { type = string }
variable "efs_file_system_id" { type = string }
variable "db_instance_identifier" { type = string }
variable "db_host" { type = string }
variable "db_port" { type = number }
variable "db_admin_secret_arn" { type = string }
variable "db_ssl_ca" {
  type        = string
  default     = null
  description = "PEM CA certificates for MySQL's TLS (for RDS, the AWS global bundle); null trusts the system's roots."
}
variable "aws_endpoint" { type = string }
variable "max_retries" {
  type        = number
  default     = 8
  description = "Retries after the first attempt of an AWS call: the same for both tools (bench.py --max-retries)."
}
