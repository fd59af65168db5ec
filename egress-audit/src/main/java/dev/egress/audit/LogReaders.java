package dev.egress.audit;

/**
 * A backend's readers of its packet filter's log for an enforcer's audit trail, which hand their
 * lines to a {@link RefusalLog}: started when the enforcer is built ({@link
 * AuditedLifecycleBuilder#buildAuditedLifecycle}), closed after its lifecycle.
 */
public interface LogReaders extends AutoCloseable {
  /** Stops the readers and waits for them; idempotent, throws nothing. */
  @Override
  void close();
}
