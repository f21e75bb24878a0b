/*
 * The changes between two scans, as one query shared by the summary (each target's current scan
 * against its previous successful one) and `dscat diff` (two given scans). Result columns:
 * target, kind, database, schema, table, column, detail. Only tables whose signature differs are
 * compared column by column. CROSS JOIN keeps the pairs outside the columns in SQLite's plan,
 * whatever its statistics say: read from the columns first, the query would grow with the store. A
 * generated or hidden column says so in its detail ("INT generated stored"; "generated no ->
 * virtual").
 */
#ifndef DSCAT_CATALOG_CHANGES_H
#define DSCAT_CATALOG_CHANGES_H

/* The pairs and the five kinds of change, after a CTE "cur(target, cid, pid)". */
#define DSCAT_CHANGES_BODY                                                                         \
    /* Tables of the current scan paired with the same table in the previous one (or NULL). A  */  \
    /* database whose set of tables is the previous scan's has no change: it is skipped whole. */  \
    " pairs AS (SELECT cur.target, ta.column_set AS aid, tb.column_set AS bid, ta.database,"       \
    "    ta.schema, ta.name, tb.id IS NULL AS added, ta.signature <> tb.signature AS differs"      \
    "  FROM cur JOIN scan_databases da ON da.scan_id = cur.cid"                                    \
    "  LEFT JOIN scan_databases db ON db.scan_id = cur.pid AND db.database = da.database"          \
    "  JOIN table_set_members ma ON ma.set_id = da.table_set"                                      \
    "  JOIN tables ta ON ta.id = ma.table_id"                                                      \
    "  LEFT JOIN tables tb ON tb.name = ta.name AND tb.schema = ta.schema"                         \
    "    AND tb.database = ta.database AND EXISTS (SELECT 1 FROM table_set_members mb"             \
    "    WHERE mb.set_id = db.table_set AND mb.table_id = tb.id)"                                  \
    "  WHERE cur.pid IS NOT NULL AND db.table_set IS DISTINCT FROM da.table_set) "                 \
    "SELECT target, 'table added', database, schema, name, NULL, NULL FROM pairs WHERE added "     \
    "UNION ALL SELECT cur.target, 'table removed', tb.database, tb.schema, tb.name, NULL, NULL"    \
    "  FROM cur JOIN scan_databases db ON db.scan_id = cur.pid"                                    \
    "  LEFT JOIN scan_databases da ON da.scan_id = cur.cid AND da.database = db.database"          \
    "  JOIN table_set_members mb ON mb.set_id = db.table_set"                                      \
    "  JOIN tables tb ON tb.id = mb.table_id"                                                      \
    "  WHERE da.table_set IS DISTINCT FROM db.table_set AND NOT EXISTS (SELECT 1 FROM tables ta"   \
    "  JOIN table_set_members ma ON ma.table_id = ta.id AND ma.set_id = da.table_set"              \
    "  WHERE ta.database = tb.database AND ta.schema = tb.schema AND ta.name = tb.name) "          \
    "UNION ALL SELECT p.target, 'column added', p.database, p.schema, p.name, ca.name,"            \
    "  trim(coalesce(ca.column_type, '') || CASE WHEN ca.generated IS NULL THEN '' ELSE"           \
    "  ' generated ' || lower(ca.generated) END || CASE WHEN ca.is_hidden <> 0 THEN ' hidden' "    \
    "ELSE ''"                                                                                      \
    "  END) FROM pairs p CROSS JOIN columns ca"                                                    \
    "  WHERE ca.set_id = p.aid AND p.differs AND NOT EXISTS (SELECT 1 FROM columns cb"             \
    "  WHERE cb.set_id = p.bid AND cb.name = ca.name) "                                            \
    "UNION ALL SELECT p.target, 'column removed', p.database, p.schema, p.name, cb.name, NULL"     \
    "  FROM pairs p CROSS JOIN columns cb WHERE cb.set_id = p.bid AND p.differs AND NOT EXISTS "   \
    "(SELECT 1"                                                                                    \
    "  FROM columns ca WHERE ca.set_id = p.aid AND ca.name = cb.name) "                            \
    "UNION ALL SELECT p.target, 'column changed', p.database, p.schema, p.name, a.name,"           \
    "  trim(CASE WHEN a.column_type IS DISTINCT FROM b.column_type"                                \
    "    OR a.data_type IS DISTINCT FROM b.data_type"                                              \
    "    THEN 'type ' || coalesce(b.column_type, b.data_type) || ' -> ' ||"                        \
    "    coalesce(a.column_type, a.data_type) || '; ' ELSE '' END ||"                              \
    "  CASE WHEN a.is_nullable <> b.is_nullable THEN CASE WHEN a.is_nullable <> 0 THEN"            \
    "    'now nullable; ' ELSE 'now NOT NULL; ' END ELSE '' END ||"                                \
    "  CASE WHEN a.generated IS DISTINCT FROM b.generated THEN 'generated ' ||"                    \
    "    coalesce(lower(b.generated), 'no') || ' -> ' || coalesce(lower(a.generated), 'no') ||"    \
    "    '; ' ELSE '' END ||"                                                                      \
    "  CASE WHEN a.is_hidden <> b.is_hidden THEN CASE WHEN a.is_hidden <> 0 THEN 'now hidden; '"   \
    "    ELSE 'now visible; ' END ELSE '' END ||"                                                  \
    "  CASE WHEN a.column_default IS DISTINCT FROM b.column_default"                               \
    "    THEN 'default changed; ' ELSE '' END ||"                                                  \
    "  CASE WHEN a.is_primary_key <> b.is_primary_key OR a.fk_references <> b.fk_references"       \
    "    THEN 'keys changed; ' ELSE '' END, '; ')"                                                 \
    "  FROM pairs p CROSS JOIN columns a CROSS JOIN columns b"                                     \
    "  WHERE a.set_id = p.aid AND b.set_id = p.bid AND b.name = a.name"                            \
    "  AND p.differs AND (a.column_type IS DISTINCT FROM b.column_type"                            \
    "  OR a.data_type IS DISTINCT FROM b.data_type OR a.is_nullable <> b.is_nullable"              \
    "  OR a.column_default IS DISTINCT FROM b.column_default"                                      \
    "  OR a.generated IS DISTINCT FROM b.generated OR a.is_hidden <> b.is_hidden"                  \
    "  OR a.is_primary_key <> b.is_primary_key OR a.fk_references <> b.fk_references) "            \
    "ORDER BY 1, 3, 4, 5, 2, 6"

/* Every target's current scan (?1 = one target, NULL = all) against its previous one. */
#define DSCAT_CHANGES_SQL_ALL                                                                      \
    "WITH cur AS (SELECT g.key AS target, g.current_scan_id AS cid,"                               \
    "    (SELECT max(p.id) FROM scans p WHERE p.target = g.key AND p.id < g.current_scan_id"       \
    "     AND p.status <> 'failed') AS pid"                                                        \
    "  FROM targets g WHERE g.current_scan_id IS NOT NULL AND (?1 IS NULL OR g.key = "             \
    "?1))," DSCAT_CHANGES_BODY

/* Scan ?3 (from) against scan ?2 (to) of target ?1. */
#define DSCAT_CHANGES_SQL_PAIR                                                                     \
    "WITH cur AS (SELECT ?1 AS target, ?2 AS cid, ?3 AS pid)," DSCAT_CHANGES_BODY

#endif
