"""Staff screens: the refund approval queue, tickets, escalations, the audit trail and the console's records.

Every change goes through `apps.support.services`; the admin only parses the
request, calls one service per object and reports what it said. Rows are
never edited directly here. Importing this package registers every screen.
"""

from apps.support.admin import audit, console, escalations, refund_approvals, tickets
from apps.support.admin.common import transcript_url
from apps.support.admin.refund_approvals import policy_summary

__all__ = ["audit", "console", "escalations", "policy_summary", "refund_approvals", "tickets", "transcript_url"]
