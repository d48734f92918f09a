UPDATE api_keys SET scopes = REPLACE(REPLACE(REPLACE(scopes, ',referrals:write', ''), 'referrals:write,', ''), 'referrals:read', 'referral:read');
UPDATE api_keys SET scopes = REPLACE(scopes, 'referrals:write', '');
DROP TABLE idempotency_keys;
DROP TABLE assistance_records;
DROP TABLE referrals;
DROP TABLE plan_items;
DROP TABLE household_plans;
DROP TABLE measures;
