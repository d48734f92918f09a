DROP TRIGGER campaign_quota_history_update ON campaign_quotas;
DROP TRIGGER campaign_quota_history_insert ON campaign_quotas;
DROP FUNCTION campaign_quota_history_record();
DROP TABLE campaign_quota_history;
