-- Same schema as SQLite's 0003: reads are over a time window (predictions_ts);
-- the (model, version, ts) index cost more on every insert than it saved.
DROP INDEX IF EXISTS predictions_model_ts;
