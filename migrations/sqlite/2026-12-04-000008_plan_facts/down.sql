ALTER TABLE household_members DROP COLUMN laid_off;
ALTER TABLE household_members DROP COLUMN residents_pension;
ALTER TABLE household_members DROP COLUMN business_plan;
ALTER TABLE households DROP COLUMN legal_dispute;
