package dev.egress.cli;

import dev.egress.pf.render.LoadScope;
import dev.egress.pf.render.ParentAnchor;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.policy.UserText;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "sudoers",
    mixinStandardHelpOptions = true,
    description = {
      "Print a least-privilege sudoers entry for the library's pfctl calls (or, with --wrapper,"
          + " the root-owned script that entry names).",
      "sudoers cannot express the calls exactly: a '*' in its arguments also matches spaces, so"
          + " 'pfctl -a com.apple/000.egress/*' would permit '-a com.apple/000.egress/x -F all -d'. The"
          + " entry therefore names a wrapper script, pinned by its SHA-256, that runs pfctl only"
          + " with the argument lists egress-pf uses, loads only rules of the shapes egress-pf"
          + " renders for sources in the --network networks, and never releases pf's enable"
          + " references (the last one released switches pf off).",
      "The entry and the wrapper must be printed with the same options: the entry pins the"
          + " wrapper's digest.",
      "Exit status: 0 printed, 1 invalid user name, path, network or bridge, 2 usage error."
    })
final class SudoersCommand implements Callable<Integer> {
  static final String DEFAULT_WRAPPER = "/usr/local/libexec/egressctl-pfctl";
  private static final Pattern USER = Pattern.compile("[A-Za-z_][A-Za-z0-9_.-]{0,31}");

  /** What sudoers reads as an alias (ALL among them), not as a user name. */
  private static final Pattern ALIAS = Pattern.compile("[A-Z][A-Z0-9_]*");

  private final CliHost host;

  @Mixin private OutputOptions outputOptions = new OutputOptions();

  @Option(
      names = "--wrapper",
      description = "Print the wrapper script instead of the sudoers entry.")
  private boolean printWrapper;

  @Option(
      names = "--user",
      paramLabel = "USER",
      description =
          "Who may run the calls: the account that runs the launcher (required for the entry;"
              + " never taken from the environment).")
  private @Nullable String user;

  @Option(
      names = "--network",
      paramLabel = "CIDR",
      required = true,
      description =
          "A network managed containers' addresses come from (repeatable, at least one; Apple's"
              + " default network is 192.168.64.0/24, see 'container network list'). Rules may"
              + " name only sources inside these.")
  private List<String> networks = new ArrayList<>();

  @Option(
      names = "--bridge",
      paramLabel = "IF",
      description =
          "A bridge the parent anchor's guard may block whole (repeatable), such as"
              + " bridge100.")
  private List<String> bridges = new ArrayList<>();

  @Option(
      names = "--dns-filter",
      paramLabel = "ADDR",
      description =
          "The address of the host's DNS filter, the only target a container's port-53 redirect"
              + " may name (for policies that say 'dns filter'). Without it the wrapper loads no"
              + " redirect.")
  private @Nullable String dnsFilter;

  @Option(
      names = "--wrapper-path",
      paramLabel = "PATH",
      description = "Where the wrapper is installed (default: ${DEFAULT-VALUE}).")
  private String wrapperPath = DEFAULT_WRAPPER;

  @Option(
      names = "--pfctl",
      paramLabel = "PATH",
      description = "The real pfctl (default: ${DEFAULT-VALUE}).")
  private String pfctl = "/sbin/pfctl";

  @Option(
      names = "--anchor",
      paramLabel = "ANCHOR",
      description = "egress-pf's parent anchor (default: ${DEFAULT-VALUE}).")
  private String parentAnchor = ParentAnchor.DEFAULT_PATH.value();

  @Option(
      names = "--state-dir",
      paramLabel = "PATH",
      description =
          "A directory only root can change, where the wrapper checks loads (default:"
              + " ${DEFAULT-VALUE}).")
  private String stateDirectory = "/var/db/egressctl";

  SudoersCommand(CliHost host) {
    this.host = host;
  }

