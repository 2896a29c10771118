"""Demo log-ins created by `manage.py seed_demo` and printed by `make run`.

Demo only: `seed_demo` refuses to run with DEBUG off unless forced.
"""

DEMO_PASSWORD = "switchboard-demo"  # noqa: S105 - published demo credential

# (username, email, first name, last name)
DEMO_CUSTOMERS = [
    ("alice", "alice@example.com", "Alice", "Moreau"),
    ("bob", "bob@example.com", "Bob", "Okafor"),
    ("carmen", "carmen@example.com", "Carmen", "Ruiz"),
]

# (username, role group, is_superuser)
DEMO_STAFF = [
    ("agent", "support_agent", False),
    ("approver", "refund_approver", False),
    ("lead", "support_lead", False),
    ("operator", "operator", False),
    ("admin", "", True),
]
