-- Precise measures (精准施策, 《实施方案》三): the catalogue of 19 measures in 9 mechanisms, a plan
-- per household (一户一策), referrals to the lead departments, and the assistance ledger.

-- The catalogue, as the implementation plan lists it. Lead and responsible units are unit codes,
-- comma-separated; a lead unit that is a partner department kind is the department a referral
-- for the measure goes to.
CREATE TABLE measures (
    number BIGINT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL,
    mechanism_number BIGINT NOT NULL,
    mechanism_code TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    lead_units TEXT NOT NULL,
    responsible_units TEXT NOT NULL,
    gist TEXT NOT NULL
);
CREATE UNIQUE INDEX measures_code_key ON measures (code);
INSERT INTO measures (number, code, mechanism_number, mechanism_code, name_zh, lead_units, responsible_units, gist) VALUES
    (1, 'information_sharing', 1, 'information_sharing', '建立信息共享机制', 'union', 'hrss,civil_affairs,public_security,tax,housing,market_regulation', 'basic data of filed workers shared with departments: social insurance, medical insurance, provident fund, dibao, housing, private cars; strict protection; periodic file exchange where no network'),
    (2, 'employment_assistance', 2, 'employment', '加大就业援助力度', 'hrss', 'related_departments,towns', 'priority employment help: guidance, job introduction, training, job recommendation, follow-up; public-welfare posts (security, cleaning, greening, facility care)'),
    (3, 'entrepreneurship', 2, 'employment', '支持城市困难职工自主创业', 'hrss', 'finance,tax', 'small catering, grocery, community service, online business, handicrafts; project advice, start-up guidance, guaranteed start-up loans with interest subsidy, tax relief'),
    (4, 'dibao_inclusion', 3, 'safety_net', '稳步提高城市居民最低生活保障水平', 'civil_affairs', 'towns,finance,disabled_persons', 'every eligible hardship worker enters urban dibao, managed dynamically (in and out)'),
    (5, 'special_hardship_support', 3, 'safety_net', '落实特困人员救助供养政策', 'civil_affairs', 'towns', 'eligible household members enter urban special-hardship support'),
    (6, 'mutual_medical_insurance', 4, 'medical', '健全职工医疗互助保障体系', 'union', '', 'workers'' serious-illness mutual aid; enrol in the national union mutual insurance'),
    (7, 'long_term_care_insurance', 4, 'medical', '开展长期护理保险工作', 'medical_insurance', 'health,civil_affairs,finance', 'voluntary long-term care insurance for filed workers according to their situation'),
    (8, 'charity_and_medical_aid', 4, 'medical', '整合慈善资助资源', 'civil_affairs', 'red_cross,disabled_persons,charity', 'donated money, medicine, equipment; medical assistance; link medical aid, temporary aid and charity'),
    (9, 'student_financial_aid', 5, 'education', '全面落实各类资助政策', 'education', 'finance,union', 'national student aid for children of hardship households at every level of school'),
    (10, 'golden_autumn_aid', 5, 'education', '持续开展金秋助学活动', 'union', 'education', 'material and moral support so children finish their studies; regular, long-term, society-wide'),
    (11, 'pension_contribution_subsidy', 6, 'social_insurance', '落实养老保险补贴待遇', 'hrss', 'finance', 'contribution subsidy for household members paying urban-rural residents'' basic pension'),
    (12, 'social_insurance_continuity', 6, 'social_insurance', '推动社保待遇落实', 'hrss', 'union', 'social insurance for workers of over-capacity enterprises; continuation, transfer and benefits after a labour contract ends'),
    (13, 'legal_aid', 7, 'life_difficulties', '推行法律援助服务', 'justice', 'towns,union', 'fee reduction for forensic appraisal and notary within legal-aid scope; free legal services'),
    (14, 'dual_contact', 7, 'life_difficulties', '建立双包联系制度', 'union', 'grassroots_unions', 'county union paired with 1-3 difficult enterprises; each leadership member with 2-3 hardship households; cadres with workers; regular visits'),
    (15, 'psychological_care', 8, 'aspiration', '实施心理疏导关怀', 'union', 'health,grassroots_unions', 'mental-health consultation platform, counselling as needed'),
    (16, 'self_reliant_family', 8, 'aspiration', '评选自立自强家庭', 'civilization_office', 'towns,union', 'favour hardship households in civilised-family, moral-model and similar selections'),
    (17, 'skills_training', 8, 'aspiration', '积极开展技能培训', 'hrss', 'towns,union', 'vocational skills training with training subsidy and living allowance during training'),
    (18, 'wage_guarantee', 9, 'income', '保障基本工资收入', 'hrss', 'union', 'collective contracts, wage payment guarantee, no wage arrears; job-keeping in struggling enterprises'),
    (19, 'income_growth', 9, 'income', '多种方式提高困难职工收入水平', 'hrss', 'towns,union', 'raise business, property and transfer income on top of guaranteed basic income');

