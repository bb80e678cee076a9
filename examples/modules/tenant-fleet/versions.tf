terraform {
  required_version = ">= 1.11"
  required_providers {
    bbws = { source = "registry.terraform.io/bbws/bbws" }
  }
}
