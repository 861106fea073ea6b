-- Ground truth, joined on the request id and the row's index in its request.
ALTER TABLE predictions ADD COLUMN row_index INTEGER NOT NULL DEFAULT 0;
CREATE INDEX predictions_request ON predictions (request_id, row_index);
CREATE TABLE feedback (
    request_id  TEXT             NOT NULL,
    row_index   INTEGER          NOT NULL DEFAULT 0,
    actual      DOUBLE PRECISION NOT NULL,
    ts_ns       BIGINT           NOT NULL,
    PRIMARY KEY (request_id, row_index)
);
