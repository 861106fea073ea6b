-- The prediction log: one row per prediction.
CREATE TABLE predictions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ns       INTEGER NOT NULL,            -- Unix time, nanoseconds
    request_id  TEXT    NOT NULL,
    model       TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    features    TEXT    NOT NULL,            -- JSON object: feature -> value
    prediction  REAL    NOT NULL,
    latency_ns  INTEGER NOT NULL
);
CREATE INDEX predictions_ts ON predictions (ts_ns);
CREATE INDEX predictions_model_ts ON predictions (model, version, ts_ns);
