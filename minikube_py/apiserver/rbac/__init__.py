"""RBAC: rules, the policy the authorizer reads, escalation checks and kube's bootstrap roles."""
