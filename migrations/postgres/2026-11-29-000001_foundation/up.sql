-- The union hierarchy, partner departments and employers (DESIGN §2).
-- Portable types only: TEXT ids, BIGINT versions, TIMESTAMP in UTC.
CREATE TABLE organisations (
    id TEXT PRIMARY KEY NOT NULL,
    parent_id TEXT REFERENCES organisations (id),
    kind TEXT NOT NULL CHECK (kind IN ('city_federation', 'county_federation', 'grassroots_union')),
    union_type TEXT CHECK (union_type IN ('enterprise', 'town_street', 'industry', 'other')),
    name TEXT NOT NULL,
    short_name TEXT,
    region_code TEXT NOT NULL,
    address TEXT,
    -- Materialised path '/root/…/self/' so a subtree is one indexed prefix scan.
    path TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX organisations_parent_name_key ON organisations (parent_id, name);
CREATE UNIQUE INDEX organisations_path_key ON organisations (path);
CREATE INDEX organisations_region_code_idx ON organisations (region_code);

CREATE TABLE departments (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    region_code TEXT NOT NULL,
    address TEXT,
    active BOOLEAN NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX departments_code_region_key ON departments (code, region_code);

CREATE TABLE enterprises (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    credit_code TEXT NOT NULL,
    region_code TEXT NOT NULL,
    difficult BOOLEAN NOT NULL,
    address TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX enterprises_credit_code_key ON enterprises (credit_code);
CREATE INDEX enterprises_region_code_idx ON enterprises (region_code);
