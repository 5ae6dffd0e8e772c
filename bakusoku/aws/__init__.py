"""What runs on AWS Lambda besides the pipeline's handlers: the HTTP API entry point, the alert
notifier, the Step Functions executions adapter and the migration function (the schema on deploy)."""
