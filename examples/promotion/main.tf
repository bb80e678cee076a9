# Promotion SIT → PROD (SOP §7.1): PROD runs only a release SIT already
# runs. The tenant is read in SIT through the aliased provider, and PROD's
# plan fails before it changes anything when its WordPress version, PHP
# version or image is not the one SIT's task definition runs.

data "bbws_tenant" "sit" {
  provider  = bbws.sit
  tenant_id = var.tenant_id
}

resource "bbws_tenant" "prod" {
  name              = "ACME Corporation"
  contact_email     = "ops@acme.example"
  tenant_id         = var.tenant_id
  subdomain         = "acme"
  tier              = "professional"
  wordpress_version = var.release.wordpress_version
  php_version       = var.release.php_version
  image             = var.release.image

  lifecycle {
    precondition {
      condition     = data.bbws_tenant.sit.status == "active"
      error_message = "Tenant ${var.tenant_id} is ${data.bbws_tenant.sit.status} in SIT: promote only what SIT serves."
    }
    precondition {
      condition = (
        data.bbws_tenant.sit.wordpress_version == var.release.wordpress_version &&
        data.bbws_tenant.sit.php_version == var.release.php_version &&
        data.bbws_tenant.sit.image == var.release.image
      )
      error_message = format(
        "SIT runs %s:%s-php%s-apache; PROD may not run %s:%s-php%s-apache before SIT does (SOP §7.1).",
        coalesce(data.bbws_tenant.sit.image, "nothing"),
        coalesce(data.bbws_tenant.sit.wordpress_version, "?"),
        coalesce(data.bbws_tenant.sit.php_version, "?"),
        var.release.image, var.release.wordpress_version, var.release.php_version,
      )
    }
  }
}

output "prod_url" {
  value = bbws_tenant.prod.url
}
