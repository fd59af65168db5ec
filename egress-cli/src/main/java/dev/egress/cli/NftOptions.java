package dev.egress.cli;

import dev.egress.nftables.NftCommand;
import dev.egress.nftables.NftGuard;
import dev.egress.policy.IpNetwork;
import dev.egress.process.ProcessRunner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine.Option;

/** How egressctl runs nft and conntrack, and the table and guard the nftables enforcer uses. */
final class NftOptions {
  @Option(
      names = "--nft-command",
      paramLabel = "COMMAND",
      description = "nft: how to run nft, words separated by spaces (default: ${DEFAULT-VALUE}).")
  private String nft = "nft";

  @Option(
      names = "--conntrack-command",
      paramLabel = "COMMAND",
      description = "nft: how to run conntrack (default: ${DEFAULT-VALUE}).")
  private String conntrack = "conntrack";

  @Option(
      names = "--table",
      paramLabel = "NAME",
      description = "nft: the enforcer's inet table (default: ${DEFAULT-VALUE}).")
  private String table = "egress";

  @Option(
      names = "--guard-interface",
      paramLabel = "IF",
      description = "nft: an interface the enforcer's guard closes (repeatable), as configured.")
  private List<String> guardInterfaces = new ArrayList<>();

  @Option(
      names = "--guard-network",
      paramLabel = "CIDR",
      description =
          "nft: a source network the enforcer's guard closes (repeatable), as configured.")
  private List<String> guardNetworks = new ArrayList<>();

  @Option(
      names = "--guard-log",
      description = "nft: the guard logs what it rejects, as configured.")
  private boolean guardLog;

  List<String> nftWords() {
    return words(nft, "--nft-command");
  }

  NftCommand command(ProcessRunner processes) {
    return new NftCommand(processes, nftWords(), conntrackWords(), Duration.ofSeconds(10));
  }

  List<String> conntrackWords() {
    return words(conntrack, "--conntrack-command");
  }

  String table() {
    return table;
  }

  NftGuard guard() {
    try {
      return new NftGuard(
          guardInterfaces, guardNetworks.stream().map(IpNetwork::parse).toList(), guardLog);
    } catch (IllegalArgumentException e) {
      throw new CommandFailure(ExitCodes.USAGE, "egressctl: " + e.getMessage());
    }
  }

  /** Whether any {@code --guard-*} option was given. */
  boolean guardGiven() {
    return !guardInterfaces.isEmpty() || !guardNetworks.isEmpty() || guardLog;
  }

  private static List<String> words(String text, String option) {
    List<String> words =
        Arrays.stream(text.trim().split("\\s+")).filter(w -> !w.isEmpty()).toList();
    if (words.isEmpty()) {
      throw new CommandFailure(ExitCodes.USAGE, "egressctl: " + option + " is empty");
    }
    return words;
  }
}
