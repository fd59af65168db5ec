package dev.egress.container;

import static dev.egress.container.FakeEngine.chunked;
import static dev.egress.container.FakeEngine.concat;
import static dev.egress.container.FakeEngine.respond;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.egress.policy.IpAddresses;
import dev.egress.policy.IpNetwork;
import dev.egress.process.ProcessResult;
import dev.egress.process.ProcessRunner;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** DockerEngine against a scripted daemon on a Unix socket: what it sends, and what it refuses. */
class DockerEngineTest {
  private static final IpNetwork SUBNET = IpNetwork.parse("10.213.0.0/24");
  private static final IpNetwork SUBNET6 = IpNetwork.parse("fd00:213::/64");
  private static final ObjectMapper MAPPER = new ObjectMapper();

  @TempDir Path directory;

  /** The ip commands run, answered by {@link #ipExitCode}. */
  private final List<List<String>> ipCalls = new CopyOnWriteArrayList<>();

  private volatile int ipExitCode;

  private final ProcessRunner ip =
      command -> {
        ipCalls.add(command.argv());
        return new ProcessResult(ipExitCode, "", ipExitCode == 0 ? "" : "RTNETLINK answers: no");
      };

  private DockerEngine docker(FakeEngine engine) {
    return new DockerEngine(engine.socket(), Duration.ofSeconds(5), "egress0", ip);
  }

  private static JsonNode json(String text) throws Exception {
    return MAPPER.readTree(text);
  }

  private static final byte[] NO_NETWORK =
      respond(404, "{\"message\":\"network managed not found\"}");

  /**
   * A daemon with no network yet, whose containers carry {@code addressesInUse} as their address
   * labels, that answers every other request with 200 and {@code otherwise}.
   */
  private static Function<FakeEngine.Request, byte[]> daemonWith(
      List<String> addressesInUse, String otherwise) {
    StringBuilder listing = new StringBuilder("[");
    for (String address : addressesInUse) {
      listing.append(listing.length() > 1 ? "," : "");
      listing.append("{\"Id\":\"x\",\"Labels\":{\"dev.egress.address\":\"" + address + "\"}}");
    }
    String containers = listing.append("]").toString();
    return request -> {
      if (request.line().startsWith("GET /networks/")) {
        return NO_NETWORK;
      }
      if (request.line().startsWith("GET /containers/json")) {
        return respond(200, containers);
      }
      return respond(200, otherwise);
    };
  }

  @Test
  void ensureNetwork_createsAMissingOneWithItsSubnetsGatewaysAndBridgeName() throws Exception {
    try (FakeEngine engine = new FakeEngine(directory, daemonWith(List.of(), "{\"Id\":\"n\"}"))) {
      docker(engine).ensureNetwork("managed", SUBNET, SUBNET6);
      assertEquals("GET /networks/managed", engine.requests().get(0).line());
      FakeEngine.Request create = engine.requests().get(1);
      assertEquals("POST /networks/create", create.line());
      assertEquals(
          json(
              "{\"Name\":\"managed\",\"Driver\":\"bridge\",\"CheckDuplicate\":true,"
                  + "\"EnableIPv6\":true,\"IPAM\":{\"Config\":["
                  + "{\"Subnet\":\"10.213.0.0/24\",\"Gateway\":\"10.213.0.1\"},"
                  + "{\"Subnet\":\"fd00:213::/64\",\"Gateway\":\"fd00:213::1\"}]},"
                  + "\"Options\":{\"com.docker.network.bridge.name\":\"egress0\"}}"),
          json(create.body()));
      assertEquals(
          List.of(
              List.of("ip", "-6", "address", "del", "fd00:213::1/64", "dev", "egress0"),
              List.of("ip", "-6", "address", "add", "fd00:213::1/64", "dev", "egress0", "nodad")),
          ipCalls);
    }
  }

