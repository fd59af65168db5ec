package dev.egress.audit;

import dev.egress.core.FirewallBackend;
import dev.egress.core.LifecycleBuilder;
import dev.egress.core.RulesetEnforcer;
import dev.egress.enforcer.NameResolver;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The collaborators of an enforcer that can keep an audit trail: those of every enforcer ({@link
 * LifecycleBuilder}) and where the records go ({@link #audit}). The pf and nftables enforcers'
 * builders extend it and supply only how their packet filter's log is read; the rest of the trail
 * is wired here, once for both ({@link #buildAuditedLifecycle}).
 *
 * @param <B> the concrete builder, returned by every setter
 */
public abstract class AuditedLifecycleBuilder<B extends AuditedLifecycleBuilder<B>>
    extends LifecycleBuilder<B> {
  private @Nullable AuditWriter auditWriter;
  private Consumer<AuditRecord.Refused> auditRecords = record -> {};

  protected AuditedLifecycleBuilder() {}

  /**
   * Keeps an audit trail: the backend's readers of its packet filter's log run from the build to
   * the enforcer's close (the backend's builder says what they run and need); each refused packet
   * becomes a record attributed to the container that held its source address then, naming the host
   * it was last given for the destination (by the resolver, for the names of its policy, or by the
   * DNS filter's grants), and goes to {@code writer} (which the enforcer does not close) and to
   * {@code records} (quick, must not throw). Only what the rules log is recorded: policies with
   * {@code log denied}, a guard that logs.
   */
  public B audit(AuditWriter writer, Consumer<AuditRecord.Refused> records) {
    this.auditWriter = Objects.requireNonNull(writer, "writer");
    this.auditRecords = Objects.requireNonNull(records, "records");
    return self();
  }

  /**
   * The lifecycle over {@code backend}, with an audit trail when {@link #audit} asked for one: a
   * new {@link AddressHistory} hears the lifecycle's events before the given listener does (so that
   * it knows an attachment before its first record) and records the given resolver's answers;
   * {@code startReaders} starts the backend's readers of its log, whose lines go to that history's
   * {@link RefusalLog}. Each call builds a trail of its own and leaves this builder as it was.
   * Without {@link #audit}, {@code startReaders} is not called.
   *
   * @param startReaders starts the readers and returns once they read, or throws {@link
   *     IllegalStateException}
   * @throws IllegalStateException if no resolver was given (then no reader was started), or the
   *     readers could not be started; readers already started are closed when the lifecycle cannot
   *     be built
   */
  protected <R extends LogReaders> AuditedLifecycle<R> buildAuditedLifecycle(
      FirewallBackend backend, Function<RefusalLog, R> startReaders) {
    AuditWriter writer = auditWriter;
    if (writer == null) {
      return AuditedLifecycle.unaudited(buildLifecycle(backend));
    }
    NameResolver resolver = requiredResolver();
    AddressHistory history = AddressHistory.withDefaults();
    R readers = startReaders.apply(new RefusalLog(history, writer, auditRecords));
    try {
      RulesetEnforcer lifecycle =
          buildLifecycle(
              backend,
              history.recording(resolver, configuredClock()),
              history.before(configuredListener()));
      return AuditedLifecycle.audited(lifecycle, history, readers, configuredClock());
    } catch (RuntimeException e) {
      readers.close();
      throw e;
    }
  }
}
