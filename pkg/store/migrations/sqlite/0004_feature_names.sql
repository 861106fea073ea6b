-- A prediction's features used to be a JSON object, its names repeated in
-- every row. New rows hold a JSON array of the values instead, in the order
-- feature_names gives for their model version: 55 bytes against 145 for the
-- California model, and the log's bytes are what its writes and checkpoints
-- cost (docs/BENCHMARKS.md). Rows written before keep their objects; a
-- row's features are an array only when its model version's names are here.
CREATE TABLE feature_names (
    model    TEXT NOT NULL,
    version  TEXT NOT NULL,
    names    TEXT NOT NULL,                  -- JSON array of the feature names, in order
    PRIMARY KEY (model, version)
);
-- One row per logged feature value, whichever form the row has: for ad-hoc
-- SQL, e.g. SELECT name, AVG(value) FROM prediction_features GROUP BY name.
CREATE VIEW prediction_features AS
SELECT p.id AS id, n.value AS name, f.value AS value
  FROM predictions p
  JOIN feature_names m ON m.model = p.model AND m.version = p.version
  JOIN json_each(m.names) n
  JOIN json_each(p.features) f ON f.key = n.key
 WHERE json_type(p.features) = 'array'
UNION ALL
SELECT p.id, f.key, f.value
  FROM predictions p, json_each(p.features) f
 WHERE json_type(p.features) = 'object';
