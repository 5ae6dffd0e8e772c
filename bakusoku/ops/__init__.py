"""Operations — alerts, metrics, tracing, logging."""