  @Test
  void ensureNetwork_whoseGatewayCannotBeReadded_fails_andAnExistingOneIsLeftAlone()
      throws Exception {
    try (FakeEngine engine = new FakeEngine(directory, daemonWith(List.of(), "{\"Id\":\"n\"}"))) {
      ipExitCode = 2;
      DockerEngine docker = docker(engine);
      ContainerCliException e =
          assertThrows(
              ContainerCliException.class, () -> docker.ensureNetwork("managed", SUBNET, SUBNET6));
      assertTrue(e.getMessage().contains("duplicate address detection"), e.getMessage());
      ContainerRunSpec spec =
          ContainerRunSpec.builder("agent-1", "img:1").network("managed").build();
      assertThrows(IllegalStateException.class, () -> docker.create(spec), "not managed");
    }
    ipCalls.clear();
    String existing =
        "{\"IPAM\":{\"Config\":[{\"Subnet\":\"10.213.0.0/24\"},{\"Subnet\":\"fd00:213::/64\"}]},"
            + "\"Options\":{\"com.docker.network.bridge.name\":\"egress0\"}}";
    try (FakeEngine engine = new FakeEngine(directory, request -> respond(200, existing))) {
      docker(engine).ensureNetwork("managed", SUBNET, SUBNET6);
      assertEquals(List.of(), ipCalls, "containers may use an existing network's gateway");
    }
  }

  @Test
  void ensureNetwork_refusesAnExistingOneWithAnotherSubnetOrBridge() throws Exception {
    String other =
        "{\"IPAM\":{\"Config\":[{\"Subnet\":\"10.9.0.0/24\",\"Gateway\":\"10.9.0.1\"}]},"
            + "\"Options\":{\"com.docker.network.bridge.name\":\"egress0\"}}";
    String otherBridge =
        "{\"IPAM\":{\"Config\":[{\"Subnet\":\"10.213.0.0/24\"}]},"
            + "\"Options\":{\"com.docker.network.bridge.name\":\"docker9\"}}";
    for (String existing : List.of(other, otherBridge)) {
      try (FakeEngine engine = new FakeEngine(directory, request -> respond(200, existing))) {
        ContainerCliException e =
            assertThrows(
                ContainerCliException.class,
                () -> docker(engine).ensureNetwork("managed", SUBNET, null));
        assertTrue(e.getMessage().contains("docker network rm managed"), e.getMessage());
        assertEquals(1, engine.requests().size(), "nothing is created");
      }
    }
  }

  @Test
  void create_takesTheLowestAddressNoContainerUses_andPinsBothFamilies() throws Exception {
    try (FakeEngine engine =
        new FakeEngine(
            directory,
            daemonWith(List.of("10.213.0.2", "10.213.0.3", "10.213.0.5"), "{\"Id\":\"c\"}"))) {
      DockerEngine docker = docker(engine);
      docker.ensureNetwork("managed", SUBNET, SUBNET6);
      docker.create(
          ContainerRunSpec.builder("agent-1", "img:1")
              .network("managed")
              .label("dev.egress.group", "main")
              .env("TOKEN", "s3cret")
              .mount(Path.of("/srv/group"), "/workspace", true)
              .dns(IpAddresses.parse("10.99.0.53"))
              .command(List.of("sleep", "1"))
              .build());
      assertTrue(
          engine
              .request("GET /containers/json?all=true&filters=")
              .target()
              .contains("dev.egress.address"));
      FakeEngine.Request create = engine.request("POST /containers/create");
      assertEquals("POST /containers/create?name=agent-1", create.line());
      assertEquals(
          json(
              "{\"Image\":\"img:1\",\"Cmd\":[\"sleep\",\"1\"],\"Env\":[\"TOKEN=s3cret\"],"
                  + "\"Labels\":{\"dev.egress.group\":\"main\","
                  + "\"dev.egress.address\":\"10.213.0.4\"},"
                  + "\"HostConfig\":{\"AutoRemove\":true,\"NetworkMode\":\"managed\","
                  + "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/srv/group\","
                  + "\"Target\":\"/workspace\",\"ReadOnly\":true}],\"Dns\":[\"10.99.0.53\"]},"
                  + "\"NetworkingConfig\":{\"EndpointsConfig\":{\"managed\":{\"IPAMConfig\":"
                  + "{\"IPv4Address\":\"10.213.0.4\",\"IPv6Address\":\"fd00:213::4\"}}}}}"),
          json(create.body()));
    }
  }

