# A database migration for one tenant: the job gets the tenant's login in
# its environment for this run only — never in state, plan or output.
ephemeral "bbws_tenant_credentials" "acme" {
  tenant_id = bbws_tenant.acme.tenant_id
}

resource "terraform_data" "acme_migration" {
  # Runs again whenever the tenant moves to another WordPress version.
  triggers_replace = [bbws_tenant.acme.wordpress_version]

  provisioner "local-exec" {
    command = "./migrate.sh"
    environment = {
      DB_HOST     = ephemeral.bbws_tenant_credentials.acme.host
      DB_PORT     = ephemeral.bbws_tenant_credentials.acme.port
      DB_NAME     = ephemeral.bbws_tenant_credentials.acme.database
      DB_USER     = ephemeral.bbws_tenant_credentials.acme.username
      DB_PASSWORD = ephemeral.bbws_tenant_credentials.acme.password
    }
  }
}
