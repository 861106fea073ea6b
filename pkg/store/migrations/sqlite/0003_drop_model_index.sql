-- The log is written far more often than it is read, and the reads that
-- matter (stats, drift, performance, reports) are over a time window, which
-- predictions_ts serves; a model or version filter then applies to the rows
-- in the window. Keeping (model, version, ts) up to date doubled the bytes
-- the server wrote per logged prediction (WAL and checkpoints: 2,080 against
-- 1,080 with it gone, network included), and with them the checkpoints that
-- stall requests: on one core at 32 connections p99 went from 5.3-6.0 ms to
-- 4.4-4.5 ms without it (docs/BENCHMARKS.md).
DROP INDEX IF EXISTS predictions_model_ts;
