package dev.egress.daemon.service;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.egress.daemon.wire.Command;
import dev.egress.daemon.wire.ErrorCode;
import dev.egress.daemon.wire.EventJson;
import dev.egress.daemon.wire.Json;
import dev.egress.daemon.wire.PolicyName;
import dev.egress.daemon.wire.PolicyRef;
import dev.egress.daemon.wire.RequestException;
import dev.egress.daemon.wire.Values;
import dev.egress.dns.LookupError;
import dev.egress.dns.NameStatus;
import dev.egress.enforcer.Attachment;
import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEvent;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.ReconcileResult;
import dev.egress.enforcer.Subject;
import dev.egress.enforcer.TrafficCounters;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.PolicySyntaxException;
import dev.egress.policy.PolicyText;
import dev.egress.policy.UserText;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The commands of the protocol carried out on one hosted enforcer, and the daemon's lifecycle
 * around it: taking over the attachments of the state file when it starts, re-reading policy files,
 * health checks.
 *
 * <p>Why one class of this size: every protocol command runs under the same striped locks and keeps
 * the same state file in line with the enforcer; a split by command would share both through
 * package-private state. (Left as is while egress-daemon is owned elsewhere.)
 *
 * <p>The enforcer is the truth about what is attached; this class adds what the protocol reports
 * besides (the policy's file name, when it was attached) and keeps the state file in line with it:
 * a successful {@code attach} or {@code update} is answered only once the state file says so.
 *
 * <p>Thread-safe. Commands for one container id run one at a time (striped locks); commands for
 * different ids run concurrently, as the enforcer allows. Every method blocks as the enforcer does.
 */
public final class EgressService {
  /** The protocol version this daemon speaks. */
  public static final int PROTOCOL = 1;

  /** This daemon's version. */
  public static final String VERSION = "0.1.0";

  private static final Logger log = LoggerFactory.getLogger(EgressService.class);
  private static final int LOCK_STRIPES = 64;

  private final HostedEnforcer host;
  private final PolicyDirectory policies;
  private final StateFile state;
  private final EventHub events;
  private final Counters counters;
  private final Clock clock;
  private final Health health = new Health();

  /** What the protocol says about each attachment besides what the enforcer knows. */
  private record Entry(
      Attachment attachment, @Nullable PolicyName policyName, Instant attachedAt) {}

  private final Map<ContainerId, Entry> entries = new ConcurrentHashMap<>();
  private final ReentrantLock[] locks = new ReentrantLock[LOCK_STRIPES];

  /** Counts changes to {@link #entries}; the state file is written up to {@link #written}. */
  private final AtomicLong changes = new AtomicLong();

  private final Object stateLock = new Object();
  private long written;

  /** The failure last reported per policy file, so that a broken file is reported once. */
  private final Map<PolicyName, String> reloadFailures = new ConcurrentHashMap<>();

  public EgressService(
      HostedEnforcer host,
      PolicyDirectory policies,
      StateFile state,
      EventHub events,
      Counters counters,
      Clock clock) {
    this.host = Objects.requireNonNull(host, "host");
    this.policies = Objects.requireNonNull(policies, "policies");
    this.state = Objects.requireNonNull(state, "state");
    this.events = Objects.requireNonNull(events, "events");
    this.counters = Objects.requireNonNull(counters, "counters");
    this.clock = Objects.requireNonNull(clock, "clock");
    for (int i = 0; i < LOCK_STRIPES; i++) {
      locks[i] = new ReentrantLock();
    }
  }

  /**
   * Makes the host ready and takes over the attachments of the state file: the host's guard is
   * checked and repaired first, then each saved attachment is attached again (atomically replacing
   * its rules, which a restart left in place) with the policy text that was in force. Nothing is
   * removed: rule sets the state file does not name stay until a client reconciles. An attachment
   * that cannot be taken over is logged and reported by {@code status}.
   *
   * @throws IOException if the state file cannot be read; the daemon must not start then, since it
   *     would lose track of attached containers
   */
  public void start() throws IOException {
    List<StateFile.Saved> saved = state.read();
    checkHealth();
    for (StateFile.Saved attachment : saved) {
      ContainerId id = attachment.container().id();
      ReentrantLock lock = lockOf(id);
      lock.lock();
      try {
        EgressPolicy policy = PolicyText.parse(attachment.policyText(), "state");
        Attachment attached = host.enforcer().attach(attachment.container(), policy);
        entries.put(id, new Entry(attached, attachment.policyName(), attachment.attachedAt()));
      } catch (PolicySyntaxException | EgressException | RuntimeException e) {
        log.error("could not take over the attachment of {} after the restart", id, e);
        health.set(
            "adopt:" + id,
            new Health.Problem(
                "could not take over the attachment of "
                    + id
                    + " after egressd restarted: "
                    + message(e),
                "attach it again; a rule set left installed stays until reconcile removes it"));
      } finally {
        lock.unlock();
      }
    }
    changes.incrementAndGet();
    persistOrReport();
    log.info("took over {} of {} saved attachments", entries.size(), saved.size());
    reloadPolicies();
  }

  public ObjectNode version() {
    ObjectNode data = Json.object();
    data.put("protocol", PROTOCOL);
    data.put("egressd", VERSION);
    data.put("backend", host.backend());
    return data;
  }

  /**
   * Attaches a policy; the same endpoint again replaces it (as the enforcer's attach does).
   *
   * @throws RequestException invalid-request or invalid-policy (bad policy reference),
   *     unsupported-policy, conflict, enforcement-failed (also when the state file cannot record
   *     it), internal
   */
  public ObjectNode attach(Command.Attach attach) throws RequestException {
    EgressPolicy policy = policies.load(attach.policy());
    PolicyName name = nameOf(attach.policy());
    ContainerEndpoint container = attach.container();
    ContainerId id = container.id();
    ReentrantLock lock = lockOf(id);
    lock.lock();
    try {
      Attachment attached;
      try {
        attached = host.enforcer().attach(container, policy);
      } catch (EgressException | RuntimeException e) {
        throw failure(id, e);
      }
      Entry previous = entries.get(id);
      Instant attachedAt =
          previous != null && previous.attachment() == attached
              ? previous.attachedAt()
              : clock.instant();
      entries.put(id, new Entry(attached, name, attachedAt));
      changes.incrementAndGet();
    } finally {
      lock.unlock();
    }
    persistBeforeAnswering(id, "attached");
    counters.attaches.incrementAndGet();
    return attached(id, name, policy);
  }

  /**
   * Replaces the policy of an attached container; the old one stays in force if this fails.
   *
   * @throws RequestException not-attached, and as {@link #attach}
   */
  public ObjectNode update(Command.Update update) throws RequestException {
    EgressPolicy policy = policies.load(update.policy());
    PolicyName name = nameOf(update.policy());
    ContainerId id = update.containerId();
    ReentrantLock lock = lockOf(id);
    lock.lock();
    try {
      Attachment attachment = attachmentOf(id).orElseThrow(() -> notAttached(id));
      try {
        attachment.update(policy);
      } catch (IllegalStateException e) {
        throw notAttached(id); // detached since it was looked up
      } catch (EgressException | RuntimeException e) {
        throw failure(id, e);
      }
      Entry previous = entries.get(id);
      entries.put(
          id,
          new Entry(attachment, name, previous != null ? previous.attachedAt() : clock.instant()));
      changes.incrementAndGet();
    } finally {
      lock.unlock();
    }
    persistBeforeAnswering(id, "updated");
    return attached(id, name, policy);
  }

  /**
   * Detaches a container; one that is not attached is no error. When the removal fails, the rules
   * stay (they only restrict) and the enforcer retries them.
   *
   * @throws RequestException enforcement-failed, internal
   */
  public ObjectNode detach(Command.Detach detach) throws RequestException {
    ContainerId id = detach.containerId();
    boolean wasAttached;
    ReentrantLock lock = lockOf(id);
    lock.lock();
    try {
      Optional<Attachment> attachment = attachmentOf(id);
      wasAttached = attachment.isPresent();
      if (wasAttached) {
        // Forgotten whether or not removal succeeds: a failed removal is the enforcer's to retry.
        entries.remove(id);
        changes.incrementAndGet();
        try {
          attachment.get().detach();
        } catch (EgressException | RuntimeException e) {
          throw failure(id, e);
        } finally {
          persistOrReport();
        }
        counters.detaches.incrementAndGet();
      }
    } finally {
      lock.unlock();
    }
    ObjectNode data = Json.object();
    data.put("containerId", id.value());
    data.put("wasAttached", wasAttached);
    return data;
  }

  /**
   * Removes the rules of every container not listed, and repairs those of the listed ones.
   *
   * @throws RequestException enforcement-failed (what succeeded stays done), internal
   */
  public ObjectNode reconcile(Command.Reconcile reconcile) throws RequestException {
    ReconcileResult result;
    try {
      result = host.enforcer().reconcile(reconcile.liveContainerIds());
    } catch (EgressException | RuntimeException e) {
      throw failure(null, e);
    } finally {
      entries.values().removeIf(entry -> !entry.attachment().isActive());
      changes.incrementAndGet();
      persistOrReport();
    }
    ObjectNode data = Json.object();
    ArrayNode detached = data.putArray("detached");
    ArrayNode orphans = data.putArray("orphanRuleSetsRemoved");
    result.removed().stream()
        .sorted(Comparator.comparing(Subject::toString))
        .forEach(
            subject -> {
              if (subject instanceof Subject.Container container) {
                detached.add(container.id().value());
                counters.detaches.incrementAndGet();
              } else {
                orphans.add(((Subject.Unowned) subject).name().value());
              }
            });
    ArrayNode repaired = data.putArray("repaired");
    result.repaired().stream().sorted().forEach(id -> repaired.add(id.value()));
    return data;
  }

  /**
   * Attachments (each with its traffic counters when the kernel could be read), resolver state,
   * host health and counters. Reads the kernel once for the traffic counters; when that fails the
   * attachments have none and {@code trafficError} says why.
   */
  public ObjectNode status() {
    ObjectNode data = version();
    Map<ContainerId, TrafficCounters> traffic = Map.of();
    try {
      traffic = host.enforcer().counters();
    } catch (EgressException e) {
      data.put("trafficError", UserText.line(message(e)));
    }
    ArrayNode attachments = data.putArray("attachments");
    for (Entry entry : live()) {
      ObjectNode json = attachments.addObject();
      ContainerEndpoint container = entry.attachment().container();
      json.set("container", Values.json(container));
      json.put("ruleSet", host.ruleSetNames().apply(container.id()).value());
      json.set("policy", policyJson(entry.policyName(), entry.attachment().policy()));
      json.put("attachedAt", Json.time(entry.attachedAt()));
      TrafficCounters counted = traffic.get(container.id());
      if (counted != null) {
        ObjectNode counters = json.putObject("traffic");
        counters.put("allowedPackets", counted.allowedPackets());
        counters.put("allowedBytes", counted.allowedBytes());
        counters.put("refusedPackets", counted.refusedPackets());
        counters.put("refusedBytes", counted.refusedBytes());
      }
    }
    ArrayNode names = data.putObject("resolver").putArray("names");
    for (NameStatus name : host.resolverStatus().get()) {
      ObjectNode json = names.addObject();
      json.put("name", name.name().ascii());
      ArrayNode addresses = json.putArray("addresses");
      name.addresses().stream().map(IpAddresses::format).sorted().forEach(addresses::add);
      json.put(
          "state",
          name.inGrace() ? "grace" : name.addresses().isEmpty() ? "unresolved" : "resolved");
      Instant expires = name.expires();
      if (expires != null) {
        json.put("expiresAt", Json.time(expires));
      }
      LookupError error = name.lastError();
      if (error != null) {
        json.put("lastError", UserText.line(error.kind() + ": " + error.detail()));
      }
    }
    ArrayNode problems = data.putObject("health").putArray("problems");
    for (Health.Problem problem : health.problems()) {
      ObjectNode json = problems.addObject();
      json.put("what", UserText.line(problem.what()));
      json.put("fix", UserText.line(problem.fix()));
    }
    data.set("counters", counters.toJson());
    return data;
  }

  /** Validates policy text: an invalid policy is an answer, not an error. */
  public ObjectNode check(Command.Check check) {
    ObjectNode data = Json.object();
    try {
      EgressPolicy policy = PolicyText.parse(check.text(), PolicyDirectory.TEXT_SOURCE);
      data.put("valid", true);
      data.put("summary", summary(policy));
    } catch (PolicySyntaxException e) {
      data.put("valid", false);
      data.set("problems", PolicyDirectory.problems(e.problems()));
    }
    return data;
  }

  /**
   * Re-reads the policy file of every attachment attached by name and pushes a changed policy to
   * each of them, atomically ({@code updated} events follow). A file that no longer reads or parses
   * leaves its attachments on their last good policy; it is reported once per change of the
   * failure, as a {@code failed} event (operation {@code reload}) per attachment, and in {@code
   * status} until it reads again.
   */
  public void reloadPolicies() {
    Map<PolicyName, List<ContainerId>> users = new HashMap<>();
    for (Entry entry : live()) {
      PolicyName name = entry.policyName();
      if (name != null) {
        users
            .computeIfAbsent(name, n -> new ArrayList<>())
            .add(entry.attachment().container().id());
      }
    }
    reloadFailures.keySet().retainAll(users.keySet());
    boolean changed = false;
    for (Map.Entry<PolicyName, List<ContainerId>> use : users.entrySet()) {
      changed |= reload(use.getKey(), use.getValue());
    }
    if (changed) {
      changes.incrementAndGet();
      persistOrReport();
    }
  }

  private boolean reload(PolicyName name, List<ContainerId> ids) {
    EgressPolicy policy;
    try {
      policy = PolicyText.parse(policies.read(name), name.fileName());
    } catch (FileSystemException | PolicySyntaxException e) {
      String failure = message(e);
      if (!failure.equals(reloadFailures.put(name, failure))) {
        log.warn(
            "policy {} no longer reads; {} keep their last good policy: {}", name, ids, failure);
        for (ContainerId id : ids) {
          events.publish(
              EventJson.failed(
                  clock.instant(),
                  Subject.container(id),
                  "reload",
                  failure + "; the container keeps its last good policy",
                  host.ruleSetNames()));
        }
      }
      health.set(
          "policy:" + name,
          new Health.Problem(
              "policy file " + name.fileName() + " no longer reads: " + failure,
              ids.stream().map(ContainerId::value).sorted().collect(Collectors.joining(", "))
                  + " keep their last good policy; fix the file (it is re-read on a timer and on"
                  + " SIGHUP)"));
      return false;
    }
    reloadFailures.remove(name);
    health.clear("policy:" + name);
    boolean changed = false;
    String text = PolicyText.format(policy);
    for (ContainerId id : ids) {
      ReentrantLock lock = lockOf(id);
      lock.lock();
      try {
        Entry entry = entries.get(id);
        if (entry == null
            || !entry.attachment().isActive()
            || !name.equals(entry.policyName())
            || PolicyText.format(entry.attachment().policy()).equals(text)) {
          continue;
        }
        entry.attachment().update(policy);
        changed = true;
        health.clear("reload:" + id);
      } catch (EgressException | RuntimeException e) {
        // The enforcer reported the failure as an event; the old policy stays in force.
        log.warn("could not push the changed policy {} to {}", name, id, e);
        health.set(
            "reload:" + id,
            new Health.Problem(
                "the changed policy " + name + " could not be pushed to " + id + ": " + message(e),
                "it keeps its previous policy; the push is tried again at the next re-read"));
      } finally {
        lock.unlock();
      }
    }
    return changed;
  }

  /**
   * Checks the host and every attachment once through the enforcer (which repairs what it can): the
   * host first, so that a missing guard is loaded before anything else. What stays broken is
   * reported by {@code status} until a check finds it fixed.
   */
  public void checkHealth() {
    Map<String, Health.Problem> found = new LinkedHashMap<>();
    try {
      for (EgressEvent.DriftDetected drift : host.healthCheck().get()) {
        if (!drift.repaired()) {
          found.put(
              "drift:" + drift.subject(),
              new Health.Problem(
                  drift.subject() + ": " + drift.description(),
                  "see egressd's log and run 'egressctl doctor'; the check runs again"
                      + " periodically"));
        }
      }
    } catch (RuntimeException e) {
      log.error("health check failed", e);
      found.put(
          "drift:check",
          new Health.Problem("the health check failed: " + message(e), "see egressd's log"));
    }
    health.replace("drift:", found);
  }

  /** Closes the enforcer (its rules stay in place) and the resolver. Idempotent. */
  public void close() {
    host.close();
  }

  /** How many containers are attached. */
  public int attachmentCount() {
    return live().size();
  }

  private List<Entry> live() {
    return entries.values().stream()
        .filter(entry -> entry.attachment().isActive())
        .sorted(Comparator.comparing(entry -> entry.attachment().container().id()))
        .collect(Collectors.toList());
  }

  private Optional<Attachment> attachmentOf(ContainerId id) {
    return host.enforcer().attachments().stream()
        .filter(attachment -> attachment.container().id().equals(id))
        .findFirst();
  }

  private ReentrantLock lockOf(ContainerId id) {
    return locks[Math.floorMod(id.hashCode(), LOCK_STRIPES)];
  }

  private ObjectNode attached(ContainerId id, @Nullable PolicyName name, EgressPolicy policy) {
    ObjectNode data = Json.object();
    data.put("containerId", id.value());
    data.put("ruleSet", host.ruleSetNames().apply(id).value());
    data.set("policy", policyJson(name, policy));
    return data;
  }

  private static ObjectNode policyJson(@Nullable PolicyName name, EgressPolicy policy) {
    ObjectNode json = Json.object();
    if (name != null) {
      json.put("name", name.value());
    }
    json.put("text", PolicyText.format(policy));
    return json;
  }

  private static @Nullable PolicyName nameOf(PolicyRef ref) {
    return ref instanceof PolicyRef.Named named ? named.name() : null;
  }

  /**
   * Writes the state file if it is behind, with whatever changed meanwhile (one write may cover
   * several changes).
   */
  private void persist() throws IOException {
    long wanted = changes.get();
    synchronized (stateLock) {
      if (written >= wanted) {
        return;
      }
      long covered = changes.get();
      List<StateFile.Saved> saved = new ArrayList<>();
      for (Entry entry : live()) {
        saved.add(
            new StateFile.Saved(
                entry.attachment().container(),
                entry.policyName(),
                PolicyText.format(entry.attachment().policy()),
                entry.attachedAt()));
      }
      state.write(saved);
      written = covered;
      health.clear("state");
    }
  }

  /** After attach and update: the answer is a success only if a restart would keep it. */
  private void persistBeforeAnswering(ContainerId id, String done) throws RequestException {
    try {
      persist();
    } catch (IOException e) {
      reportStateFailure(e);
      ObjectNode details = Json.object();
      details.put(
          "hint", "fix the state file's directory, then attach again (attach is idempotent)");
      throw new RequestException(
          ErrorCode.ENFORCEMENT_FAILED,
          "container "
              + id
              + " is "
              + done
              + ", but egressd could not record it in its state file and would lose track of it"
              + " at a restart: "
              + message(e),
          details);
    }
  }

  /** After removals: a state file behind only makes a restarted daemon restrict more. */
  private void persistOrReport() {
    try {
      persist();
    } catch (IOException e) {
      reportStateFailure(e);
    }
  }

  private void reportStateFailure(IOException e) {
    log.error("cannot write the state file {}", state.path(), e);
    health.set(
        "state",
        new Health.Problem(
            "the state file " + state.path() + " cannot be written: " + message(e),
            "fix its directory; it is written again at the next change"));
  }

  private static RequestException notAttached(ContainerId id) {
    return RequestException.withDetail(
        ErrorCode.NOT_ATTACHED,
        "container " + id + " is not attached: attach it first",
        "containerId",
        id.value());
  }

  /**
   * The error answer for an enforcer's failure, as its SPI documents them: unsupported policy,
   * kernel failure, conflict (an id or address in use), a policy that needs the unknown gateway;
   * anything else is a bug.
   */
  private static RequestException failure(@Nullable ContainerId id, Exception e) {
    if (e instanceof UnsupportedPolicyException unsupported) {
      return withHint(ErrorCode.UNSUPPORTED_POLICY, unsupported, unsupported.hint());
    }
    if (e instanceof EgressException failed) {
      return withHint(
          ErrorCode.ENFORCEMENT_FAILED,
          failed,
          failed.hint().isEmpty()
              ? "do not let the container work; see egressd's log and 'egressctl doctor'"
              : failed.hint());
    }
    if (e instanceof IllegalStateException) {
      return new RequestException(ErrorCode.CONFLICT, message(e));
    }
    if (e instanceof IllegalArgumentException) {
      return RequestException.invalidField("container.gateway", message(e));
    }
    log.error("unexpected failure{}", id == null ? "" : " for " + id, e);
    return new RequestException(
        ErrorCode.INTERNAL,
        "egressd failed unexpectedly ("
            + e.getClass().getSimpleName()
            + "); this is a bug: see egressd's log");
  }

  private static RequestException withHint(ErrorCode code, Exception e, String hint) {
    ObjectNode details = Json.object();
    details.put("hint", UserText.line(hint));
    return new RequestException(code, message(e), details);
  }

  private static String message(Exception e) {
    return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
  }

  /** {@code 2 allow rules, dns gateway, denials logged}: egressctl check's summary. */
  static String summary(EgressPolicy policy) {
    int rules = policy.allowances().size();
    return rules
        + (rules == 1 ? " allow rule, " : " allow rules, ")
        + policy.dns()
        + (policy.logDenied() ? ", denials logged" : ", denials not logged");
  }
}
