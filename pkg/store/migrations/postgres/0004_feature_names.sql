-- A prediction's features used to be a JSON object, its names repeated in
-- every row. New rows hold a JSON array of the values instead, in the order
-- feature_names gives for their model version (see the SQLite migration of
-- the same number). Rows written before keep their objects.
CREATE TABLE feature_names (
    model    TEXT NOT NULL,
    version  TEXT NOT NULL,
    names    TEXT NOT NULL,                  -- JSON array of the feature names, in order
    PRIMARY KEY (model, version)
);
-- One row per logged feature value, whichever form the row has.
CREATE VIEW prediction_features AS
SELECT p.id AS id, n.name AS name, f.value::double precision AS value
  FROM (SELECT * FROM predictions WHERE left(features, 1) = '[') p
  JOIN feature_names m ON m.model = p.model AND m.version = p.version
  CROSS JOIN LATERAL jsonb_array_elements_text(m.names::jsonb) WITH ORDINALITY AS n(name, i)
  CROSS JOIN LATERAL jsonb_array_elements_text(p.features::jsonb) WITH ORDINALITY AS f(value, i)
 WHERE n.i = f.i
UNION ALL
SELECT p.id, f.key, f.value::double precision
  FROM (SELECT * FROM predictions WHERE left(features, 1) = '{') p
  CROSS JOIN LATERAL jsonb_each_text(p.features::jsonb) AS f(key, value);
