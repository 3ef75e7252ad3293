-- The audit tables keyed the way SQLite stores rows. `seq BIGINT PRIMARY KEY` is not an alias
-- of the rowid (only `INTEGER PRIMARY KEY` is), so every audit record was written to one more
-- b-tree than needed; the resources' composite key becomes the table itself (WITHOUT ROWID).
CREATE TABLE audit_events_v3 (
    seq            INTEGER PRIMARY KEY,
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
INSERT INTO audit_events_v3
SELECT seq, event_id, event_time_ms, event_name, event_source, username, access_key_id,
       read_only, error_code, account_id, event_json, prev_hash, hash
FROM audit_events ORDER BY seq;

CREATE TABLE audit_resources_v3 (
    seq           INTEGER NOT NULL REFERENCES audit_events_v3 (seq),
    ord           INTEGER NOT NULL,
    resource_type TEXT,
    resource_name TEXT,
    PRIMARY KEY (seq, ord)
) WITHOUT ROWID;
INSERT INTO audit_resources_v3
SELECT seq, ord, resource_type, resource_name FROM audit_resources;

DROP TABLE audit_resources;
DROP TABLE audit_events;
ALTER TABLE audit_events_v3 RENAME TO audit_events;
ALTER TABLE audit_resources_v3 RENAME TO audit_resources;

CREATE INDEX audit_events_by_time ON audit_events (account_id, event_time_ms, seq);
CREATE INDEX audit_events_by_name ON audit_events (event_name, event_time_ms);
CREATE INDEX audit_events_by_source ON audit_events (event_source, event_time_ms);
CREATE INDEX audit_events_by_user ON audit_events (username, event_time_ms);
CREATE INDEX audit_events_by_key ON audit_events (access_key_id, event_time_ms);
CREATE INDEX audit_resources_by_name ON audit_resources (resource_name);
CREATE INDEX audit_resources_by_type ON audit_resources (resource_type);
