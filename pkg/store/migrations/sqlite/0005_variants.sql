-- Several variants of a model served at once (a traffic split between its
-- aliases, a shadow): each row says which alias served it, and whether it
-- is a shadow's prediction, paired with the served one by request id and
-- row. Shadow rows were never returned to a client.
ALTER TABLE predictions ADD COLUMN variant TEXT NOT NULL DEFAULT '';
ALTER TABLE predictions ADD COLUMN shadow INTEGER NOT NULL DEFAULT 0;
