variable "platform" {
  description = "Each environment's shared platform, keyed `sit` and `prod` (from its platform stack's outputs)."
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

variable "tenant_id" {
  description = "The tenant being promoted: the same id in every environment."
  type        = string
  default     = "123456789012"
}

variable "release" {
  description = "What PROD is to run. SIT must already run exactly this (SOP §7.1)."
  type = object({
    wordpress_version = string
    php_version       = string
    image             = optional(string, "wordpress")
  })
}
