-- The history of campaign quotas (名额、额度), for the campaigns report (督查问效, 《实施方案》
-- 四(三)): every quota entered or changed adds a row, valid from the quota's updated_at, so that a
-- report as of a time compares spending with the quotas as they stood then. Kept by triggers.
CREATE TABLE campaign_quota_history (
    seq BIGSERIAL PRIMARY KEY,
    campaign_id TEXT NOT NULL,
    organisation_id TEXT NOT NULL,
    organisation_path TEXT NOT NULL,
    quota_fen BIGINT NOT NULL,
    valid_from TIMESTAMP NOT NULL
);
CREATE INDEX campaign_quota_history_idx
    ON campaign_quota_history (campaign_id, organisation_id, seq);

INSERT INTO campaign_quota_history (campaign_id, organisation_id, organisation_path, quota_fen,
    valid_from)
SELECT campaign_id, organisation_id, organisation_path, quota_fen, updated_at
FROM campaign_quotas ORDER BY updated_at, campaign_id, organisation_id;

CREATE FUNCTION campaign_quota_history_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campaign_quota_history (campaign_id, organisation_id, organisation_path,
        quota_fen, valid_from)
    VALUES (NEW.campaign_id, NEW.organisation_id, NEW.organisation_path, NEW.quota_fen,
        NEW.updated_at);
    RETURN NULL;
END;
$$;

CREATE TRIGGER campaign_quota_history_insert AFTER INSERT ON campaign_quotas
FOR EACH ROW EXECUTE FUNCTION campaign_quota_history_record();

CREATE TRIGGER campaign_quota_history_update AFTER UPDATE ON campaign_quotas
FOR EACH ROW WHEN (OLD.quota_fen IS DISTINCT FROM NEW.quota_fen)
EXECUTE FUNCTION campaign_quota_history_record();
