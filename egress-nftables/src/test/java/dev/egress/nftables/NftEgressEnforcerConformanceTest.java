package dev.egress.nftables;

import dev.egress.enforcer.ContainerEndpoint;
import dev.egress.enforcer.ContainerId;
import dev.egress.enforcer.EgressEnforcer;
import dev.egress.enforcer.RuleSetName;
import dev.egress.lab.LabContainer;
import dev.egress.lab.NetnsLab;
import dev.egress.lab.Outcome;
import dev.egress.policy.Flow;
import dev.egress.policy.PortRange;
import dev.egress.policy.Protocol;
import dev.egress.testkit.EgressEnforcerContract;
import dev.egress.testkit.FakeNameResolver;
import dev.egress.testkit.LabRequirement;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;

/**
 * The conformance kit against {@link NftEgressEnforcer} and the real kernel: every "allowed" and
 * "denied" of the kit is a packet sent from a container namespace of a {@link NetnsLab}. Privileged
 * failures are injected by a wrapper around {@code nft -f} and {@code conntrack} (reads still
 * work).
 */
class NftEgressEnforcerConformanceTest extends EgressEnforcerContract {
  private static final String GATE =
      ""
          + "flag=$1; ns=$2; tool=$3; shift 3\n"
          + "if [ -e \"$flag\" ]; then\n"
          + "  case \"$tool:$1\" in nft:-f|conntrack:*) echo 'Error: injected failure' >&2; exit 1;; esac\n"
          + "fi\n"
          + "exec ip netns exec \"$ns\" \"$tool\" \"$@\"\n";
  private static final AtomicInteger HARNESSES = new AtomicInteger();
  private static NetnsLab lab;

  @AfterAll
  static void stopLab() {
    if (lab != null) {
      lab.close();
    }
  }

  @Override
  protected Harness newHarness() throws Exception {
    if (lab == null) {
      lab = LabRequirement.startLab(8, "nft", "conntrack");
    }
    return new KernelHarness(lab, HARNESSES.incrementAndGet());
  }

  private static final class KernelHarness implements Harness {
    private final NetnsLab lab;
    private final int number;
    private final Path failFlag;
    private final FakeNameResolver resolver = new FakeNameResolver();
    private final NftBackend cleaner;
    private final NftEgressEnforcer enforcer;
    private final Map<ContainerId, LabContainer> containers =
        new java.util.concurrent.ConcurrentHashMap<>();
    private final List<LabContainer> free = new ArrayList<>();

    KernelHarness(NetnsLab lab, int number) throws Exception {
      this.lab = lab;
      this.number = number;
      this.failFlag = Files.createTempFile("nft-fail", ".flag");
      Files.delete(failFlag);
      for (int i = 1; i <= 8; i++) {
        free.add(lab.container(i));
      }
      NftGuard guard = LabNft.guard(lab);
      cleaner = LabNft.backend(lab, guard);
      // The guard is in place before any test can make privileged operations fail.
      cleaner.prepare();
      enforcer =
          NftEgressEnforcer.builder()
              .resolver(resolver)
              .nftCommand(gated("nft"))
              .conntrackCommand(gated("conntrack"))
              .procNet(lab.hostProcNet())
              .guard(guard)
              .build();
    }

    private List<String> gated(String tool) {
      return List.of("sh", "-c", GATE, "gate", failFlag.toString(), lab.hostNamespace(), tool);
    }

    @Override
    public EgressEnforcer enforcer() {
      return enforcer;
    }

    @Override
    public FakeNameResolver resolver() {
      return resolver;
    }

    @Override
    public synchronized ContainerEndpoint newContainer() {
      if (free.isEmpty()) {
        throw new IllegalStateException("the lab has only 8 containers");
      }
      LabContainer container = free.remove(0);
      ContainerId id = ContainerId.of("k" + number + "-" + container.id());
      containers.put(id, container);
      return container.endpointAs(id);
    }

    @Override
    public InetAddress internetAddress(int index) {
      return index < 3 ? NetnsLab.web(index) : NetnsLab.dnsServer();
    }

    @Override
    public boolean allows(ContainerEndpoint source, Flow flow) {
      // By address, not id: a successor container reuses its predecessor's addresses.
      LabContainer container =
          containers.values().stream()
              .filter(c -> source.addresses().contains(c.ipv4()))
              .findFirst()
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(source + " is not a container of this harness"));
      Outcome outcome;
      if (flow.protocol() == Protocol.TCP) {
        outcome = container.tcp(flow.destination(), flow.port());
      } else if (flow.port() == PortRange.DNS_PORT) {
        outcome = container.dnsQuery(flow.destination(), "probe.egress.test");
      } else {
        outcome = container.udp(flow.destination(), flow.port());
      }
      return outcome.reached();
    }

    @Override
    public void failPrivilegedOperations(boolean failing) {
      try {
        if (failing) {
          Files.writeString(failFlag, "fail");
        } else {
          Files.deleteIfExists(failFlag);
        }
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }

    @Override
    public void close() throws Exception {
      failPrivilegedOperations(false);
      enforcer.close();
      for (Map.Entry<RuleSetName, List<InetAddress>> installed : cleaner.installed().entrySet()) {
        cleaner.remove(installed.getKey(), installed.getValue());
      }
    }
  }
}