-- One plan per household; its version is bumped by every change to its items.
CREATE TABLE household_plans (
    household_id TEXT PRIMARY KEY NOT NULL REFERENCES households (id),
    organisation_path TEXT NOT NULL,
    region_code TEXT NOT NULL,
    proposed_on DATE NOT NULL,
    version BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- One item per measure in a plan: proposed by the rules or added by staff, then accepted or
-- dropped (with a reason).
CREATE TABLE plan_items (
    id TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES household_plans (household_id),
    measure_number BIGINT NOT NULL REFERENCES measures (number),
    -- rule or staff.
    origin TEXT NOT NULL,
    -- proposed, accepted or dropped.
    status TEXT NOT NULL,
    -- Comma-separated member ids the measure concerns (empty: the household as a whole).
    member_ids TEXT NOT NULL,
    -- JSON array of reasons (code, English, Chinese, clause).
    reasons TEXT NOT NULL,
    note TEXT,
    drop_reason TEXT,
    decided_by TEXT,
    decided_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX plan_items_measure_key ON plan_items (household_id, measure_number);

-- An accepted measure sent to its lead department (or the union, for the measures it leads).
CREATE TABLE referrals (
    id TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id),
    plan_item_id TEXT NOT NULL REFERENCES plan_items (id),
    measure_number BIGINT NOT NULL REFERENCES measures (number),
    department_code TEXT NOT NULL,
    organisation_path TEXT NOT NULL,
    region_code TEXT NOT NULL,
    member_ids TEXT NOT NULL,
    -- open, acknowledged, declined or delivered.
    status TEXT NOT NULL,
    due_on DATE NOT NULL,
    note TEXT,
    decline_reason TEXT,
    delivered_on DATE,
    delivery_note TEXT,
    answered_by TEXT,
    created_by TEXT NOT NULL,
    state_since TIMESTAMP NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX referrals_item_key ON referrals (plan_item_id);
-- A department's list: its kind, its region, its state, in id order.
CREATE INDEX referrals_department_idx ON referrals (department_code, status, region_code, id);
CREATE INDEX referrals_path_idx ON referrals (organisation_path, id);
CREATE INDEX referrals_due_idx ON referrals (status, due_on, id);
CREATE INDEX referrals_household_idx ON referrals (household_id, created_at);

-- Help actually given (帮扶台账). Append-only: a correction is a reversing entry.
CREATE TABLE assistance_records (
    id TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id),
    member_id TEXT REFERENCES household_members (id),
    measure_number BIGINT NOT NULL REFERENCES measures (number),
    referral_id TEXT REFERENCES referrals (id),
    organisation_path TEXT NOT NULL,
    region_code TEXT NOT NULL,
    -- organisation (a union) or department.
    unit_kind TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    unit_name TEXT NOT NULL,
    delivered_on DATE NOT NULL,
    -- The calendar year of delivered_on, for the yearly caps.
    year BIGINT NOT NULL,
    -- cash, in_kind, service or enrolment.
    kind TEXT NOT NULL,
    -- Negative only on a reversing entry.
    amount_fen BIGINT NOT NULL,
    fund_source TEXT,
    evidence TEXT,
    note TEXT,
    -- The entry this one reverses; an entry is reversed at most once.
    reverses_id TEXT REFERENCES assistance_records (id),
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX assistance_household_idx ON assistance_records (household_id, year, measure_number);
CREATE INDEX assistance_path_idx ON assistance_records (organisation_path, id);
CREATE INDEX assistance_unit_idx ON assistance_records (unit_kind, unit_id, id);
CREATE UNIQUE INDEX assistance_reverses_key ON assistance_records (reverses_id);

-- Idempotency-Key: the first answer to a key, replayed to a retry with the same body.
CREATE TABLE idempotency_keys (
    caller_id TEXT NOT NULL,
    key TEXT NOT NULL,
    operation TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status BIGINT NOT NULL,
    location TEXT,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (caller_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Scope names for referrals are plural, like the resource.
UPDATE api_keys SET scopes = REPLACE(scopes, 'referral:read', 'referrals:read');
