-- The prediction log: one row per prediction.
CREATE TABLE predictions (
    id          BIGSERIAL PRIMARY KEY,
    ts_ns       BIGINT           NOT NULL,   -- Unix time, nanoseconds
    request_id  TEXT             NOT NULL,
    model       TEXT             NOT NULL,
    version     TEXT             NOT NULL,
    features    TEXT             NOT NULL,   -- JSON object: feature -> value
    prediction  DOUBLE PRECISION NOT NULL,
    latency_ns  BIGINT           NOT NULL
);
CREATE INDEX predictions_ts ON predictions (ts_ns);
CREATE INDEX predictions_model_ts ON predictions (model, version, ts_ns);
