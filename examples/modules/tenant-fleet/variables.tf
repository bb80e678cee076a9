variable "tenants" {
  description = "Tenants by key: name, contact_email and tenant_id are required; tier picks the defaults below."
  type = map(object({
    name          = string
    contact_email = string
    tenant_id     = string
    subdomain     = optional(string)
    tier          = optional(string, "starter")
    status        = optional(string, "active")
    php_version   = optional(string)
  }))
  default = {}
}

variable "tenants_yaml" {
  description = "The same as `tenants`, as YAML text (e.g. file(\"tenants.yaml\")); merged over `tenants`."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every tenant's parts."
  type        = map(string)
  default     = {}
}
