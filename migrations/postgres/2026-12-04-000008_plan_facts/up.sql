-- The facts of the file that the measure plan (一户一策, 《实施方案》三) proposes measures from.
-- Long-term care needs are health details and live in the members' encrypted health JSON.

-- A legal dispute (labour or other) of the household is on file, for legal aid (三(七)13).
ALTER TABLE households ADD COLUMN legal_dispute BOOLEAN NOT NULL DEFAULT FALSE;

-- The member has a business plan and wants to start a business (三(二)3).
ALTER TABLE household_members ADD COLUMN business_plan BOOLEAN NOT NULL DEFAULT FALSE;
-- The member pays urban-rural residents' basic pension contributions (三(六)11).
ALTER TABLE household_members ADD COLUMN residents_pension BOOLEAN NOT NULL DEFAULT FALSE;
-- The member was laid off by an enterprise (三(六)12, 三(九)18).
ALTER TABLE household_members ADD COLUMN laid_off BOOLEAN NOT NULL DEFAULT FALSE;
