"""Objects, presigned requests (SigV4) and object-created events: local store and Amazon S3."""
