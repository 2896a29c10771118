# The unfiltered hybrid search as a PL/pgSQL function whose plan is kept per session (a generic plan):
# a search skips planning its statement (apps.knowledge.hybrid, docs/knowledge.md, Measured). Frozen copy
# of `hybrid.function_sql()`; tests/knowledge/test_search.py checks the database's function against it.

from django.db import migrations

CREATE = (
    "CREATE OR REPLACE FUNCTION knowledge_hybrid_search(p_config text, p_query text, p_vector vector, "
    "p_model text, p_limit integer, p_per_term integer, p_pool integer, p_k1 double precision, p_k1p "
    "double precision, p_b double precision, p_top integer) RETURNS TABLE(chunk_id bigint, document_id "
    "bigint, distance double precision, bm25 double precision, vector_rank bigint, text_rank bigint, "
    "max_bm25 double precision, weight double precision, answer_threshold double precision, text text, "
    "heading_path character varying[], title character varying, uri character varying, source_name "
    "character varying) LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS "
    "$body$\n#variable_conflict use_column\nBEGIN\nRETURN QUERY WITH s AS MATERIALIZED (SELECT "
    "chunk_count::float8 AS n, CASE WHEN chunk_count > 0 THEN total_length / chunk_count ELSE 0 END AS "
    "avg_length, vector_weight, answer_threshold FROM knowledge_retrievalprofile ORDER BY id LIMIT 1), q "
    "AS MATERIALIZED (SELECT t.id AS term_id, s.avg_length, ln(1 + (greatest(s.n, t.chunk_frequency) - "
    "t.chunk_frequency + 0.5) / (t.chunk_frequency + 0.5)) AS idf FROM knowledge_term t CROSS JOIN s "
    "WHERE t.lexeme = ANY(tsvector_to_array(to_tsvector(p_config::regconfig, p_query))) AND "
    "t.chunk_frequency > 0 AND s.avg_length > 0), vec AS MATERIALIZED (SELECT v.chunk_id, v.distance, "
    "row_number() OVER (ORDER BY v.distance, v.chunk_id) AS rank FROM (SELECT c.id AS chunk_id, "
    "c.embedding <=> p_vector AS distance FROM knowledge_chunk c WHERE c.document_id NOT IN (SELECT id "
    "FROM knowledge_document WHERE NOT is_active OR embedding_model <> p_model) ORDER BY "
    "c.embedding::halfvec(384) <=> p_vector::halfvec(384) LIMIT p_limit) v), nom AS (SELECT p.chunk_id, "
    "SUM(q.idf * p.impact) AS partial FROM q CROSS JOIN LATERAL (SELECT chunk_id, impact FROM "
    "knowledge_posting WHERE term_id = q.term_id ORDER BY impact DESC LIMIT p_per_term) p GROUP BY "
    "p.chunk_id), pool AS (SELECT chunk_id FROM nom ORDER BY partial DESC, chunk_id LIMIT p_pool), cand "
    "AS (SELECT chunk_id FROM pool UNION SELECT chunk_id FROM vec), lex AS (SELECT cand.chunk_id, "
    "SUM(q.idf * p.frequency * p_k1p / (p.frequency + p_k1 * (1 - p_b + p_b * p.length / q.avg_length))) "
    "AS score FROM cand CROSS JOIN q CROSS JOIN LATERAL (SELECT frequency, length FROM knowledge_posting "
    "WHERE term_id = q.term_id AND chunk_id = cand.chunk_id OFFSET 0) p GROUP BY cand.chunk_id), info AS "
    "(SELECT cand.chunk_id, c.document_id, d.embedding_model = p_model AS comparable, lex.score, "
    "vec.rank AS vector_rank, vec.distance FROM cand JOIN knowledge_chunk c ON c.id = cand.chunk_id JOIN "
    "knowledge_document d ON d.id = c.document_id LEFT JOIN lex ON lex.chunk_id = cand.chunk_id LEFT "
    "JOIN vec ON vec.chunk_id = cand.chunk_id WHERE d.is_active), ranked AS (SELECT info.*, CASE WHEN "
    "info.score > 0 THEN row_number() OVER (ORDER BY info.score DESC NULLS LAST, info.chunk_id) END AS "
    "text_rank FROM info), res AS MATERIALIZED (SELECT r.chunk_id, r.document_id, CASE WHEN r.comparable "
    "THEN coalesce(r.distance, (SELECT c.embedding <=> p_vector FROM knowledge_chunk c WHERE c.id = "
    "r.chunk_id)) END AS distance, coalesce(r.score, 0) AS bm25, r.vector_rank, r.text_rank FROM ranked "
    "r WHERE r.vector_rank IS NOT NULL OR r.text_rank <= p_limit), w AS MATERIALIZED (SELECT CASE WHEN "
    "p_vector IS NULL THEN 0 ELSE coalesce(s.vector_weight, 0.5) END AS weight, s.answer_threshold, "
    "(SELECT coalesce(sum(idf), 0) FROM q) * p_k1p AS max_bm25 FROM (SELECT 1) one LEFT JOIN s ON true), "
    "fused AS MATERIALIZED (SELECT r.*, row_number() OVER (ORDER BY w.weight * greatest(1 - "
    "coalesce(r.distance, 1), 0) + (1 - w.weight) * CASE WHEN w.max_bm25 > 0 THEN r.bm25 / w.max_bm25 "
    "ELSE 0 END DESC, 1 - coalesce(r.distance, 2) DESC, r.chunk_id) AS position FROM res r CROSS JOIN "
    "w), best AS MATERIALIZED (SELECT f.chunk_id, c.text, c.heading_path, d.title, d.uri, ks.name AS "
    "source_name FROM fused f JOIN knowledge_chunk c ON c.id = f.chunk_id JOIN knowledge_document d ON "
    "d.id = c.document_id JOIN knowledge_knowledgesource ks ON ks.id = d.source_id WHERE f.position <= "
    "p_top) SELECT f.chunk_id, f.document_id, f.distance, f.bm25, f.vector_rank, f.text_rank, "
    "w.max_bm25, w.weight, w.answer_threshold, b.text, b.heading_path, b.title, b.uri, b.source_name "
    "FROM fused f CROSS JOIN w LEFT JOIN best b ON b.chunk_id = f.chunk_id ORDER BY "
    "f.position;\nEND\n$body$"
)
DROP = (
    "DROP FUNCTION IF EXISTS knowledge_hybrid_search(text, text, vector, text, integer, integer, integer,"
    " double precision, double precision, double precision, integer)"
)


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0005_halfvec_hnsw"),
    ]

    operations = [
        migrations.RunSQL(CREATE, reverse_sql=DROP),
    ]
