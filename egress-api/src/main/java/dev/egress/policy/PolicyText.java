package dev.egress.policy;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The policy file format. One directive a line; {@code #} starts a comment; tokens are separated by
 * spaces or tabs:
 *
 * <pre>
 * # NanoClaw agent container
 * allow api.anthropic.com port 443
 * allow 160.79.104.0/23 port 443
 * allow gateway port 3001
 * allow 10.1.2.3 port 5432-5433 proto tcp
 * allow 192.0.2.7 port 3478 proto udp
 * dns gateway                  (or: dns filter, dns none, dns 10.0.0.53 fd00::53)
 * log denied
 * </pre>
 *
 * <p>A destination is a host name, an IPv4 or IPv6 address or CIDR network, {@code gateway}, or
 * {@code unsafe-any-address}. {@code proto} defaults to {@code tcp}; {@code dns} to {@code
 * gateway}; denials are not logged unless {@code log denied} is present. {@code dns} and {@code
 * log} may appear once each. Keywords are lower case: {@code Gateway} is refused with a hint, and
 * {@code gateway.} (a trailing dot always makes a host name) names a host called gateway.
 *
 * <p>Parsing is strict and reports every problem with its line and column (up to {@link
 * #MAX_PROBLEMS}); messages quote the text through {@link UserText}. Inputs are bounded: {@link
 * #MAX_SIZE}, {@link #MAX_LINES}, {@link #MAX_ALLOWANCES} and {@link #MAX_DNS_SERVERS} are checked
 * before the work they would make expensive. {@link #format} writes the canonical form, which
 * parses back to an equal policy.
 */
public final class PolicyText {
  private PolicyText() {}

  /**
   * The largest policy: {@value} bytes (1 MiB) in a file, as many characters in a text. Real
   * policies are a few kilobytes; the limit keeps a mistaken or hostile file from costing memory.
   */
  public static final int MAX_SIZE = 1 << 20;

  /** The most lines a policy may have. */
  public static final int MAX_LINES = 20_000;

  /** The most {@code allow} lines (so destinations) a policy may have. */
  public static final int MAX_ALLOWANCES = 10_000;

  /** The most resolvers a {@code dns} line may name. */
  public static final int MAX_DNS_SERVERS = 16;

  /** Parsing stops after this many problems, with one more saying so. */
  public static final int MAX_PROBLEMS = 100;

  /**
   * Reads and parses a policy file, through {@link #readText}.
   *
   * @throws PolicySyntaxException naming the file, line and column of each problem
   * @throws FileSystemException if the file cannot be read, as {@link #readText} says
   */
  public static EgressPolicy read(Path file) throws IOException, PolicySyntaxException {
    return parse(readText(file), file.toString());
  }

  /**
   * The text of a policy file: at most {@link #MAX_SIZE} bytes of UTF-8 from a regular file, read
   * through {@link TextFile#read} (the one bounded read: type and size checked before reading, so a
   * FIFO, a device, a directory or a huge file is refused at once rather than hang or exhaust
   * memory).
   *
   * @throws FileSystemException naming the file, with a reason fit for a message, as {@link
   *     TextFile#read} says
   */
  public static String readText(Path file) throws FileSystemException {
    return TextFile.read(file, MAX_SIZE, "policy file");
  }

  /**
   * Parses policy text.
   *
   * @param source a label for error messages, such as the file name
   * @throws PolicySyntaxException naming the line and column of each problem
   */
  public static EgressPolicy parse(String text, String source) throws PolicySyntaxException {
    return new Parser(source).parse(text);
  }

  /** The canonical text: allow lines in canonical order, then the dns line, then logging. */
  public static String format(EgressPolicy policy) {
    StringBuilder out = new StringBuilder();
    for (Allowance allowance : policy.allowances()) {
      out.append(allowance).append('\n');
    }
    out.append(policy.dns()).append('\n');
    if (policy.logDenied()) {
      out.append("log denied\n");
    }
    return out.toString();
  }

  private record Token(String text, int column) {}

  /** An allowance and where its destination stands. */
  private record Placed(Allowance allowance, int line, int column) {}

  private static final class Parser {
    private final String source;
    private final List<PolicySyntaxException.Problem> problems = new ArrayList<>();
    private final EgressPolicy.Builder builder = EgressPolicy.builder();
    private final List<Placed> allowed = new ArrayList<>();
    private int dnsLine;
    private int logLine;
    private int lineNumber;
    private int allowLines;
    private boolean stopped;

    Parser(String source) {
      this.source = source;
    }

    EgressPolicy parse(String text) throws PolicySyntaxException {
      // The limits come first, before any work that grows with the text.
      if (text.length() > MAX_SIZE) {
        lineNumber = 1;
        problem(
            1,
            "the policy is "
                + text.length()
                + " characters long; a policy may hold at most "
                + MAX_SIZE);
        throw new PolicySyntaxException(problems);
      }
      long lineCount =
          text.chars().filter(c -> c == '\n').count()
              + (text.isEmpty() || text.endsWith("\n") ? 0 : 1);
      if (lineCount > MAX_LINES) {
        lineNumber = MAX_LINES + 1;
        problem(
            1,
            "the policy has "
                + lineCount
                + " lines; a policy may have at most "
                + MAX_LINES
                + " (comments and blank lines count)");
        throw new PolicySyntaxException(problems);
      }
      for (String line : text.split("\n", -1)) {
        lineNumber++;
        String content = line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
        List<Token> tokens = tokenize(content);
        if (tokens != null && !tokens.isEmpty()) {
          directive(tokens, content.length() + 1);
        }
        if (stopped) {
          break;
        }
        if (problems.size() >= MAX_PROBLEMS) {
          problem(1, "stopped after " + MAX_PROBLEMS + " problems; fix those first");
          break;
        }
      }
      if (problems.isEmpty()) {
        refuseFamilyCover();
      }
      if (problems.isEmpty()) {
        try {
          return builder.build();
        } catch (IllegalArgumentException e) {
          problems.add(
              new PolicySyntaxException.Problem(
                  source, lineNumber, 1, String.valueOf(e.getMessage())));
        }
      }
      throw new PolicySyntaxException(problems);
    }

    /** The tokens of one line, or null after reporting a character no policy may contain. */
    private @Nullable List<Token> tokenize(String line) {
      List<Token> tokens = new ArrayList<>();
      int i = 0;
      while (i < line.length()) {
        char c = line.charAt(i);
        if (c == '#') {
          break;
        }
        if (c == ' ' || c == '\t') {
          i++;
          continue;
        }
        int start = i;
        while (i < line.length()) {
          int cp = line.codePointAt(i);
          if (cp == ' ' || cp == '\t' || cp == '#') {
            break;
          }
          // What a terminal would not show as itself (controls, bidi overrides, zero-width and
          // unusual spaces) is refused where it stands, so what a reviewer sees is what counts.
          if (!UserText.isVisible(cp)) {
            problem(
                i + 1,
                "unexpected character "
                    + UserText.character(cp)
                    + ": policy files hold printable text only");
            return null;
          }
          i += Character.charCount(cp);
        }
        tokens.add(new Token(line.substring(start, i), start + 1));
      }
      return tokens;
    }

    private void directive(List<Token> tokens, int endColumn) {
      Token keyword = tokens.get(0);
      switch (keyword.text()) {
        case "allow" -> allow(tokens, endColumn);
        case "dns" -> dns(tokens, endColumn);
        case "log" -> log(tokens, endColumn);
        default ->
            problem(
                keyword.column(),
                "expected 'allow', 'dns' or 'log', found " + UserText.quote(keyword.text()));
      }
    }

    private void allow(List<Token> tokens, int endColumn) {
      // allow DESTINATION port PORTS [proto tcp|udp]
      if (++allowLines > MAX_ALLOWANCES) {
        problem(
            tokens.get(0).column(),
            "more than "
                + MAX_ALLOWANCES
                + " allow lines: a policy may have at most "
                + MAX_ALLOWANCES
                + " (name networks rather than many single addresses)");
        stopped = true;
        return;
      }
      if (tokens.size() < 2) {
        problem(
            endColumn,
            "expected a destination after 'allow' (a host name, address, network,"
                + " 'gateway' or '"
                + Destination.UnsafeAnyAddress.KEYWORD
                + "')");
        return;
      }
      Token destinationToken = tokens.get(1);
      Destination destination;
      try {
        destination = Destination.parse(destinationToken.text());
      } catch (IllegalArgumentException e) {
        problem(destinationToken.column(), String.valueOf(e.getMessage()));
        return;
      }
      if (!expectKeyword(tokens, 2, "port", endColumn, "after the destination")) {
        return;
      }
      if (tokens.size() < 4) {
        problem(endColumn, "expected a port or range (443, 8000-8080) after 'port'");
        return;
      }
      Token portToken = tokens.get(3);
      PortRange ports;
      try {
        ports = PortRange.parse(portToken.text());
      } catch (IllegalArgumentException e) {
        problem(portToken.column(), String.valueOf(e.getMessage()));
        return;
      }
      Protocol protocol = Protocol.TCP;
      if (tokens.size() > 4) {
        if (!expectKeyword(tokens, 4, "proto", endColumn, "after the port")) {
          return;
        }
        if (tokens.size() < 6) {
          problem(endColumn, "expected 'tcp' or 'udp' after 'proto'");
          return;
        }
        Token protocolToken = tokens.get(5);
        try {
          protocol = Protocol.fromKeyword(protocolToken.text());
        } catch (IllegalArgumentException e) {
          problem(protocolToken.column(), String.valueOf(e.getMessage()));
          return;
        }
        if (tokens.size() > 6) {
          unexpected(tokens.get(6), "end of line");
          return;
        }
      }
      if (ports.equals(PortRange.of(PortRange.DNS_PORT))) {
        problem(
            portToken.column(),
            "port 53 is DNS, which the 'dns' line governs: " + dnsHint(destination));
        return;
      }
      builder.allow(destination, protocol, ports);
      allowed.add(
          new Placed(
              new Allowance(destination, protocol, ports), lineNumber, destinationToken.column()));
    }

    /** Networks that add up to a whole family, reported at the last of their lines. */
    private void refuseFamilyCover() {
      List<Allowance> allowances = allowed.stream().map(Placed::allowance).toList();
      FamilyCover.find(allowances)
          .ifPresent(
              cover -> {
                List<Placed> lines = cover.indices().stream().map(allowed::get).toList();
                Placed last = lines.get(lines.size() - 1);
                String where =
                    "the networks on lines "
                        + FamilyCover.shortList(
                            lines.stream().map(p -> Integer.toString(p.line())).toList());
                problems.add(
                    new PolicySyntaxException.Problem(
                        source, last.line(), last.column(), cover.message(allowances, where)));
              });
    }

    /** What to write instead of allowing port 53: always a line that parses, or how to make one. */
    private static String dnsHint(Destination destination) {
      if (destination instanceof Destination.Gateway) {
        return "write 'dns gateway' to let the container query its gateway";
      }
      if (destination instanceof Destination.Network network && network.network().isSingleHost()) {
        return "write 'dns " + destination + "' to let the container query that resolver";
      }
      return "name the resolvers there by address ('dns 10.0.0.53') or write 'dns gateway'"
          + (destination instanceof Destination.Host
              ? "; a host name cannot be resolved before DNS is allowed"
              : "");
    }

    private void dns(List<Token> tokens, int endColumn) {
      if (dnsLine != 0) {
        problem(
            tokens.get(0).column(),
            "'dns' is already set on line " + dnsLine + "; list every resolver on one 'dns' line");
        return;
      }
      dnsLine = lineNumber;
      if (tokens.size() < 2) {
        problem(
            endColumn, "expected 'filter', 'gateway', 'none' or resolver addresses after 'dns'");
        return;
      }
      String first = tokens.get(1).text();
      for (String keyword : List.of("filter", "gateway", "none")) {
        if (!first.equals(keyword) && first.equalsIgnoreCase(keyword)) {
          problem(
              tokens.get(1).column(),
              "expected '"
                  + keyword
                  + "' (keywords are lower case), found "
                  + UserText.quote(first));
          return;
        }
      }
      if (first.equals("filter") || first.equals("gateway") || first.equals("none")) {
        if (tokens.size() > 2) {
          unexpected(tokens.get(2), "end of line ('" + first + "' stands alone)");
          return;
        }
        builder.dns(
            first.equals("filter")
                ? DnsRule.filter()
                : first.equals("gateway") ? DnsRule.gateway() : DnsRule.none());
        return;
      }
      if (tokens.size() - 1 > MAX_DNS_SERVERS) {
        problem(
            tokens.get(MAX_DNS_SERVERS + 1).column(),
            "a 'dns' line may name at most " + MAX_DNS_SERVERS + " resolvers");
        return;
      }
      List<InetAddress> servers = new ArrayList<>();
      for (Token token : tokens.subList(1, tokens.size())) {
        try {
          servers.add(IpAddresses.parse(token.text()));
        } catch (IllegalArgumentException e) {
          problem(
              token.column(),
              String.valueOf(e.getMessage())
                  + " (a resolver is an address; host names cannot be resolved before DNS is allowed)");
          return;
        }
      }
      builder.dns(new DnsRule.Servers(servers));
    }

    private void log(List<Token> tokens, int endColumn) {
      if (logLine != 0) {
        problem(tokens.get(0).column(), "'log' is already set on line " + logLine);
        return;
      }
      logLine = lineNumber;
      if (!expectKeyword(tokens, 1, "denied", endColumn, "after 'log'")) {
        return;
      }
      if (tokens.size() > 2) {
        unexpected(tokens.get(2), "end of line");
        return;
      }
      builder.logDenied(true);
    }

    private boolean expectKeyword(
        List<Token> tokens, int index, String keyword, int endColumn, String where) {
      if (tokens.size() <= index) {
        problem(endColumn, "expected '" + keyword + "' " + where + ", found end of line");
        return false;
      }
      if (!tokens.get(index).text().equals(keyword)) {
        unexpected(tokens.get(index), "'" + keyword + "' " + where);
        return false;
      }
      return true;
    }

    private void unexpected(Token token, String expected) {
      problem(token.column(), "expected " + expected + ", found " + UserText.quote(token.text()));
    }

    private void problem(int column, String message) {
      problems.add(new PolicySyntaxException.Problem(source, lineNumber, column, message));
    }
  }
}
