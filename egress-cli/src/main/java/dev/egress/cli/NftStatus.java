package dev.egress.cli;

/** {@code status --backend nft}: waits for the nftables backend on main. */
final class NftStatus {
  private NftStatus() {}

  static StatusCommand.Snapshot snapshot(CliHost host) {
    throw new CommandFailure(ExitCodes.CANNOT_ENFORCE,
        "egressctl: status --backend nft is not available in this build: the nftables backend is"
            + " not part of it yet");
  }
}
