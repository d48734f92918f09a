DROP TABLE campaign_payments;
DROP TABLE campaign_quotas;
DROP TABLE campaigns;