  @Test
  void create_whenEveryAddressIsTaken_refusesWithoutCreating() throws Exception {
    List<String> all =
        List.of("10.213.0.2", "10.213.0.3", "10.213.0.4", "10.213.0.5", "10.213.0.6");
    try (FakeEngine engine = new FakeEngine(directory, daemonWith(all, "{}"))) {
      DockerEngine docker = docker(engine);
      docker.ensureNetwork("managed", IpNetwork.parse("10.213.0.0/29"), null);
      ContainerRunSpec spec =
          ContainerRunSpec.builder("agent-1", "img:1").network("managed").build();
      ContainerCliException e =
          assertThrows(ContainerCliException.class, () -> docker.create(spec));
      assertTrue(e.getMessage().contains("no free address"), e.getMessage());
      assertTrue(engine.requests().stream().noneMatch(r -> r.line().contains("/create?")));
    }
  }

  @Test
  void create_anUnreadableAddressLabel_isAnError_notAFreeAddress() throws Exception {
    try (FakeEngine engine = new FakeEngine(directory, daemonWith(List.of("10.213.0.x"), "{}"))) {
      DockerEngine docker = docker(engine);
      docker.ensureNetwork("managed", SUBNET, null);
      ContainerRunSpec spec =
          ContainerRunSpec.builder("agent-1", "img:1").network("managed").build();
      assertThrows(ContainerCliException.class, () -> docker.create(spec));
      assertTrue(engine.requests().stream().noneMatch(r -> r.line().contains("/create?")));
    }
  }

  @Test
  void create_beforeEnsureNetwork_isRefused() throws Exception {
    try (FakeEngine engine = new FakeEngine(directory, daemonWith(List.of(), "{}"))) {
      ContainerRunSpec spec =
          ContainerRunSpec.builder("agent-1", "img:1").network("managed").build();
      assertThrows(IllegalStateException.class, () -> docker(engine).create(spec));
      assertEquals(List.of(), engine.requests());
    }
  }

  @Test
  void create_refusedByTheDaemon_failsWithItsMessage() throws Exception {
    try (FakeEngine engine =
        new FakeEngine(
            directory,
            request ->
                request.line().startsWith("POST /containers/create")
                    ? respond(409, "{\"message\":\"Conflict. The container name is in use\"}")
                    : daemonWith(List.of(), "{}").apply(request))) {
      DockerEngine docker = docker(engine);
      docker.ensureNetwork("managed", SUBNET, null);
      ContainerRunSpec spec =
          ContainerRunSpec.builder("agent-1", "img:1").network("managed").build();
      ContainerCliException e =
          assertThrows(ContainerCliException.class, () -> docker.create(spec));
      assertTrue(e.getMessage().contains("409 Conflict. The container name"), e.getMessage());
    }
  }

