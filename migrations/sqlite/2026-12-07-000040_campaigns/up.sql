-- Campaigns (帮扶活动: 金秋助学 《实施方案》三(五)10, 送温暖 三(七)14): a drive of a county or city
-- union paying a set amount to the filed households a rule picks, out of a budget split down the
-- union tree as quotas, each payment an entry of the assistance ledger.
CREATE TABLE campaigns (
    id TEXT PRIMARY KEY NOT NULL,
    -- The union that runs it; its quota is the budget.
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    organisation_path TEXT NOT NULL,
    region_code TEXT NOT NULL,
    -- warmth, golden_autumn or other.
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    starts_on DATE NOT NULL,
    ends_on DATE NOT NULL,
    budget_fen BIGINT NOT NULL,
    -- The measure its ledger entries are recorded under.
    measure_number BIGINT NOT NULL REFERENCES measures (number),
    -- JSON: the eligibility rule (rule and categories) and the amount rule.
    eligibility TEXT NOT NULL,
    amount TEXT NOT NULL,
    -- Bumped by every change to the quotas.
    version BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX campaigns_path_idx ON campaigns (organisation_path, id);

-- The share of the budget an organisation below the campaign's may pay out (with its
-- subtree), entered by its parent. The quotas of an organisation's children never add up to
-- more than its own.
CREATE TABLE campaign_quotas (
    campaign_id TEXT NOT NULL REFERENCES campaigns (id),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    organisation_path TEXT NOT NULL,
    parent_id TEXT NOT NULL REFERENCES organisations (id),
    quota_fen BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, organisation_id)
);
CREATE INDEX campaign_quotas_parent_idx ON campaign_quotas (campaign_id, parent_id);

-- A household paid by a campaign: at most once, whoever pays.
CREATE TABLE campaign_payments (
    id TEXT PRIMARY KEY NOT NULL,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id),
    household_id TEXT NOT NULL REFERENCES households (id),
    -- The household's grassroots union, for spending by subtree.
    organisation_path TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    paid_on DATE NOT NULL,
    assistance_id TEXT NOT NULL REFERENCES assistance_records (id),
    -- The organisation of the person who paid.
    paid_by_organisation_id TEXT NOT NULL REFERENCES organisations (id),
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX campaign_payments_household_key ON campaign_payments (campaign_id, household_id);
CREATE INDEX campaign_payments_path_idx ON campaign_payments (campaign_id, organisation_path);
