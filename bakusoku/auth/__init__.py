"""Access control: service-scoped API keys, the admin token, scopes, presign limits and the audit log."""
