package dev.egress.nftables;

import dev.egress.audit.NflogGroups;
import dev.egress.core.FirewallBackend;
import dev.egress.core.Preview;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.RuleSetName;
import dev.egress.enforcer.TrafficCounters;
import dev.egress.enforcer.UnsupportedPolicyException;
import dev.egress.plan.EnforcementPlan;
import dev.egress.policy.EgressPolicy;
import dev.egress.policy.HostName;
import dev.egress.policy.UserText;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The nftables {@link FirewallBackend}: one {@code inet} table of its own (see {@link NftRenderer}
 * for its layout), every change one {@code nft -f -} transaction (the DNS filter's grants one
 * transaction each through a long-lived {@code nft -i}, {@link NftCommand#applyGrant}), connections
 * cut with one {@code conntrack -R -} batch.
 *
 * <p>Why one class of this size: each {@link FirewallBackend} step is a transaction whose read-back
 * compares the same text the step loaded, and both depend on what the backend remembers per rule
 * set; the text itself is {@link NftRenderer}'s.
 *
 * <p>The kernel is the authority on what is installed. The backend remembers, per rule set, the
 * dispatched addresses and sets it last loaded or read back, so that a removal needs no listing and
 * a reinstall drops what the rule set no longer has. What it remembers is only ever used in
 * transactions that fail when it no longer holds (an element that now points to another chain); a
 * failed transaction changes nothing, and the backend then reads the table instead.
 *
 * <p>A load that outlives the command timeout is killed and read back before it is reported: when
 * what it was to load is in place, the call succeeds (nft commits all or nothing); otherwise the
 * {@link NftException} of kind {@link NftException.Kind#TIMEOUT} says it is not in place, or that
 * the read-back failed too.
 *
 * <p>Thread-safe for calls on different rule sets (each is one transaction on its own objects).
 * Every method blocks until {@code nft} (and {@code conntrack}) have exited, at most the command's
 * timeout per call (twice that for a timed-out load and its read-back). Failures throw {@link
 * NftException} (an {@link EgressException}) with a hint; a failed transaction changes nothing.
 */
public final class NftBackend implements FirewallBackend {
  private static final Logger log = LoggerFactory.getLogger(NftBackend.class);

  private final NftCommand command;
  private final NftRenderer renderer;
  private final NftGuard guard;
  private final Path procNet;
  private final @Nullable InetAddress dnsFilter;
  private final Clock clock;

  /**
   * How long a granted element may outlive its grant in the kernel's set and still not count as
   * drift: the kernel's timer and the enforcer's clock part by a little.
   */
  private static final Duration GRANT_SLACK = Duration.ofSeconds(2);

  /** What each rule set held when this backend last loaded or read it; see the class comment. */
  private final Map<RuleSetName, Held> held = new ConcurrentHashMap<>();

  /** The dispatched addresses, the sets and the redirected addresses of one rule set. */
  private record Held(Set<InetAddress> addresses, Set<String> sets, Set<InetAddress> redirected) {
    Held {
      // In their order: the transactions made from them read the same every time.
      addresses = Collections.unmodifiableSet(new LinkedHashSet<>(addresses));
      sets = Collections.unmodifiableSet(new LinkedHashSet<>(sets));
      redirected = Collections.unmodifiableSet(new LinkedHashSet<>(redirected));
    }

    static Held in(NftListing listing, ChainName chain) {
      Set<InetAddress> dispatched = new LinkedHashSet<>(listing.dispatchedTo(chain.value()));
      Set<InetAddress> redirected = new LinkedHashSet<>(dispatched);
      redirected.retainAll(redirectedIn(listing));
      return new Held(dispatched, listing.setsOf(chain).keySet(), redirected);
    }
  }

  /**
   * The last table listing a check read (counter values removed), parsed, and the rule sets found
   * intact in it, each with the plan and routes it was compared with. A check whose listing reads
   * the same compares a rule set again only when its plan or the routes changed: the comparison is
   * a function of listing, plan and routes, so its answer is the one a fresh comparison would give.
   */
  private record Checked(String text, NftListing listing, Map<RuleSetName, Intact> intact) {}

  /** A rule set's plan and the routes it was found intact with. */
  private record Intact(EnforcementPlan plan, Routes routes) {}

  private final AtomicReference<@Nullable Checked> lastChecked = new AtomicReference<>();

  /**
   * The latest table listing read (by when its read began: a read that ends after a later one does
   * not replace it), when its read began, and {@link #changes} before it began: what {@link
   * #grantsHeld} answers from.
   */
  private record LastRead(NftListing listing, Instant readFrom, long changesBefore) {}

  private final AtomicReference<@Nullable LastRead> lastRead = new AtomicReference<>();

  /**
   * Installs and removals so far, counted after each one; {@link #changedAt} holds each rule set's
   * count at its latest. A listing that began with the count at N holds every change counted at N
   * or before (a change is counted after its transaction). Grants and refreshes are not counted:
   * they change a rule set this backend installed, and so counted, since.
   */
  private final AtomicLong changes = new AtomicLong();

  /**
   * Rule sets changed since {@link #lastRead} began (or changing now), with their count: the older
   * ones are dropped at each listing, since no listing read from then on is older than them, so
   * that a long-lived backend does not remember every container it ever had.
   */
  private final Map<RuleSetName, Long> changedAt = new ConcurrentHashMap<>();

  /**
   * The work of {@link #readInstalled}: listings parsed, rule sets compared. Counted so that tests
   * see what its memo ({@link Checked}) saves; a memo hit changes no answer, only this.
   */
  private final AtomicInteger checkParses = new AtomicInteger();

  private final AtomicInteger checkComparisons = new AtomicInteger();

  /** Reads back whether a load that was killed had committed. */
  @FunctionalInterface
  private interface ReadBack {
    boolean inPlace() throws EgressException;
  }

  /** A backend that learns container links from {@code /proc/net}, this process's namespace. */
  public NftBackend(NftCommand command, String table, NftGuard guard) {
    this(command, table, guard, Path.of("/proc/net"));
  }

  /**
   * @param command runs nft and conntrack
   * @param table the table name (default {@code egress}); two enforcers with different tables each
   *     restrict, and the stricter wins
   * @param guard what unattached traffic to reject
   * @param procNet where the kernel's routes are read ({@code route}, {@code ipv6_route}) to learn
   *     on which interface each attached container lives: {@code /proc/net}, or {@code
   *     /proc/PID/net} of a process in the network namespace nft runs in
   */
  public NftBackend(NftCommand command, String table, NftGuard guard, Path procNet) {
    this(command, table, guard, procNet, NflogGroups.defaults());
  }

  /**
   * As {@link #NftBackend(NftCommand, String, NftGuard, Path)}, with logged refusals going to
   * {@code groups}.
   */
  public NftBackend(
      NftCommand command, String table, NftGuard guard, Path procNet, NflogGroups groups) {
    this(command, table, guard, procNet, groups, null, Clock.systemUTC());
  }

  /**
   * As {@link #NftBackend(NftCommand, String, NftGuard, Path, NflogGroups)}, for an enforcer whose
   * DNS filter answers on {@code dnsFilter} (null: none): the port-53 traffic of containers under
   * {@code dns filter} is redirected there, and their sets take grants whose time left is counted
   * on {@code clock} (the enforcer's).
   */
  public NftBackend(
      NftCommand command,
      String table,
      NftGuard guard,
      Path procNet,
      NflogGroups groups,
      @Nullable InetAddress dnsFilter,
      Clock clock) {
    this.command = Objects.requireNonNull(command, "command");
    this.renderer = new NftRenderer(table, groups, TimeoutRenewal.ofRunningKernel());
    this.guard = Objects.requireNonNull(guard, "guard");
    this.procNet = Objects.requireNonNull(procNet, "procNet");
    this.dnsFilter = dnsFilter;
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  @Override
  public RuleSetName ruleSetName(ContainerId containerId) {
    return ChainName.forContainer(containerId);
  }

  /**
   * Refuses policies that need a DNS filter when this backend was made without one: nftables sees
   * addresses, not the names a container looked up.
   */
  @Override
  public void checkSupported(EgressPolicy policy) throws UnsupportedPolicyException {
    if (policy.requiresDnsFiltering() && dnsFilter == null) {
      throw UnsupportedPolicyException.withoutDnsFilter("the nftables backend", policy);
    }
  }

  /**
   * What {@link #prepare} and then {@link #install} would load for {@code plan}, as one {@code nft
   * -f -} script, without loading anything: for review, dry runs and machines without nftables.
   * Pure.
   */
  @Override
  public Preview preview(RuleSetName name, EnforcementPlan plan) {
    return new Preview(
        name,
        plan,
        renderer.prepare(guard, dnsFilter)
            + renderer.install(
                ChainName.of(name),
                plan,
                List.of(),
                List.of(),
                List.of(),
                List.of(),
                clock.instant()),
        "nft -f -");
  }

  /** Creates the table if missing and reloads its base chains and guard; containers untouched. */
  @Override
  public void prepare() throws EgressException {
    load(renderer.prepare(guard, dnsFilter), () -> hostProblems().isEmpty(), "the prepared table");
  }

  /**
   * Loads the container's rule set whole: besides its chain, sets and dispatch elements, the
   * transaction drops dispatch elements and sets of the rule set that {@code plan} no longer has,
   * as far as this backend knows them (from its own loads and from every read-back, {@link
   * #isIntact} and {@link #installed} included). When the transaction fails, what the backend knew
   * about the rule set is dropped: a reinstall after the next read-back starts afresh.
   */
  @Override
  public void install(RuleSetName name, EnforcementPlan plan) throws EgressException {
    ChainName chain = ChainName.of(name);
    Held expected = expected(chain, plan);
    Held before = held.getOrDefault(name, expected);
    Set<InetAddress> staleAddresses = new LinkedHashSet<>(before.addresses());
    staleAddresses.removeAll(expected.addresses());
    Set<String> staleSets = new LinkedHashSet<>(before.sets());
    staleSets.removeAll(expected.sets());
    Set<InetAddress> staleRedirects = new LinkedHashSet<>(before.redirected());
    staleRedirects.removeAll(expected.redirected());
    Set<String> links = linksOf(name, plan);
    changing(name);
    try {
      load(
          renderer.install(
              chain, plan, staleAddresses, staleSets, staleRedirects, links, clock.instant()),
          () -> isIntact(name, plan),
          "the rule set " + name + " as installed now");
    } catch (NftException e) {
      held.remove(name);
      throw e;
    } finally {
      changed(name); // failed too: a timed-out load may have committed
    }
    held.put(name, expected);
  }

  /**
   * One transaction through the grant session ({@link NftCommand#applyGrant}: a long-lived {@code
   * nft -i}, no process start): each added address goes into the container's host sets, one element
   * per piece of ports its name's lines cover ({@link HostSets}), with the time the latest grant of
   * that element has left, replacing an earlier timeout (one add from Linux 6.12 on, else add,
   * delete, add: {@link TimeoutRenewal}). An element a resolved address holds stays without a
   * timeout. When the session is killed at its timeout, the table is read back as after a timed-out
   * load: the grant succeeds only if what it wrote is in place.
   */
  @Override
  public void grant(
      RuleSetName name, EnforcementPlan plan, Map<HostName, Map<InetAddress, Instant>> additions)
      throws EgressException {
    ChainName chain = ChainName.of(name);
    Instant now = clock.instant();
    String script = renderer.grant(chain, plan, additions, now);
    if (script.isEmpty()) {
      return;
    }
    load(
        command::applyGrant,
        script,
        () -> {
          // Only after a timeout: the answer waits for the grant, not for this bookkeeping. In
          // place means each element the script wrote with at least the time it gave, less what
          // passed since and the slack; one whose grant ends within the slack decides nothing.
          Instant readAt = clock.instant();
          Map<String, Map<SetElement, Duration>> actual = listing().timed();
          return NftRenderer.granting(chain, plan, additions, now).entrySet().stream()
              .allMatch(
                  set ->
                      set.getValue().entrySet().stream()
                          .allMatch(
                              element -> {
                                Duration wanted =
                                    Duration.between(readAt, element.getValue()).minus(GRANT_SLACK);
                                Duration left =
                                    actual
                                        .getOrDefault(set.getKey(), Map.of())
                                        .get(element.getKey());
                                return wanted.isNegative()
                                    || (left != null && left.compareTo(wanted) >= 0);
                              }));
        },
        "the grants to " + additions.keySet() + " in rule set " + name);
  }

  /**
   * The grants in the rule set's host sets ({@link HostSets#grantsCoveringEveryPiece}), when its
   * rules are those {@code plan} renders: they carry the plan's key ({@link
   * NftRenderer#PLAN_COMMENT}), so equal rules mean equal sources, rules and names. Each end is the
   * kernel's time left counted from when the listing began, so never later than the kernel's; an
   * element whose time left cannot be read is left out.
   *
   * <p>Runs nothing: answers from the last listing this backend read, which every enforcer reads
   * before its first attach (its check for rule sets of earlier processes, {@link #installed}), so
   * that taking over many attachments costs no listing each. None when this backend has installed
   * or removed the rule set since that listing began (what it held then may be gone), or has read
   * no listing.
   */
  @Override
  public Map<HostName, Map<InetAddress, Instant>> grantsHeld(
      RuleSetName name, EnforcementPlan plan) {
    LastRead read = lastRead.get();
    if (plan.dnsFilter() == null
        || read == null
        || changedAt.getOrDefault(name, Long.MIN_VALUE) > read.changesBefore()) {
      return Map.of();
    }
    ChainName chain = ChainName.of(name);
    if (!renderer.chainRules(chain, plan).equals(read.listing().chains().get(chain.value()))) {
      return Map.of(); // not installed, or installed for another plan
    }
    Map<SetElement, Instant> timed = new HashMap<>();
    read.listing()
        .timedOf(chain)
        .values()
        .forEach(
            set ->
                set.forEach(
                    (element, left) -> {
                      if (left.compareTo(NftListing.UNREADABLE_TIME) < 0) {
                        timed.merge(element, read.readFrom().plus(left), NftBackend::earlier);
                      }
                    }));
    return HostSets.of(plan).grantsCoveringEveryPiece(timed);
  }

  private static Instant earlier(Instant one, Instant other) {
    return one.isBefore(other) ? one : other;
  }

  /** Set elements with a timeout leave by themselves. */
  @Override
  public boolean expiresGrants() {
    return true;
  }

  /**
   * Never called: the kernel drops granted elements itself ({@link #expiresGrants}).
   *
   * @throws UnsupportedOperationException always
   */
  @Override
  public void revoke(
      RuleSetName name, EnforcementPlan plan, Map<HostName, Set<InetAddress>> removals) {
    throw new UnsupportedOperationException(
        "the nftables backend does not revoke grants: their elements time out in the kernel");
  }

  @Override
  public void refreshAddresses(RuleSetName name, EnforcementPlan plan, Set<HostName> changedNames)
      throws EgressException {
    String script = renderer.refresh(ChainName.of(name), plan, changedNames, clock.instant());
    if (!script.isEmpty()) {
      Map<String, Set<SetElement>> expected = NftRenderer.sets(ChainName.of(name), plan);
      load(
          script,
          () -> {
            Map<String, Set<SetElement>> actual = listing().hostSets();
            return expected.entrySet().stream()
                .allMatch(set -> set.getValue().equals(actual.get(set.getKey())));
          },
          "the new addresses of " + changedNames + " in rule set " + name);
    }
  }

  /** Applies a script as one transaction: {@link NftCommand#apply} or the grant session. */
  @FunctionalInterface
  private interface Transaction {
    void apply(String script) throws NftException;
  }

  /** {@link #load(Transaction, String, ReadBack, String)} through {@code nft -f -}. */
  private void load(String script, ReadBack readBack, String what) throws NftException {
    load(command::apply, script, readBack, what);
  }

  /**
   * Applies {@code script}; when nft outlives its timeout (it is killed first), reads back whether
   * {@code what} is in place before saying anything: in place is success, since nft commits all of
   * a transaction or none of it.
   */
  private void load(Transaction transaction, String script, ReadBack readBack, String what)
      throws NftException {
    try {
      transaction.apply(script);
    } catch (NftException e) {
      if (e.kind() != NftException.Kind.TIMEOUT) {
        throw e;
      }
      boolean inPlace;
      try {
        inPlace = readBack.inPlace();
      } catch (EgressException readFailure) {
        throw new NftException(
            NftException.Kind.TIMEOUT,
            e.getMessage()
                + ". Reading back whether it committed failed too ("
                + readFailure.getMessage()
                + "): "
                + what
                + " may or may not be in place",
            e.hint(),
            e);
      }
      if (!inPlace) {
        throw new NftException(
            NftException.Kind.TIMEOUT,
            e.getMessage()
                + ". Read back after the kill: "
                + what
                + " is not in place, and the table is as it was before this load (nft commits"
                + " all of a transaction or none of it), unless a process of the load survived the"
                + " kill (the message above names any)",
            e.hint(),
            e);
      }
      log.warn(
          "nft outlived its timeout and was killed, but had committed: {} is in place ({})",
          what,
          e.getMessage());
    }
  }

  /**
   * Removes chain {@code name}, its sets and every dispatch element pointing at it in one
   * transaction, then deletes the tracked connections from and to each address (conntrack, both
   * directions and families). What this backend knows of the rule set (from its own load or a
   * read-back) makes the transaction without a listing; when that transaction fails (the table
   * changed behind the backend's back, or nft timed out), the table is listed and the removal made
   * from what it holds. If the transaction fails, nothing was removed and no connection was cut.
   */
  @Override
  public void remove(RuleSetName name, List<InetAddress> addresses) throws EgressException {
    changing(name);
    try {
      ChainName chain = ChainName.of(name);
      Set<InetAddress> toCut = new LinkedHashSet<>(addresses);
      Held known = held.get(name);
      boolean removed = false;
      if (known != null) {
        Set<InetAddress> dispatched = new LinkedHashSet<>(known.addresses());
        dispatched.addAll(addresses);
        try {
          command.apply(renderer.remove(chain, dispatched, known.sets(), known.redirected()));
          toCut.addAll(known.addresses());
          removed = true;
        } catch (NftException e) {
          held.remove(name);
          log.debug(
              "removing {} as remembered failed; listing the table: {}", name, e.getMessage());
        }
      }
      if (!removed) {
        NftListing listing = listing();
        Held found = Held.in(listing, chain);
        if (listing.chains().containsKey(chain.value())
            || !found.addresses().isEmpty()
            || !found.sets().isEmpty()) {
          load(
              renderer.remove(chain, found.addresses(), found.sets(), found.redirected()),
              () -> {
                NftListing after = listing();
                return !after.chains().containsKey(chain.value())
                    && Held.in(after, chain).equals(new Held(Set.of(), Set.of(), Set.of()));
              },
              "the removal of rule set " + name);
        }
        toCut.addAll(found.addresses());
      }
      held.remove(name);
      command.deleteConnectionsOf(toCut);
    } finally {
      changed(name); // failed too: part of it may have happened
    }
  }

  /**
   * One container's rule set as the kernel holds it, read back by {@link #loaded}.
   *
   * @param name the rule-set name, which is the chain name
   * @param addresses the source addresses the dispatch maps send to the chain
   * @param rules the chain's rules as nft lists them, counter values removed; empty when only
   *     dispatch elements are left of it
   * @param sets the rule set's sets with their elements without a timeout, each as nft printed it
   *     ({@code 192.0.2.1 . tcp . 443}, or whatever else a hand has put there), sorted as text
   */
  public record LoadedRuleSet(
      RuleSetName name,
      List<InetAddress> addresses,
      List<String> rules,
      Map<String, List<String>> sets) {
    public LoadedRuleSet {
      Objects.requireNonNull(name, "name");
      addresses = List.copyOf(addresses);
      rules = List.copyOf(rules);
      Map<String, List<String>> copied = new LinkedHashMap<>();
      sets.forEach((set, elements) -> copied.put(set, List.copyOf(elements)));
      sets = Collections.unmodifiableMap(copied);
    }
  }

  /**
   * The rule sets now installed, with their rules and sets: a chain of this backend's naming that
   * holds rules, or that a dispatch element still points to. One {@code nft list table}; changes
   * nothing. {@link #installed} is this, reduced to names and addresses.
   */
  public List<LoadedRuleSet> loaded() throws EgressException {
    return loaded(listing());
  }

  private List<LoadedRuleSet> loaded(NftListing listing) {
    Set<ChainName> chains = new LinkedHashSet<>();
    listing
        .chains()
        .forEach(
            (chain, rules) -> {
              if (!rules.isEmpty()) {
                ChainName.parse(chain).ifPresent(chains::add);
              }
            });
    listing.dispatch().values().forEach(chain -> ChainName.parse(chain).ifPresent(chains::add));
    remember(listing);
    List<LoadedRuleSet> loaded = new ArrayList<>();
    for (ChainName chain : chains) {
      Map<String, List<String>> sets = new LinkedHashMap<>();
      listing
          .setsOf(chain)
          .keySet()
          .forEach(
              set ->
                  sets.put(
                      set,
                      listing.hostSetTexts().getOrDefault(set, List.of()).stream()
                          .sorted()
                          .toList()));
      loaded.add(
          new LoadedRuleSet(
              chain,
              listing.dispatchedTo(chain.value()),
              listing.chains().getOrDefault(chain.value(), List.of()),
              sets));
    }
    return loaded;
  }

  /**
   * Remembers what a whole listing shows of each rule set this backend knew nothing about (left by
   * an earlier process), leftovers included: an empty chain, sets alone. What it knows already
   * stays: a load of that rule set on another thread may have changed it since the listing.
   */
  private void remember(NftListing listing) {
    Set<ChainName> present = new LinkedHashSet<>();
    listing.chains().keySet().forEach(chain -> ChainName.parse(chain).ifPresent(present::add));
    listing.dispatch().values().forEach(chain -> ChainName.parse(chain).ifPresent(present::add));
    listing.hostSets().keySet().forEach(set -> ChainName.ofSet(set).ifPresent(present::add));
    for (ChainName chain : present) {
      held.putIfAbsent(chain, Held.in(listing, chain));
    }
  }

  @Override
  public Map<RuleSetName, List<InetAddress>> installed() throws EgressException {
    return installed(listing());
  }

  private Map<RuleSetName, List<InetAddress>> installed(NftListing listing) {
    Map<RuleSetName, List<InetAddress>> installed = new LinkedHashMap<>();
    for (LoadedRuleSet ruleSet : loaded(listing)) {
      installed.put(ruleSet.name(), ruleSet.addresses());
    }
    return installed;
  }

  /**
   * Each container chain's counters summed by what its rules do: {@code accept} rules (the
   * established connections' rule included) count as allowed, {@code goto deny} ones as refused.
   * One {@code nft list table}; changes nothing.
   */
  @Override
  public Map<RuleSetName, TrafficCounters> counters() throws EgressException {
    Map<RuleSetName, TrafficCounters> counters = new LinkedHashMap<>();
    listing()
        .counters()
        .forEach(
            (chain, counted) ->
                ChainName.parse(chain).ifPresent(name -> counters.put(name, counted)));
    return counters;
  }

  /**
   * Whether the table exists with its chains: false on a host where nothing was prepared yet (or
   * the table was deleted). One {@code nft list table}; changes nothing.
   */
  public boolean tableLoaded() throws EgressException {
    return !listing().chains().isEmpty();
  }

  /**
   * Compares the whole rule set with what {@code plan} renders to: the chain's rules, every set of
   * the rule set with its elements (none missing, none extra), and the dispatch elements that point
   * to the chain (exactly the container's addresses). One {@code nft list table}.
   */
  @Override
  public boolean isIntact(RuleSetName name, EnforcementPlan plan) throws EgressException {
    return isIntact(listing(), readRoutes(name), name, plan);
  }

  /**
   * One {@code nft list table} for the host check, the rule sets installed and every rule set a
   * check compares, and one read of the kernel's routes, at the first rule set compared. When the
   * listing reads as the last check's did (counter values aside), it is not parsed again, and a
   * rule set found intact then with the same plan and routes is intact now ({@link Checked}).
   */
  @Override
  public Installed readInstalled() throws NftException {
    long changesBefore = changes.get();
    Instant readFrom = clock.instant();
    String text = NftListing.withoutCounters(listingText());
    Checked last = lastChecked.get();
    Checked now =
        last != null && last.text().equals(text)
            ? new Checked(text, last.listing(), new ConcurrentHashMap<>(last.intact()))
            : new Checked(text, parsedForCheck(text), new ConcurrentHashMap<>());
    lastChecked.set(now);
    // The same text read later holds the same times left, from the later start.
    read(new LastRead(now.listing(), readFrom, changesBefore));
    return new Installed() {
      private @Nullable Routes routes;

      @Override
      public boolean isIntact(RuleSetName name, EnforcementPlan plan) throws NftException {
        if (routes == null) {
          routes = readRoutes(name);
        }
        Intact known = now.intact().get(name);
        if (known != null && known.plan().equals(plan) && known.routes().equals(routes)) {
          held.put(name, Held.in(now.listing(), ChainName.of(name)));
          return true;
        }
        checkComparisons.incrementAndGet();
        boolean intact = NftBackend.this.isIntact(now.listing(), routes, name, plan);
        if (intact) {
          now.intact().put(name, new Intact(plan, routes));
        } else {
          now.intact().remove(name);
        }
        return intact;
      }

      @Override
      public List<String> hostProblems() {
        return NftBackend.this.hostProblems(now.listing());
      }

      @Override
      public Map<RuleSetName, List<InetAddress>> installed() {
        return NftBackend.this.installed(now.listing());
      }
    };
  }

  private NftListing parsedForCheck(String text) {
    checkParses.incrementAndGet();
    return NftListing.parse(text);
  }

  /** How many listings {@link #readInstalled} parsed so far. */
  int checkParses() {
    return checkParses.get();
  }

  /** How many rule sets {@link #readInstalled}'s checks compared so far. */
  int checkComparisons() {
    return checkComparisons.get();
  }

  private boolean isIntact(
      NftListing listing, Routes routes, RuleSetName name, EnforcementPlan plan)
      throws NftException {
    ChainName chain = ChainName.of(name);
    held.put(name, Held.in(listing, chain));
    return renderer.chainRules(chain, plan).equals(listing.chains().get(chain.value()))
        && NftRenderer.sets(chain, plan).equals(listing.setsOf(chain))
        && grantsIntact(listing, chain, plan)
        && new LinkedHashSet<>(listing.dispatchedTo(chain.value()))
            .equals(new LinkedHashSet<>(plan.sources()))
        && redirectsAsPlanned(listing, plan)
        && listing.links().containsAll(linksOf(routes, name, plan));
  }

  /**
   * Whether every element with a timeout in the rule set's sets is a grant the plan holds, or one
   * about to time out (its grant just ended). A grant the kernel no longer holds is no drift: the
   * set is narrower, never wider.
   */
  private static boolean grantsIntact(NftListing listing, ChainName chain, EnforcementPlan plan) {
    Map<String, Map<SetElement, Instant>> expected = NftRenderer.grants(chain, plan);
    return listing.timedOf(chain).entrySet().stream()
        .allMatch(
            set ->
                set.getValue().entrySet().stream()
                    .allMatch(
                        element ->
                            element.getValue().compareTo(GRANT_SLACK) <= 0
                                || expected
                                    .getOrDefault(set.getKey(), Map.of())
                                    .containsKey(element.getKey())));
  }

  /**
   * Whether the plan's sources are in the redirect sets when it has a DNS filter, and none of them
   * otherwise.
   */
  private static boolean redirectsAsPlanned(NftListing listing, EnforcementPlan plan) {
    Set<InetAddress> redirected = redirectedIn(listing);
    return plan.dnsFilter() != null
        ? redirected.containsAll(plan.sources())
        : plan.sources().stream().noneMatch(redirected::contains);
  }

  /**
   * The interfaces where the container of rule set {@code name} lives, from the kernel's routes to
   * its addresses: its link-local traffic arrives there.
   *
   * @throws NftException if the routes cannot be read, or name an interface nft could not be given
   *     safely; nothing was loaded
   */
  private Set<String> linksOf(RuleSetName name, EnforcementPlan plan) throws NftException {
    return linksOf(readRoutes(name), name, plan);
  }

  /**
   * The kernel's routes, read for rule set {@code name} (which the error names).
   *
   * @throws NftException if they cannot be read
   */
  private Routes readRoutes(RuleSetName name) throws NftException {
    try {
      return Routes.read(procNet);
    } catch (IOException e) {
      throw new NftException(
          NftException.Kind.OTHER,
          "cannot read the kernel's routes in "
              + procNet
              + " to learn where the container of rule set "
              + name
              + " lives, so its link-local traffic could not be governed: "
              + e.getMessage(),
          "when nft runs in another network namespace, give the enforcer /proc/PID/net of a"
              + " process there (procNet(...))",
          e);
    }
  }

  /**
   * The interfaces of {@code routes} where the container of rule set {@code name} lives.
   *
   * @throws NftException if one is named so that nft could not be given it safely
   */
  private static Set<String> linksOf(Routes routes, RuleSetName name, EnforcementPlan plan)
      throws NftException {
    Set<String> links = routes.linksOf(plan.sources());
    for (String link : links) {
      if (!NftGuard.isInterfaceName(link)) {
        throw new NftException(
            NftException.Kind.OTHER,
            "the container of rule set "
                + name
                + " lives on an interface whose name cannot be written into an nft rule safely ("
                + UserText.quote(link)
                + "), so its link-local traffic could not be governed",
            "rename the interface to letters, digits, '_', '.' and '-'",
            null);
      }
    }
    return links;
  }

  private static Held expected(ChainName chain, EnforcementPlan plan) {
    return new Held(
        new LinkedHashSet<>(plan.sources()),
        NftRenderer.sets(chain, plan).keySet(),
        new LinkedHashSet<>(NftRenderer.redirects(plan)));
  }

  /** The addresses in the redirect sets. */
  private static Set<InetAddress> redirectedIn(NftListing listing) {
    Set<InetAddress> redirected = new LinkedHashSet<>();
    redirected.addAll(listing.sets().getOrDefault(NftRenderer.REDIRECT4, Set.of()));
    redirected.addAll(listing.sets().getOrDefault(NftRenderer.REDIRECT6, Set.of()));
    return redirected;
  }

  @Override
  public List<String> hostProblems() throws EgressException {
    return hostProblems(listing());
  }

  private List<String> hostProblems(NftListing listing) {
    List<String> problems = new ArrayList<>();
    String table = "table inet " + renderer.table();
    if (listing.chains().isEmpty()) {
      problems.add(
          table
              + " is missing: nothing is enforced. Fix: prepare() (the enforcer's"
              + " health repair does it) and reattach, or reconcile");
      return problems;
    }
    for (String chain : List.of(NftRenderer.FORWARD, NftRenderer.INPUT)) {
      String header = "type filter hook " + chain + " priority filter - 10; policy accept;";
      if (!listing.chainHeader(chain).equals(header)) {
        problems.add(
            "base chain "
                + chain
                + " of "
                + table
                + " is missing or hooked wrongly ('"
                + listing.chainHeader(chain)
                + "'). Fix: prepare()");
      } else if (!renderer.baseChainRules(chain, guard).equals(listing.chains().get(chain))) {
        problems.add(
            "base chain "
                + chain
                + " of "
                + table
                + " does not dispatch or guard as"
                + " loaded (rules altered). Fix: prepare()");
      }
    }
    if (!NftRenderer.denyChainRules().equals(listing.chains().get(NftRenderer.DENY))) {
      problems.add("chain deny of " + table + " is altered. Fix: prepare()");
    }
    if (!listing.chainHeader(NftRenderer.DNS).equals(NftRenderer.DNS_HEADER)
        || !NftRenderer.dnsChainRules(dnsFilter).equals(listing.chains().get(NftRenderer.DNS))) {
      problems.add(
          "base chain "
              + NftRenderer.DNS
              + " of "
              + table
              + " is missing, hooked wrongly or altered: port-53 traffic of containers under 'dns"
              + " filter' may not reach the filter. Fix: prepare()");
    }
    return problems;
  }

  private NftListing listing() throws NftException {
    long changesBefore = changes.get();
    Instant readFrom = clock.instant();
    NftListing listing = NftListing.parse(listingText());
    read(new LastRead(listing, readFrom, changesBefore));
    return listing;
  }

  /**
   * Keeps {@code fresh} as the latest listing unless a later one is kept; prunes {@link
   * #changedAt}.
   */
  private void read(LastRead fresh) {
    LastRead latest =
        lastRead.accumulateAndGet(
            fresh,
            (kept, offered) ->
                kept == null || offered.changesBefore() >= kept.changesBefore() ? offered : kept);
    changedAt.values().removeIf(count -> count <= latest.changesBefore());
  }

  /** How many rule sets {@link #changedAt} remembers. */
  int changesRemembered() {
    return changedAt.size();
  }

  /**
   * Marks rule set {@code name} as changing, before its transaction: no listing is taken as what it
   * holds until {@link #changed} has counted the change.
   */
  private void changing(RuleSetName name) {
    changedAt.put(name, Long.MAX_VALUE);
  }

  /** Counts a change of rule set {@code name}, after its transaction; see {@link #changes}. */
  private void changed(RuleSetName name) {
    changedAt.put(name, changes.incrementAndGet());
  }

  /** What {@code nft list table} prints; empty when the table does not exist. */
  private String listingText() throws NftException {
    try {
      return command.list("table", "inet", renderer.table());
    } catch (NftException e) {
      if (e.kind() == NftException.Kind.MISSING_OBJECT) {
        return "";
      }
      throw e;
    }
  }

  /** Kills the grant session, if one runs; the table and its rules stay. */
  @Override
  public void close() {
    command.close();
  }
}
