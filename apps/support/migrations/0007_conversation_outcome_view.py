from django.db import migrations

# The outcome dashboard's per-conversation facts (apps/support/dashboard/metrics.py `_FACTS`, frozen here as
# of this migration): refreshed by the beat job `apps.support.tasks.refresh_outcomes`. A change to the facts
# statement needs a new migration that drops and recreates the view.
CREATE = """
CREATE MATERIALIZED VIEW support_conversation_outcome AS
SELECT now() AS refreshed_at, facts.* FROM (
WITH scope AS (
    SELECT c.id, c.created_at, c.status, c.resolution_code, c.csat_score, c.last_message_at,
           COALESCE(NULLIF(c.current_route, ''), 'none') AS route
    FROM conversations_conversation c WHERE true
),
msg AS (
    SELECT m.conversation_id AS id,
           bool_or(m.role = 'assistant') AS bot,
           bool_or(m.role = 'staff') AS staff,
           min(m.created_at) FILTER (WHERE m.role = 'customer') AS first_customer,
           min(m.created_at) FILTER (WHERE m.role IN ('assistant', 'staff')) AS first_reply,
           max(m.seq) FILTER (WHERE m.role <> 'system') AS last_seq,
           max(m.seq) FILTER (WHERE m.role = 'assistant') AS last_bot_seq
    FROM conversations_message m JOIN scope s ON s.id = m.conversation_id
    GROUP BY m.conversation_id
),
replies AS (
    SELECT r.conversation_id AS id,
           array_agg((EXTRACT(EPOCH FROM (r.created_at - q.created_at)) * 1000)::float8) AS full_reply_ms
    FROM conversations_message r JOIN scope s ON s.id = r.conversation_id JOIN conversations_message q ON q.id = r.in_reply_to_id
    WHERE r.role = 'assistant'
    GROUP BY r.conversation_id
),
fb AS (
    SELECT f.conversation_id AS id, count(*) FILTER (WHERE f.rating = 'up') AS up,
           count(*) FILTER (WHERE f.rating = 'down') AS down
    FROM conversations_feedback f JOIN scope s ON s.id = f.conversation_id
    GROUP BY f.conversation_id
),
cost AS (
    SELECT t.conversation_id AS id, sum(t.cost) AS cost
    FROM observability_trace t JOIN scope s ON s.id = t.conversation_id
    GROUP BY t.conversation_id
),
esc AS (
    SELECT e.conversation_id AS id FROM support_escalation e JOIN scope s ON s.id = e.conversation_id
    UNION
    SELECT ev.conversation_id FROM conversations_conversationevent ev JOIN scope s ON s.id = ev.conversation_id
    WHERE ev.action = 'taken_over'
)
SELECT s.id, s.created_at, s.route, s.resolution_code, s.csat_score, s.last_message_at,
       COALESCE(msg.bot, false) AS bot, COALESCE(msg.staff, false) AS staff,
       (esc.id IS NOT NULL OR s.status IN ('waiting_human', 'human')) AS escalated,
       COALESCE(msg.last_bot_seq = msg.last_seq, false) AS bot_last,
       COALESCE(fb.up, 0)::int AS up, COALESCE(fb.down, 0)::int AS down, COALESCE(cost.cost, 0) AS cost,
       (EXTRACT(EPOCH FROM (msg.first_reply - msg.first_customer)) * 1000)::float8 AS first_response_ms,
       replies.full_reply_ms
FROM scope s
LEFT JOIN msg ON msg.id = s.id LEFT JOIN replies ON replies.id = s.id LEFT JOIN fb ON fb.id = s.id
LEFT JOIN cost ON cost.id = s.id LEFT JOIN esc ON esc.id = s.id
) facts;
CREATE UNIQUE INDEX support_conversation_outcome_id ON support_conversation_outcome (id);
CREATE INDEX support_conversation_outcome_created ON support_conversation_outcome (created_at);
CREATE INDEX support_conversation_outcome_route_created ON support_conversation_outcome (route, created_at);
"""

DROP = "DROP MATERIALIZED VIEW IF EXISTS support_conversation_outcome;"


class Migration(migrations.Migration):
    dependencies = [
        ("support", "0006_roles_console"),
        ("conversations", "0002_conversationevent_feedback_replyflag"),
        ("observability", "0001_initial"),
    ]
    operations = [migrations.RunSQL(CREATE, DROP)]