  @Override
  public Integer call() {
    Output output = outputOptions.open(host);
    PfctlWrapper wrapper;
    try {
      wrapper =
          new PfctlWrapper(
              pfctl,
              PfOptions.parentAnchor(parentAnchor),
              stateDirectory,
              new LoadScope(
                  networks.stream().map(IpNetwork::parse).toList(), bridges, dnsFilter()));
      PfctlWrapper.requireAbsolutePath(wrapperPath, "wrapper");
      StateDirectory.requireSafe(Path.of(stateDirectory));
    } catch (IllegalArgumentException e) {
      throw new CommandFailure(ExitCodes.FINDINGS, "egressctl: " + e.getMessage());
    }
    String script = wrapper.script();
    if (printWrapper) {
      output.raw(script);
      return ExitCodes.OK;
    }
    if (user == null) {
      throw new CommandFailure(
          ExitCodes.FINDINGS,
          "egressctl: pass --user NAME, the account that runs the launcher (egressctl does not"
              + " take it from USER or SUDO_USER)");
    }
    if (!USER.matcher(user).matches() || ALIAS.matcher(user).matches()) {
      throw new CommandFailure(
          ExitCodes.FINDINGS,
          "egressctl: "
              + UserText.quote(user)
              + " is not a user name sudoers can take safely: 1-32 letters, digits, '_', '.' or"
              + " '-', starting with a letter or '_', and not upper case only (sudoers reads ALL"
              + " and upper-case names as aliases); pass --user NAME");
    }
    output.raw(sudoers(user, sha256(script)));
    output.note("install the wrapper first; the comment lines above say how");
    return ExitCodes.OK;
  }

  private String sudoers(String who, String digest) {
    String options =
        networks.stream().map(n -> " --network " + n).collect(Collectors.joining())
            + bridges.stream().map(b -> " --bridge " + b).collect(Collectors.joining())
            + (dnsFilter == null ? "" : " --dns-filter " + dnsFilter);
    return """
        # /etc/sudoers.d/egressctl, generated by 'egressctl sudoers'.
        # %1$s may run pfctl as root only through %2$s, which allows only the
        # calls egress-pf makes, and rules for sources in%5$s.
        # sudo checks the wrapper's SHA-256 before running it.
        # Install (as an administrator):
        #   egressctl sudoers --wrapper%6$s > egressctl-pfctl
        #   sudo install -d -o root -g wheel -m 755 %3$s
        #   sudo install -o root -g wheel -m 755 egressctl-pfctl %2$s
        #   sudo install -d -o root -g wheel -m 700 %7$s
        #   egressctl sudoers --user %1$s%6$s > egressctl.sudoers
        #   sudo visudo -c -f egressctl.sudoers
        #   sudo install -o root -g wheel -m 440 egressctl.sudoers /etc/sudoers.d/egressctl
        # Then give the library the pfctl command: sudo -n %2$s
        %1$s ALL=(root) NOPASSWD: sha256:%4$s %2$s
        """
        .formatted(
            who,
            wrapperPath,
            parentDirectory(wrapperPath),
            digest,
            networks.stream().map(n -> " " + n).collect(Collectors.joining(",")),
            options,
            stateDirectory);
  }

  /**
   * The DNS filter's address, or null without {@code --dns-filter}.
   *
   * @throws IllegalArgumentException if it is not an address a filter could listen on
   */
  private @Nullable InetAddress dnsFilter() {
    if (dnsFilter == null) {
      return null;
    }
    InetAddress address = IpAddresses.parse(dnsFilter);
    if (address.isAnyLocalAddress() || address.isMulticastAddress()) {
      throw new IllegalArgumentException(
          "--dns-filter needs the one address the host's DNS filter listens on, not "
              + UserText.quote(dnsFilter));
    }
    return address;
  }

  private static String parentDirectory(String path) {
    int slash = path.lastIndexOf('/');
    return slash <= 0 ? "/" : path.substring(0, slash);
  }

  static String sha256(String text) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(digest.digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }
}
