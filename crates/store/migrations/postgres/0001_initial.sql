-- Rampart schema v1 (PostgreSQL and Postgres-wire databases).
-- Times are BIGINT milliseconds since the epoch (same as SQLite, so queries are shared).

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY CHECK (length(id) = 12),
    name          TEXT NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    status        TEXT NOT NULL,
    is_management BOOLEAN NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE access_keys (
    access_key_id     TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts (id),
    principal_kind    TEXT NOT NULL,
    principal_id      TEXT NOT NULL,
    principal_arn     TEXT NOT NULL,
    secret_sealed     BYTEA NOT NULL,
    status            TEXT NOT NULL,
    created_at_ms     BIGINT NOT NULL,
    last_used_at_ms   BIGINT,
    last_used_region  TEXT,
    last_used_service TEXT,
    session_token_hash TEXT,
    expires_at_ms     BIGINT,
    session_context   TEXT
);
CREATE INDEX access_keys_by_principal ON access_keys (account_id, principal_id);
CREATE INDEX access_keys_by_expiry ON access_keys (expires_at_ms);

CREATE TABLE settings (
    key           TEXT PRIMARY KEY,
    value         TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- One row: the chain head. Every append updates it in the appending transaction, which
-- serializes appends (row lock) without advisory locks.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL,
    mac  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash, mac)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', '');

CREATE TABLE audit_events (
    seq            BIGINT PRIMARY KEY,
    event_id       TEXT NOT NULL UNIQUE,
    event_time_ms  BIGINT NOT NULL,
    event_name     TEXT NOT NULL,
    event_source   TEXT NOT NULL,
    username       TEXT,
    access_key_id  TEXT,
    read_only      BOOLEAN NOT NULL,
    error_code     TEXT,
    account_id     TEXT,
    event_json     TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL
);
CREATE INDEX audit_events_by_time ON audit_events (account_id, event_time_ms, seq);
CREATE INDEX audit_events_by_name ON audit_events (event_name, event_time_ms);
CREATE INDEX audit_events_by_source ON audit_events (event_source, event_time_ms);
CREATE INDEX audit_events_by_user ON audit_events (username, event_time_ms);
CREATE INDEX audit_events_by_key ON audit_events (access_key_id, event_time_ms);

CREATE TABLE audit_resources (
    seq           BIGINT NOT NULL REFERENCES audit_events (seq),
    ord           INTEGER NOT NULL,
    resource_type TEXT,
    resource_name TEXT,
    PRIMARY KEY (seq, ord)
);
CREATE INDEX audit_resources_by_name ON audit_resources (resource_name);
CREATE INDEX audit_resources_by_type ON audit_resources (resource_type);
