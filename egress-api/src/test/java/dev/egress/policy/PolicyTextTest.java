package dev.egress.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PolicyTextTest {
  private static InetAddress ip(String text) {
    return IpAddresses.parse(text);
  }

  private static EgressPolicy parse(String text) throws PolicySyntaxException {
    return PolicyText.parse(text, "test.policy");
  }

  private static List<PolicySyntaxException.Problem> problems(String text) {
    return assertThrows(PolicySyntaxException.class, () -> parse(text)).problems();
  }

  /** The one problem of {@code text}, checked to be at {@code line}:{@code column}. */
  private static String problemAt(String text, int line, int column) {
    List<PolicySyntaxException.Problem> problems = problems(text);
    assertEquals(1, problems.size(), problems.toString());
    PolicySyntaxException.Problem problem = problems.get(0);
    assertEquals(line + ":" + column, problem.line() + ":" + problem.column(), problem.toString());
    return problem.message();
  }

  @Test
  void parse_readsTheDocumentedExample() throws Exception {
    EgressPolicy policy =
        parse(
            String.join(
                "\n",
                "# NanoClaw agent container",
                "allow api.anthropic.com port 443",
                "allow 160.79.104.0/23 port 443",
                "allow gateway port 3001",
                "allow 10.1.2.3 port 5432-5433 proto tcp",
                "allow 192.0.2.7 port 3478 proto udp",
                "dns gateway",
                "log denied",
                ""));

    EgressPolicy expected =
        EgressPolicy.builder()
            .allowTcp(Destination.host("api.anthropic.com"), 443)
            .allowTcp(Destination.network("160.79.104.0/23"), 443)
            .allowTcp(Destination.gateway(), 3001)
            .allow(Destination.network("10.1.2.3"), Protocol.TCP, new PortRange(5432, 5433))
            .allow(Destination.network("192.0.2.7"), Protocol.UDP, PortRange.of(3478))
            .dns(DnsRule.gateway())
            .logDenied(true)
            .build();
    assertEquals(expected, policy);
  }

  @Test
  void format_writesTheCanonicalText() {
    EgressPolicy policy =
        EgressPolicy.builder()
            .allowTcp(Destination.host("B.example"), 443)
            .allow(Destination.network("fd00::/8"), Protocol.UDP, new PortRange(3478, 3479))
            .allowTcp(Destination.gateway(), 3001)
            .allowTcp(Destination.host("a.example"), 443)
            .dns(DnsRule.servers(ip("fd00::53"), ip("10.0.0.53")))
            .logDenied(true)
            .build();

    assertEquals(
        String.join(
            "\n",
            "allow gateway port 3001 proto tcp",
            "allow fd00::/8 port 3478-3479 proto udp",
            "allow a.example port 443 proto tcp",
            "allow b.example port 443 proto tcp",
            "dns 10.0.0.53 fd00::53",
            "log denied",
            ""),
        PolicyText.format(policy));
  }

  @Test
  void parse_ofAnEmptyText_isDnsViaGatewayAndNothingElse() throws Exception {
    assertEquals(EgressPolicy.builder().build(), parse(""));
    assertEquals(EgressPolicy.builder().build(), parse("# only a comment\n\n   \t\n"));
  }

  @Test
  void parse_acceptsTabsCommentsAfterTokensAndCrlf() throws Exception {
    EgressPolicy policy = parse("allow\texample.com  port 443# https\r\ndns none # no DNS\r\n");
    assertEquals(
        EgressPolicy.builder()
            .allowTcp(Destination.host("example.com"), 443)
            .dns(DnsRule.none())
            .build(),
        policy);
  }

  @Test
  void dnsFilter_parsesWithWildcards_andFormatsBackToItself() throws Exception {
    String text =
        "allow *.githubusercontent.com port 443 proto tcp\n"
            + "allow github.com port 443 proto tcp\n"
            + "dns filter\n";
    EgressPolicy policy = parse(text);

    assertEquals(DnsRule.filter(), policy.dns());
    assertEquals(text, PolicyText.format(policy));
    assertEquals(policy, parse(PolicyText.format(policy)));
  }

  @Test
  void parse_acceptsUppercaseProtocols() throws Exception {
    assertEquals(
        parse("allow 10.0.0.1 port 3478 proto udp"), parse("allow 10.0.0.1 port 3478 proto UDP"));
  }

  @Test
  void aHostNamedLikeAKeyword_roundTrips_andIsWrittenWithATrailingDotInAnyCase() throws Exception {
    EgressPolicy policy =
        EgressPolicy.builder()
            .allowTcp(new Destination.Host(HostName.of("gateway")), 443)
            .allowTcp(new Destination.Host(HostName.of("unsafe-any-address")), 443)
            .dns(DnsRule.none())
            .build();

    assertEquals(policy, parse(PolicyText.format(policy)));
    assertEquals(
        policy, parse("allow gateway. port 443\nallow Unsafe-Any-Address. port 443\ndns none\n"));
    assertEquals(
        policy, parse("allow GATEWAY. port 443\nallow unsafe-any-address. port 443\ndns none\n"));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "permit example.com port 443 | 1 | expected 'allow', 'dns' or 'log', found 'permit'",
        "allow | 6 | expected a destination after 'allow' (a host name, address, network, 'gateway'"
            + " or 'unsafe-any-address')",
        "allow example.com | 18 | expected 'port' after the destination, found end of line",
        "allow example.com prot 443 | 19 | expected 'port' after the destination, found 'prot'",
        "allow example.com port | 23 | expected a port or range (443, 8000-8080) after 'port'",
        "allow example.com port 99999 | 24 | port 99999 is out of range 1-65535",
        "allow example.com port https | 24 | 'https' is not a port: expected a number from 1 to 65535",
        "allow example.com port 443-80 | 24 | port range 443-80 is reversed: write 80-443",
        "allow example.com port 443 tcp | 28 | expected 'proto' after the port, found 'tcp'",
        "allow example.com port 443 proto | 33 | expected 'tcp' or 'udp' after 'proto'",
        "allow example.com port 443 proto icmp | 34 | unknown protocol 'icmp': expected tcp or udp",
        "allow example.com port 443 proto tcp now | 38 | expected end of line, found 'now'",
        "allow 10.1.2.3/8 port 443 | 7 | 10.1.2.3/8 has host bits set: did you mean 10.0.0.0/8?",
        "allow 0.0.0.0/0 port 443 | 7 | 0.0.0.0/0 allows every address: if that is really meant,"
            + " write 'unsafe-any-address' as the destination",
        "allow 10.1 port 443 | 7 | '10.1' is not an IPv4 address: expected four numbers 0-255"
            + " separated by dots",
        "allow exa_mple.com port 443 | 7 | host name 'exa_mple.com' has the character '_' at"
            + " position 4: only letters, digits, '-' and '.' (and a leading '*.') are allowed",
        "dns | 4 | expected 'filter', 'gateway', 'none' or resolver addresses after 'dns'",
        "dns filter 10.0.0.1 | 12 | expected end of line ('filter' stands alone), found '10.0.0.1'",
        "dns Filter | 5 | expected 'filter' (keywords are lower case), found 'Filter'",
        "dns gateway 10.0.0.1 | 13 | expected end of line ('gateway' stands alone), found '10.0.0.1'",
        "dns 10.0.0.1 resolver.example | 14 | 'resolver.example' is not an IPv4 address: expected"
            + " four numbers 0-255 separated by dots (a resolver is an address; host names cannot"
            + " be resolved before DNS is allowed)",
        "log | 4 | expected 'denied' after 'log', found end of line",
        "log all | 5 | expected 'denied' after 'log', found 'all'",
        "log denied loudly | 12 | expected end of line, found 'loudly'"
      })
  void eachError_saysWhatWasFoundAndWhatWasExpected_andWhere(
      String line, int column, String message) {
    assertEquals(message, problemAt(line, 1, column));
  }

  @Test
  void networksCoveringAFamily_areRefused_atTheLastOfTheirLines_namingThemAll() {
    assertEquals(
        "the networks on lines 2, 4 (0.0.0.0/1, 128.0.0.0/1) together allow every IPv4 address"
            + " for tcp port 443, as a /0 network would: if that is really meant, write 'allow"
            + " unsafe-any-address port 443'",
        problemAt(
            "# halves\nallow 0.0.0.0/1 port 443\nallow 10.0.0.0/8 port 443\n"
                + "  allow 128.0.0.0/1 port 443\n",
            4,
            9));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "allow 10.0.0.53 port 53 | write 'dns 10.0.0.53' to let the container query that resolver",
        "allow fd00::53 port 53 proto udp | write 'dns fd00::53' to let the container query that"
            + " resolver",
        "allow gateway port 53 | write 'dns gateway' to let the container query its gateway",
        "allow resolver.example port 53 | name the resolvers there by address ('dns 10.0.0.53') or"
            + " write 'dns gateway'; a host name cannot be resolved before DNS is allowed",
        "allow 10.0.0.0/24 port 53 | name the resolvers there by address ('dns 10.0.0.53') or write"
            + " 'dns gateway'",
        "allow unsafe-any-address port 53 | name the resolvers there by address ('dns 10.0.0.53')"
            + " or write 'dns gateway'"
      })
  void allowingPort53_suggestsADnsLine_thatParses(String line, String hint) throws Exception {
    String message = problemAt(line, 1, line.indexOf(" 53") + 2);
    assertEquals("port 53 is DNS, which the 'dns' line governs: " + hint, message);
    java.util.regex.Matcher suggested =
        java.util.regex.Pattern.compile("'(dns [^']*)'").matcher(hint);
    assertTrue(suggested.find(), hint);
    do {
      parse(suggested.group(1));
    } while (suggested.find());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "Gateway | gateway | the container's gateway",
        "GATEWAY | gateway | the container's gateway",
        "\uFF47ateway | gateway | the container's gateway",
        "Unsafe-Any-Address | unsafe-any-address | any address"
      })
  void aKeywordInOtherCase_isRefused_sayingWhatToWriteForEachMeaning(
      String written, String keyword, String meaning) {
    String text = written.replace("\\uFF47", "\uFF47");
    assertEquals(
        UserText.quote(text)
            + " is not the keyword '"
            + keyword
            + "' (keywords are lower case): write '"
            + keyword
            + "' for "
            + meaning
            + ", or '"
            + keyword
            + ".' for a host of that name",
        problemAt("allow " + text + " port 443", 1, 7));
  }

  @ParameterizedTest
  @CsvSource({"Gateway, gateway", "NONE, none"})
  void aDnsKeywordInOtherCase_isRefused_namingTheKeyword(String written, String keyword) {
    assertEquals(
        "expected '" + keyword + "' (keywords are lower case), found '" + written + "'",
        problemAt("dns " + written, 1, 5));
  }

  @Test
  void aSecondDnsLine_pointsToTheFirst() {
    assertEquals(
        "'dns' is already set on line 2; list every resolver on one 'dns' line",
        problemAt("# resolvers\ndns gateway\n  dns none", 3, 3));
  }

  @Test
  void aSecondLogLine_pointsToTheFirst() {
    assertEquals("'log' is already set on line 1", problemAt("log denied\nlog denied", 2, 1));
  }

  @Test
  void aControlCharacter_isReportedAsACodePoint_atItsColumn() {
    assertEquals(
        "unexpected character U+0000 (NULL): policy files hold printable text only",
        problemAt("allow a\0b port 443", 1, 8));
  }

  @Test
  void aByteOrderMarkOrNonBreakingSpace_isReported() {
    assertTrue(problemAt("\uFEFFallow a.example port 443", 1, 1).contains("U+FEFF"));
    assertTrue(problemAt("allow a.example\u2028port 443", 1, 16).contains("U+2028"));
  }

  @Test
  void invisibleAndBidiCharacters_areRefusedWhereTheyStand() {
    assertEquals(
        "unexpected character U+202E (RIGHT-TO-LEFT OVERRIDE): policy files hold printable text"
            + " only",
        problemAt("al\u202Elow example.com port 443", 1, 3));
    assertTrue(problemAt("allow a\u200Bb.example port 443", 1, 8).contains("U+200B"));
    assertTrue(problemAt("allow ex\u00ADample.com port 443", 1, 9).contains("U+00AD"));
    assertTrue(problemAt("allow a\u00A0b port 443", 1, 8).contains("U+00A0"));
  }

  @Test
  void quotedTokens_areEscaped_andLongTokensCut() {
    assertEquals(
        "expected 'allow', 'dns' or 'log', found '\\u0301allow'",
        problemAt("\u0301allow example.com port 443", 1, 1));
    assertEquals(
        "expected end of line, found '" + "x".repeat(80) + "...' (3051 characters)",
        problemAt("log denied " + "x".repeat(3051), 1, 12));
  }

  @Test
  void aControlCharacterInAToken_isShownAsACodePointInTheMessage() {
    assertEquals(
        "expected 'allow', 'dns' or 'log', found 'allow,'",
        problemAt("allow, example.com port 443", 1, 1));
  }

  @Test
  void everyProblem_isReported_inTextOrder_withTheSourceLabel() {
    PolicySyntaxException e =
        assertThrows(
            PolicySyntaxException.class,
            () ->
                PolicyText.parse(
                    "allow example.com port 0\nallow gateway\ndns bogus\n", "agent.policy"));

    assertEquals(
        List.of("agent.policy:1:24", "agent.policy:2:14", "agent.policy:3:5"),
        e.problems().stream().map(p -> p.source() + ":" + p.line() + ":" + p.column()).toList());
    assertTrue(
        e.getMessage().startsWith("agent.policy:1:24: port 0 is out of range"), e.getMessage());
    assertEquals(3, e.getMessage().lines().count());
  }

  @Test
  void endOfLineColumns_ofCrlfLines_pointJustPastTheText() {
    assertEquals(
        "expected 'port' after the destination, found end of line",
        problemAt("allow example.com\r\n", 1, 18));
  }

  @Test
  void read_parsesAFile_andNamesItInProblems(@TempDir Path directory) throws Exception {
    Path file = directory.resolve("agent.policy");
    Files.writeString(file, "allow bücher.example port 443\n", StandardCharsets.UTF_8);
    assertEquals(
        EgressPolicy.builder().allowTcp(Destination.host("xn--bcher-kva.example"), 443).build(),
        PolicyText.read(file));

    Files.writeString(file, "allow\n", StandardCharsets.UTF_8);
    PolicySyntaxException e =
        assertThrows(PolicySyntaxException.class, () -> PolicyText.read(file));
    assertEquals(file.toString(), e.problems().get(0).source());
  }

  @Test
  void parse_ofUnicodeHostNames_storesPunycode() throws Exception {
    assertEquals(
        "allow xn--bcher-kva.example port 443 proto tcp\ndns gateway\n",
        PolicyText.format(parse("allow Bücher.example. port 443")));
  }
}
