-- Throttles shared by every server process on this database: failed attempts per subject with their
-- back-off (sign-ins per username and address, per address), and requests per API key in a
-- sliding minute. Times are milliseconds since 1970 on the servers' clocks; rows whose
-- `expires_ms` has passed mean nothing any more and are swept.
CREATE TABLE throttle_failures (
    subject TEXT PRIMARY KEY NOT NULL,
    failures BIGINT NOT NULL,
    last_ms BIGINT NOT NULL,
    -- 1 when the last attempt was refused (and counted nothing), else 0
    refused BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX throttle_failures_expires_idx ON throttle_failures (expires_ms);

CREATE TABLE throttle_requests (
    subject TEXT PRIMARY KEY NOT NULL,
    -- the minute (ms since 1970 / 60000) `hits` counts; `previous_hits` counted the one before it
    window_minute BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    previous_hits BIGINT NOT NULL,
    refused BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX throttle_requests_expires_idx ON throttle_requests (expires_ms);
