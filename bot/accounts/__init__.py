"""Console accounts: users and roles, argon2id passwords, server-side sessions with CSRF, login limits, audit."""
