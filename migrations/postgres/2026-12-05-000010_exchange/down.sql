DROP TABLE exchange_batch_tasks;
DROP TABLE exchange_batches;
DROP TABLE exchange_secrets;
