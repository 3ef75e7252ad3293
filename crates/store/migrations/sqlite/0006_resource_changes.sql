-- The resource change log: one row per write to a resource family that AWS Config records
-- (IAM users, groups, roles, policies, KMS keys, secrets, buckets, trails, ...), written by the
-- store's own entity, link and access-key write path inside the transaction that makes the
-- change. Config reads it in `seq` order and turns each change into a configuration item, so
-- no committed change can be missed and nothing polls the resources.
CREATE TABLE resource_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    -- The entity or link kind written (`iam:user`, `iam:attached`, `iam:access-key`, ...).
    kind       TEXT NOT NULL,
    -- The entity's name key, or a link's from key, or an access key's user id.
    key        TEXT NOT NULL,
    -- 1 when the entity itself was deleted.
    deleted    INTEGER NOT NULL
);
