DROP TABLE plan_proposals;
