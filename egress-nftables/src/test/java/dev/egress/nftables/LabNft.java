package dev.egress.nftables;

import dev.egress.enforcer.EgressException;
import dev.egress.enforcer.RuleSetName;
import dev.egress.lab.NetnsLab;
import dev.egress.process.SystemProcessRunner;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** The enforcer and backend as the real-kernel tests run them: in the lab's host namespace. */
final class LabNft {
  private LabNft() {}

  /** A builder with nft, conntrack and the routes of the lab's host namespace set. */
  static NftEgressEnforcer.Builder enforcer(NetnsLab lab) {
    return NftEgressEnforcer.builder()
        .nftCommand(lab.inHost("nft"))
        .conntrackCommand(lab.inHost("conntrack"))
        .procNet(lab.hostProcNet());
  }

  /** A backend of the table {@code egress} in the lab's host namespace. */
  static NftBackend backend(NetnsLab lab, NftGuard guard) {
    return new NftBackend(
        new NftCommand(
            new SystemProcessRunner(),
            lab.inHost("nft"),
            lab.inHost("conntrack"),
            Duration.ofSeconds(30)),
        "egress",
        guard,
        lab.hostProcNet());
  }

  /**
   * Removes every container's rule set from the lab's table, so that the next test starts clean.
   */
  static void removeRuleSets(NetnsLab lab) throws EgressException {
    NftBackend backend = NftBackendKernelTest.backendFor(lab);
    for (Map.Entry<RuleSetName, List<InetAddress>> installed : backend.installed().entrySet()) {
      backend.remove(installed.getKey(), installed.getValue());
    }
  }

  /** The guard of the lab's bridge and container networks. */
  static NftGuard guard(NetnsLab lab) {
    return new NftGuard(List.of(NetnsLab.BRIDGE), lab.containerNetworks(), false);
  }
}
