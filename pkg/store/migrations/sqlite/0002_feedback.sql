-- Ground truth: the actual value of a logged prediction, joined on the
-- request id and the row's index within its request.
ALTER TABLE predictions ADD COLUMN row_index INTEGER NOT NULL DEFAULT 0;
CREATE INDEX predictions_request ON predictions (request_id, row_index);
CREATE TABLE feedback (
    request_id  TEXT    NOT NULL,
    row_index   INTEGER NOT NULL DEFAULT 0,
    actual      REAL    NOT NULL,
    ts_ns       INTEGER NOT NULL,            -- when the actual value was received
    PRIMARY KEY (request_id, row_index)
);
