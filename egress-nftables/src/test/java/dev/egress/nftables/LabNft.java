package dev.egress.nftables;

import dev.egress.lab.NetnsLab;
import dev.egress.process.SystemProcessRunner;
import java.time.Duration;
import java.util.List;

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

  /** The guard of the lab's bridge and container networks. */
  static NftGuard guard(NetnsLab lab) {
    return new NftGuard(List.of(NetnsLab.BRIDGE), lab.containerNetworks(), false);
  }
}
