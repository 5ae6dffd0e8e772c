"""What runs on AWS Lambda besides the pipeline's handlers: the HTTP API entry point, the alert
notifier and reading secrets."""
