-- Rampart schema v2 (PostgreSQL): generic entities and the links between them, for
-- every service's resources (IAM users, groups, roles, policies, instance profiles; later KMS keys, secrets,
-- organizations). A resource's typed fields live in `doc` (JSON, owned by its service); the
-- columns are what lookups, uniqueness, listing and pagination need.

CREATE TABLE entities (
    account_id    TEXT NOT NULL,
    kind          TEXT NOT NULL,
    -- The uniqueness key: the name as the service compares names (IAM: lower-cased).
    name_key      TEXT NOT NULL,
    name          TEXT NOT NULL,
    id            TEXT NOT NULL,
    path          TEXT NOT NULL,
    arn           TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    doc           TEXT NOT NULL,
    PRIMARY KEY (account_id, kind, name_key)
);
CREATE UNIQUE INDEX entities_by_id ON entities (id);
CREATE INDEX entities_by_path ON entities (account_id, kind, path, name_key);

-- Directed links: group membership (user -> group), policy attachment (entity -> policy),
-- roles in instance profiles. Keys are entity ids or ARNs, as the service chooses.
CREATE TABLE links (
    account_id    TEXT NOT NULL,
    kind          TEXT NOT NULL,
    from_key      TEXT NOT NULL,
    to_key        TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (account_id, kind, from_key, to_key)
);
CREATE INDEX links_reverse ON links (kind, to_key, from_key);

-- A counter bumped by every change that can alter an authorization decision (policies,
-- attachments, memberships, boundaries, SCPs...). Nodes cache compiled policy sets per
-- principal and epoch, so a change takes effect on the next request on every node.
CREATE TABLE authz_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO authz_epoch (id, epoch) VALUES (1, 0);
