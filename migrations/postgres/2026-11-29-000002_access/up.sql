-- People, department API keys and the tamper-evident audit log (DESIGN §1, §6, §7).
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    -- Comma-separated, sorted role names.
    roles TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'locked', 'disabled')),
    -- Bumped on password, role or status change; tokens carry it, so old tokens stop working.
    token_version BIGINT NOT NULL,
    last_login_at TIMESTAMP,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_username_key ON users (username);
CREATE INDEX users_organisation_idx ON users (organisation_id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    department_id TEXT NOT NULL REFERENCES departments (id),
    name TEXT NOT NULL,
    -- The public part of the key, used to find it; the secret is stored only as a SHA-256 hash.
    prefix TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    valid_from TIMESTAMP NOT NULL,
    valid_until TIMESTAMP,
    -- Comma-separated CIDR blocks; NULL allows any address.
    allowed_addresses TEXT,
    rate_limit_per_minute BIGINT NOT NULL,
    revoked_at TIMESTAMP,
    last_used_at TIMESTAMP,
    created_by TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX api_keys_prefix_key ON api_keys (prefix);
CREATE INDEX api_keys_department_idx ON api_keys (department_id);

-- Append-only; each event stores the hash of the previous one (seq - 1).
CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    actor_type TEXT NOT NULL CHECK (actor_type IN ('user', 'api_key', 'system', 'anonymous')),
    actor_id TEXT,
    actor_name TEXT,
    organisation_id TEXT,
    -- The actor's organisation path, so that an auditor's scope is one prefix match.
    organisation_path TEXT,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT,
    outcome TEXT NOT NULL CHECK (outcome IN ('success', 'denied', 'failure')),
    request_id TEXT,
    source_address TEXT,
    changes TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_events_path_idx ON audit_events (organisation_path, seq);
CREATE INDEX audit_events_resource_idx ON audit_events (resource_type, resource_id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id);

-- The head of the chain: one row, locked by every append so that appends are serialised.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
