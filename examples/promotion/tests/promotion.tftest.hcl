# PROD may run only what SIT runs (SOP §7.1). Runs against a real
# environment pair (in bbws's acceptance tests: the local stack, with SIT
# and PROD on one emulated account): SIT's tenant is applied first and
# destroyed at the end; PROD is only planned.

variables {
  release = { wordpress_version = "6.6", php_version = "8.3" }
}

run "sit_runs_the_release" {
  module {
    source = "./tests/sit"
  }
}

run "prod_may_run_what_sit_runs" {
  command = plan

  assert {
    condition     = bbws_tenant.prod.wordpress_version == data.bbws_tenant.sit.wordpress_version
    error_message = "PROD's plan should run SIT's WordPress version."
  }
  assert {
    condition     = data.bbws_tenant.sit.image == "wordpress" && data.bbws_tenant.sit.php_version == "8.3"
    error_message = "SIT's tenant should be read through the aliased provider."
  }
}

run "prod_may_not_run_a_wordpress_version_sit_does_not" {
  command = plan
  variables {
    release = { wordpress_version = "6.7", php_version = "8.3" }
  }
  expect_failures = [bbws_tenant.prod]
}

run "prod_may_not_run_a_php_version_sit_does_not" {
  command = plan
  variables {
    release = { wordpress_version = "6.6", php_version = "8.2" }
  }
  expect_failures = [bbws_tenant.prod]
}

run "prod_may_not_run_an_image_sit_does_not" {
  command = plan
  variables {
    release = { wordpress_version = "6.6", php_version = "8.3", image = "registry.example.io/wordpress-patched" }
  }
  expect_failures = [bbws_tenant.prod]
}
