DROP TABLE throttle_requests;
DROP TABLE throttle_failures;