  @Test
  void inspect_ofACreatedContainer_reportsItsPinnedAddresses_andTheNetworkGateway()
      throws Exception {
    String created =
        "{\"Name\":\"/agent-1\",\"State\":{\"Status\":\"created\"},\"Config\":{\"Labels\":{}},"
            + "\"NetworkSettings\":{\"Networks\":{\"managed\":{\"IPAMConfig\":"
            + "{\"IPv4Address\":\"10.213.0.4\",\"IPv6Address\":\"fd00:213::4\"},"
            + "\"IPAddress\":\"\",\"Gateway\":\"\",\"GlobalIPv6Address\":\"\"}}}}";
    try (FakeEngine engine =
        new FakeEngine(
            directory,
            request ->
                request.line().startsWith("GET /containers/agent-1/json")
                    ? chunked(200, created, 7) // the daemon chunks bodies larger than a buffer
                    : daemonWith(List.of(), "{}").apply(request))) {
      DockerEngine docker = docker(engine);
      docker.ensureNetwork("managed", SUBNET, SUBNET6);
      ContainerInfo info = docker.inspect("agent-1").orElseThrow();
      assertEquals("created", info.state());
      assertEquals(
          List.of(IpAddresses.parse("10.213.0.4"), IpAddresses.parse("fd00:213::4")),
          info.addresses());
      assertEquals(IpAddresses.parse("10.213.0.1"), info.gateway().orElseThrow());
    }
  }

  @Test
  void inspect_ofAMissingContainer_isEmpty_butAnotherFailureThrows() throws Exception {
    try (FakeEngine engine =
        new FakeEngine(directory, request -> respond(404, "{\"message\":\"No such container\"}"))) {
      assertTrue(docker(engine).inspect("gone").isEmpty());
    }
    try (FakeEngine engine =
        new FakeEngine(directory, request -> respond(500, "{\"message\":\"boom\"}"))) {
      assertThrows(ContainerCliException.class, () -> docker(engine).inspect("x"));
    }
  }

  @Test
  void listRunning_inspectsEachListedContainer_andLeavesOutOneGoneMeanwhile() throws Exception {
    String running =
        "{\"Name\":\"/a\",\"State\":{\"Status\":\"running\"},\"Config\":{\"Labels\":{}},"
            + "\"NetworkSettings\":{\"Networks\":{}}}";
    try (FakeEngine engine =
        new FakeEngine(
            directory,
            request ->
                switch (request.line()) {
                  case "GET /containers/json" -> respond(200, "[{\"Id\":\"1a\"},{\"Id\":\"2b\"}]");
                  case "GET /containers/1a/json" -> respond(200, running);
                  default -> respond(404, "{\"message\":\"No such container\"}");
                })) {
      assertEquals(
          List.of("a"), docker(engine).listRunning().stream().map(ContainerInfo::id).toList());
    }
  }

  @Test
  void stop_ofAContainerAlreadyGone_succeeds_butAFailedStopOfARunningOneThrows() throws Exception {
    try (FakeEngine engine =
        new FakeEngine(directory, request -> respond(404, "{\"message\":\"No such container\"}"))) {
      docker(engine).stop("x");
      assertEquals(
          List.of("POST /containers/x/stop?t=10", "DELETE /containers/x?force=true"),
          engine.requests().stream().map(FakeEngine.Request::line).toList());
    }
    try (FakeEngine engine =
        new FakeEngine(directory, request -> respond(500, "{\"message\":\"cannot stop\"}"))) {
      assertThrows(ContainerCliException.class, () -> docker(engine).stop("x"));
    }
  }

  @Test
  void exec_separatesTheStreams_andReportsTheExitCode() throws Exception {
    byte[] frames = concat(frame(2, "err\n"), concat(frame(1, "hi\n"), frame(1, "there\n")));
    byte[] stream =
        concat(
            "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII),
            frames);
    try (FakeEngine engine =
        new FakeEngine(
            directory,
            request ->
                switch (request.line()) {
                  case "POST /containers/a/exec" -> respond(201, "{\"Id\":\"e1\"}");
                  case "POST /exec/e1/start" -> stream;
                  case "GET /exec/e1/json" -> respond(200, "{\"Running\":false,\"ExitCode\":3}");
                  default -> respond(500, "{}");
                })) {
      ProcessResult result = docker(engine).exec("a", List.of("sh", "-c", "x"));
      assertEquals(new ProcessResult(3, "hi\nthere\n", "err\n"), result);
      assertEquals(
          json("{\"AttachStdout\":true,\"AttachStderr\":true,\"Cmd\":[\"sh\",\"-c\",\"x\"]}"),
          json(engine.request("POST /containers/a/exec").body()));
    }
  }

