# The listener pool: per listener its load balancer, tenants and free
# slots against AWS's limits.
data "bbws_platform" "this" {}

output "free_slots" {
  value = data.bbws_platform.this.free_slots
}

output "listeners" {
  value = {
    for l in data.bbws_platform.this.listeners : l.listener_arn =>
    "${l.tenants} tenants, ${l.rules}/${l.rules_limit} rules, ${l.target_groups}/${l.target_groups_limit} target groups, ${l.free_slots} free"
  }
}
