-- Offline exchange with departments without a network link (《实施方案》三(一)1): each department's
-- exchange secret (shown once, kept encrypted: it signs and checks files), the batches of open
-- tasks sent out, and which tasks each batch carried. A batch's answer file applies once.
CREATE TABLE exchange_secrets (
    department_id TEXT PRIMARY KEY NOT NULL REFERENCES departments (id),
    secret_enc TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE exchange_batches (
    id TEXT PRIMARY KEY NOT NULL,
    department_id TEXT NOT NULL REFERENCES departments (id),
    department_code TEXT NOT NULL,
    organisation_path TEXT NOT NULL,
    -- csv | jsonl
    format TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    signature TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    imported_sha256 TEXT,
    imported_rows BIGINT,
    imported_by TEXT,
    imported_at TIMESTAMP
);
CREATE INDEX exchange_batches_department_idx ON exchange_batches (department_id, id);

CREATE TABLE exchange_batch_tasks (
    batch_id TEXT NOT NULL REFERENCES exchange_batches (id),
    task_id TEXT NOT NULL REFERENCES verification_tasks (id),
    PRIMARY KEY (batch_id, task_id)
);