  @Test
  void exec_inAContainerThatIsGone_fails_likeDockerExec() throws Exception {
    try (FakeEngine engine =
        new FakeEngine(
            directory, request -> respond(404, "{\"message\":\"No such container: a\"}"))) {
      ProcessResult result = docker(engine).exec("a", List.of("true"));
      assertEquals(1, result.exitCode());
      assertTrue(result.stderr().contains("No such container"), result.stderr());
    }
  }

  /** The failure of an exec whose output is {@code stream}. */
  private ContainerCliException execFailure(byte[] stream) throws Exception {
    try (FakeEngine engine =
        new FakeEngine(
            directory,
            request ->
                request.line().startsWith("POST /containers/")
                    ? respond(201, "{\"Id\":\"e1\"}")
                    : concat(
                        "HTTP/1.1 200 OK\r\n\r\n".getBytes(StandardCharsets.US_ASCII), stream))) {
      return assertThrows(
          ContainerCliException.class, () -> docker(engine).exec("a", List.of("true")));
    }
  }

  @Test
  void exec_whoseStreamIsCutInsideAFrame_throws() throws Exception {
    byte[] cut = frame(1, "hello");
    ContainerCliException e = execFailure(java.util.Arrays.copyOf(cut, cut.length - 2));
    assertTrue(e.getMessage().contains("ended inside a frame"), e.getMessage());
  }

  @Test
  void exec_whoseFrameClaimsNearlyTwoGigabytes_throwsTheCheckedException() throws Exception {
    byte[] huge = frame(1, "hello");
    huge[4] = 0x7f;
    huge[5] = huge[6] = huge[7] = (byte) 0xff;
    ContainerCliException e = execFailure(huge);
    assertTrue(e.getMessage().contains("ended inside a frame"), e.getMessage());
  }

  @Test
  void aDaemonThatDoesNotAnswer_timesOut() throws Exception {
    try (FakeEngine engine =
        new FakeEngine(
            directory,
            request -> {
              try {
                Thread.sleep(1500);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              return respond(200, "{}");
            })) {
      DockerEngine docker =
          new DockerEngine(engine.socket(), Duration.ofMillis(200), "egress0", ip);
      long start = System.nanoTime();
      ContainerCliException e =
          assertThrows(ContainerCliException.class, () -> docker.inspect("a"));
      assertTrue(e.getMessage().contains("timed out after 200 ms"), e.getMessage());
      assertTrue(System.nanoTime() - start < 1_200_000_000L, "the timeout cut the wait short");
    }
  }

  @Test
  void noDaemon_andAnAnswerThatIsNotHttp_fail() throws Exception {
    DockerEngine none =
        new DockerEngine(directory.resolve("none.sock"), Duration.ofSeconds(1), "e", ip);
    ContainerCliException e = assertThrows(ContainerCliException.class, () -> none.inspect("a"));
    assertTrue(e.getMessage().contains("cannot be reached"), e.getMessage());
    try (FakeEngine engine =
        new FakeEngine(
            directory, request -> "SSH-2.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII))) {
      assertThrows(ContainerCliException.class, () -> docker(engine).inspect("a"));
    }
  }

  /** One frame of a multiplexed exec stream. */
  private static byte[] frame(int stream, String payload) {
    byte[] bytes = payload.getBytes(StandardCharsets.UTF_8);
    byte[] frame = new byte[8 + bytes.length];
    frame[0] = (byte) stream;
    frame[4] = (byte) (bytes.length >>> 24);
    frame[5] = (byte) (bytes.length >>> 16);
    frame[6] = (byte) (bytes.length >>> 8);
    frame[7] = (byte) bytes.length;
    System.arraycopy(bytes, 0, frame, 8, bytes.length);
    return frame;
  }
}
