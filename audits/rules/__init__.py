"""Rule-based budget audit: pure functions over positions and a price catalog.

Rules are grouped by role, one module per family (validation, arithmetic, catalog, cost,
duplicates). Each yields findings; a position's status is its worst unwaived finding, GREEN when
there is none. Nothing here touches the database: the audit service feeds it and stores the result.
"""
