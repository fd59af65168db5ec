package dev.egress.cli;

/** {@code render --backend nft}: waits for the nftables renderer on main. */
final class NftRender {
  private NftRender() {}

  static int render(RenderCommand command, Output output) {
    throw new CommandFailure(ExitCodes.CANNOT_ENFORCE,
        "egressctl: render --backend nft is not available in this build: the nftables renderer is"
            + " not part of it yet");
  }
}
