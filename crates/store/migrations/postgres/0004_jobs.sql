-- Background work: job leases (one owner at a time across nodes), audit-stream cursors and
-- the delivery outbox. Plain tables and conditional writes only: no advisory locks, so the
-- same statements run on SQLite, PostgreSQL and Postgres-wire distributed databases.

-- One row per cluster-wide job. `token` is the fencing token: it grows every time the lease
-- changes hands, and a step's writes commit only while it is still the row's token.
CREATE TABLE job_leases (
    job            TEXT PRIMARY KEY,
    owner          TEXT NOT NULL,
    token          BIGINT NOT NULL,
    expires_at_ms  BIGINT NOT NULL,
    last_run_ms    BIGINT,
    last_error     TEXT,
    updated_at_ms  BIGINT NOT NULL
);

-- A consumer's position in the audit stream: the last record it has processed in the audit
-- table's chain and in the journal's chain.
CREATE TABLE stream_cursors (
    consumer       TEXT PRIMARY KEY,
    table_seq      BIGINT NOT NULL,
    journal_seq    BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL
);

-- Deliveries written in their producer's transaction and drained by the outbox job.
-- state: 'pending' (due at next_attempt_ms) or 'dead' (attempts exhausted).
CREATE TABLE outbox (
    id               TEXT PRIMARY KEY,
    target           TEXT NOT NULL,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_ms  BIGINT NOT NULL,
    last_error       TEXT,
    created_at_ms    BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_ms);
